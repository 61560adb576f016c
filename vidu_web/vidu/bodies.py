"""Typed create requests for the second-wave endpoints (vidu-api.md §2b), one dataclass each.

Each turns itself into Vidu's JSON body with ``body()``, leaving out what is unset so that
Vidu's defaults apply; ``ViduClient.extend`` / ``upscale`` / ``multiframe`` send them. The
catalog's validator has the last word on the values (the sandbox runs the same one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import catalog


def _common(body: dict, payload: str, callback_url: str) -> dict:
    if payload:
        body["payload"] = payload
    if callback_url:
        body["callback_url"] = callback_url
    return body


def _source(video_creation_id: str, video_url: str) -> dict:
    """The id wins when both are known (§2b): our own media is not public."""
    if video_creation_id:
        return {"video_creation_id": video_creation_id}
    if video_url:
        return {"video_url": video_url}
    raise ValueError("name the source video: video_creation_id or video_url")


@dataclass(frozen=True)
class ExtendRequest:
    """Continue a finished video by ``duration`` seconds, optionally towards an end frame."""

    model: str
    duration: int
    resolution: str
    video_creation_id: str = ""
    video_url: str = ""
    prompt: str = ""
    end_frame: str = ""  # a data URI or public URL
    seed: int | None = None
    payload: str = ""
    callback_url: str = ""

    endpoint = catalog.EXTEND

    def body(self) -> dict:
        body = {"model": self.model, **_source(self.video_creation_id, self.video_url),
                "duration": self.duration, "resolution": self.resolution}
        if self.prompt:
            body["prompt"] = self.prompt
        if self.end_frame:
            body["images"] = [self.end_frame]
        if self.seed:
            body["seed"] = self.seed
        return _common(body, self.payload, self.callback_url)


@dataclass(frozen=True)
class UpscaleRequest:
    """Raise a finished video's resolution; no model is sent (sources disagree: send none)."""

    upscale_resolution: str = catalog.UPSCALE_DEFAULT
    video_creation_id: str = ""
    video_url: str = ""
    payload: str = ""
    callback_url: str = ""

    endpoint = catalog.UPSCALE

    def body(self) -> dict:
        body = {**_source(self.video_creation_id, self.video_url), "upscale_resolution": self.upscale_resolution}
        return _common(body, self.payload, self.callback_url)


@dataclass(frozen=True)
class KeyFrame:
    """One key image, the prompt that leads to it and the seconds it takes to reach it."""

    image: str
    prompt: str = ""
    duration: int = 5

    def setting(self) -> dict:
        setting = {"key_image": self.image, "duration": self.duration}
        if self.prompt:
            setting["prompt"] = self.prompt
        return setting


@dataclass(frozen=True)
class MultiframeRequest:
    """Keyframes: a start image, then 2-9 keys in order."""

    model: str
    start_image: str
    keys: tuple[KeyFrame, ...] = field(default_factory=tuple)
    resolution: str = ""
    seed: int | None = None
    payload: str = ""
    callback_url: str = ""

    endpoint = catalog.MULTIFRAME

    def body(self) -> dict:
        body = {"model": self.model, "start_image": self.start_image,
                "image_settings": [key.setting() for key in self.keys]}
        if self.resolution:
            body["resolution"] = self.resolution
        if self.seed:
            body["seed"] = self.seed
        return _common(body, self.payload, self.callback_url)
