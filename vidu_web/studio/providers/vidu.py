"""The Vidu family: Vidu (api.vidu.com, api.vidu.cn), the sandbox, and gateways that keep
Vidu's contract (DataEyes). A thin layer over ``vidu_web.vidu``, which stays Django-free."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

from vidu_web.vidu import catalog, images, signing
from vidu_web.vidu.bodies import ExtendRequest, KeyFrame, MultiframeRequest, UpscaleRequest
from vidu_web.vidu.client import PRESETS, ViduClient
from vidu_web.vidu.errors import ViduError, friendly
from vidu_web.vidu.types import TaskResult

from . import base

log = logging.getLogger(__name__)

# Vidu's states onto ours.
STATES = {
    "created": base.QUEUED,
    "queueing": base.QUEUED,
    "scheduling": base.QUEUED,
    "processing": base.PROCESSING,
    "success": base.SUCCEEDED,
    "failed": base.FAILED,
}
# What Vidu answers to a cancel once it has scheduled the task.
NOT_CANCELLABLE = "task state is scheduled, can not cancel"
# Room left in the 20 MB body for everything but the images (prompt, fields, JSON syntax).
BODY_MARGIN = 256 * 1024


def error(exc: ViduError, body: dict | None = None) -> base.ProviderError:
    friendly_text = exc.friendly
    target = (body or {}).get("upscale_resolution")
    if target and exc.status == 400 and exc.reason == "FieldInvalid":
        # §2b: upscale answers 400 FieldInvalid for a resolution not above the source's.
        friendly_text = (f"Vidu can't upscale this video to {target}: it is already that sharp or sharper "
                         "(or too long or too fast to upscale). Pick a higher resolution on the original's page.")
    return base.ProviderError(
        status=exc.status, reason=exc.reason, message=exc.message, friendly=friendly_text,
        retry_after=exc.retry_after, outcome_unknown=exc.outcome_unknown, retryable=exc.retryable,
        not_cancellable=NOT_CANCELLABLE in exc.message or exc.reason == "OperationInProcess")


def answer(result: TaskResult) -> base.Answer:
    state = STATES.get(result.state)
    if state is None:
        log.warning("Vidu reported an unknown state %r for task %s; treating it as running", result.state[:40],
                    result.id[:40])
        state = base.QUEUED  # the task never moves backwards, so a processing one stays processing
    if result.state == "failed" and result.err_code == "UserCancelled":
        state = base.CANCELLED
    err_code = result.err_code or ("InternalServiceFailure" if state == base.FAILED else "")
    return base.Answer(
        id=result.id[:40], state=state, upstream_state=result.state[:20], progress=result.progress,
        credits=result.credits, err_code=err_code[:60], error=friendly(err_code) if err_code else "",
        payload=result.payload, prompt=result.prompt,
        outputs=tuple(base.Output(id=c.id[:40], url=c.url, cover_url=c.cover_url, watermarked_url=c.watermarked_url,
                                  duration=c.video.duration, fps=c.video.fps, width=c.video.width,
                                  height=c.video.height) for c in result.creations))


class Vidu(base.Adapter):
    family = "vidu"
    catalog = catalog

    def __init__(self, name: str, endpoint: str, api_key: str, timeout: tuple[float, float], auth_scheme: str = ""):
        super().__init__(name, endpoint, api_key, timeout)
        preset = PRESETS[name].with_overrides(auth_scheme=auth_scheme)
        self.signs_callbacks = preset.signs_callbacks
        self._key = api_key
        # The endpoint already holds the path prefix (see providers.endpoint_of).
        self.client = ViduClient(replace(preset, base_url=endpoint, path_prefix=""), api_key, timeout=timeout)

    def build_request(self, task, blobs: list[bytes], callback_url: str) -> dict:
        """The body for the task's endpoint: its mode picks the shape, its params fill it in."""
        text = task.prompt.text
        uris = []
        if blobs:
            budget = (images.BODY_LIMIT - BODY_MARGIN - len(text.encode())) // len(blobs)
            uris = [images.to_data_uri(data, budget=budget) for data in blobs]
        params, ours = task.params or {}, {"payload": str(task.uuid), "callback_url": callback_url}
        if task.mode == catalog.EXTEND:
            return ExtendRequest(model=task.model, duration=task.duration, resolution=task.resolution,
                                 video_creation_id=params.get("video_creation_id", ""),
                                 video_url=params.get("video_url", ""), prompt=text,
                                 end_frame=uris[0] if uris else "", seed=params.get("seed"), **ours).body()
        if task.mode == catalog.UPSCALE:
            return UpscaleRequest(upscale_resolution=params.get("upscale_resolution", catalog.UPSCALE_DEFAULT),
                                  video_creation_id=params.get("video_creation_id", ""),
                                  video_url=params.get("video_url", ""), **ours).body()
        if task.mode == catalog.MULTIFRAME:
            keys = tuple(KeyFrame(image, prompt, seconds) for image, prompt, seconds in
                         zip(uris[1:], params.get("key_prompts", []), params.get("key_durations", []), strict=True))
            return MultiframeRequest(model=task.model, start_image=uris[0], keys=keys, resolution=task.resolution,
                                     seed=params.get("seed"), **ours).body()
        body = {"model": task.model, "duration": task.duration, "resolution": task.resolution, **params}
        if text:
            body["prompt"] = text
        if uris:
            body["images"] = uris
        body["payload"] = ours["payload"]
        if callback_url:
            body["callback_url"] = callback_url
        return body

    def create(self, mode: str, body: dict) -> base.Created:
        try:
            result = self.client.create(mode, body)
        except ViduError as exc:
            raise error(exc, body) from None
        return base.Created(id=result.task_id[:40], upstream_state=result.state[:20], credits=result.credits,
                            seed=result.seed, prompt=result.prompt)

    def query(self, upstream_id: str) -> base.Answer:
        try:
            return answer(self.client.query(upstream_id))
        except ViduError as exc:
            raise error(exc) from None

    def cancel(self, upstream_id: str) -> None:
        try:
            self.client.cancel(upstream_id)
        except ViduError as exc:
            raise error(exc) from None

    def account(self):
        try:
            return self.client.account()
        except ViduError as exc:
            if exc.status == 404:  # a gateway without the call: nothing to show
                return None
            raise error(exc) from None

    def parse_callback(self, body: bytes) -> base.Answer:
        try:
            return answer(TaskResult.parse(json.loads(body)))
        except (RecursionError, OverflowError):
            raise ValueError("the body is nested too deeply or holds a number out of range") from None

    def verify_callback(self, url: str, headers: dict, nonces=None) -> None:
        try:
            signing.verify(self._key, url, headers, nonces=nonces, now=time.time())
        except signing.SignatureError as exc:
            raise ValueError(str(exc)) from None

    def close(self) -> None:
        self.client.close()
