"""Typed responses: dataclasses that parse Vidu's JSON, ignoring fields they don't know.

Ids stay strings (they are 18-digit numbers that lose precision as floats); `progress` may be
absent and `video.resolution` may be null.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

FINAL_STATES = ("success", "failed")
KNOWN_STATES = ("created", "queueing", "scheduling", "processing", "success", "failed")


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value: Any) -> float:
    """A finite number, or 0 (unknown) for anything else."""
    try:
        number = float(value or 0)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


@dataclass(frozen=True)
class VideoInfo:
    duration: float = 0
    fps: float = 0
    width: int | None = None
    height: int | None = None

    @classmethod
    def parse(cls, data: Any) -> VideoInfo:
        if not isinstance(data, dict):
            return cls()
        res = data.get("resolution")
        width = height = None
        if isinstance(res, dict):
            width, height = _int(res.get("width")) or None, _int(res.get("height")) or None
        return cls(duration=_float(data.get("duration")), fps=_float(data.get("fps")), width=width, height=height)


@dataclass(frozen=True)
class Creation:
    id: str
    url: str
    cover_url: str = ""
    watermarked_url: str = ""
    moderation_urls: tuple[str, ...] = ()
    video: VideoInfo = field(default_factory=VideoInfo)

    @classmethod
    def parse(cls, data: dict) -> Creation:
        moderation = data.get("moderation_url") or []
        return cls(
            id=_str(data.get("id")),
            url=_str(data.get("url")),
            cover_url=_str(data.get("cover_url")),
            watermarked_url=_str(data.get("watermarked_url")),
            moderation_urls=tuple(str(u) for u in moderation) if isinstance(moderation, list) else (),
            video=VideoInfo.parse(data.get("video")),
        )


@dataclass(frozen=True)
class TaskResult:
    """A query response (§3), also the body of a callback (§5)."""

    id: str
    state: str
    err_code: str = ""
    credits: int | None = None
    payload: str = ""
    progress: int | None = None
    bgm: bool | None = None
    audio: bool | None = None
    off_peak: bool | None = None
    creations: tuple[Creation, ...] = ()

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def parse(cls, data: Any) -> TaskResult:
        if not isinstance(data, dict):
            raise ValueError("a task must be a JSON object")
        state = data.get("state") or data.get("status")  # callbacks spell it both ways
        if not data.get("id") and not data.get("task_id") or not isinstance(state, str):
            raise ValueError("a task needs an id and a state")
        progress = data.get("progress")
        creations = data.get("creations") if isinstance(data.get("creations"), list) else []
        return cls(
            id=_str(data.get("id") or data.get("task_id")),
            state=state,
            err_code=_str(data.get("err_code")),
            credits=_int(data["credits"]) if data.get("credits") is not None else None,
            payload=_str(data.get("payload")),
            progress=max(0, min(100, _int(progress))) if progress is not None else None,
            bgm=data.get("bgm") if isinstance(data.get("bgm"), bool) else None,
            audio=data.get("audio") if isinstance(data.get("audio"), bool) else None,
            off_peak=data.get("off_peak") if isinstance(data.get("off_peak"), bool) else None,
            creations=tuple(Creation.parse(c) for c in creations if isinstance(c, dict)),
        )


@dataclass(frozen=True)
class CreateResult:
    """A create response (§2): the task's id, its first state, the seed used and the credits."""

    task_id: str
    state: str
    seed: int | None = None
    credits: int | None = None
    created_at: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, data: Any) -> CreateResult:
        if not isinstance(data, dict) or not data.get("task_id") or not isinstance(data.get("state"), str):
            raise ValueError("a create response needs a task_id and a state")
        return cls(
            task_id=_str(data["task_id"]),
            state=data["state"],
            seed=_int(data["seed"]) if data.get("seed") is not None else None,
            credits=_int(data["credits"]) if data.get("credits") is not None else None,
            created_at=_str(data.get("created_at")),
            raw=data,
        )
