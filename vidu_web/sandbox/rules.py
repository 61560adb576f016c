"""How the sandbox judges, completes and prices a create request, and reads the test markers in its prompt.

Validation is the client library's own (``vidu_web.vidu.catalog.validate``) so the sandbox and the
app can't drift apart; this module only turns its messages into Vidu's reasons and status codes.
"""

from __future__ import annotations

import re

from vidu_web.vidu import catalog, images

MARKER = re.compile(r"\[(fail|reject|bigvideo):([A-Za-z0-9_.]+)\]")
BILLING_NAME = re.compile(r"^(?P<model>.+)-(?P<resolution>\d+p)-(?P<duration>\d+)s$")

# Status for each reason of vidu-api.md §6, for [reject:Reason]; unknown reasons answer 400.
REJECT_STATUS = {
    "Unauthorized": 401, "Forbidden": 403, "TaskNotFound": 404, "CreationNotFound": 404, "Conflict": 409,
    "QuotaExceeded": 429, "TooManyRequests": 429, "SystemThrottling": 429, "InternalServiceFailure": 500,
}
# Credits per second of 720p video; plausible figures scaled so that viduq2-turbo 720p 5 s costs
# the 130 credits of the DataEyes example. Not Vidu's price list: clients must read credits.
PER_SECOND = {"viduq3-pro": 40, "viduq3-turbo": 30, "viduq2": 26, "viduq2-pro": 32, "viduq2-turbo": 26,
              "viduq1": 30, "vidu2.0": 20}
RESOLUTION_FACTOR = {"360p": 0.5, "540p": 0.75, "720p": 1.0, "1080p": 2.0}
MAX_BIG_MB = 64 * 1024


class Refusal(Exception):
    """A create request the sandbox answers with an error body."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def markers(params: dict) -> dict[str, str]:
    """The ``[fail:X]``, ``[reject:X]`` and ``[bigvideo:N]`` markers found in the prompt."""
    prompt = params.get("prompt")
    return {kind: value for kind, value in MARKER.findall(prompt)} if isinstance(prompt, str) else {}


def plain_model(params: dict) -> dict:
    """``params`` with a billing model name (``viduq2-turbo-720p-5s``) split into Vidu's fields.

    Gateways may spell the model that way (vidu-api.md §1); both spellings are accepted.
    """
    model = params.get("model")
    match = BILLING_NAME.match(model) if isinstance(model, str) and model not in catalog.MODELS else None
    if not match or match["model"] not in catalog.MODELS:
        return params
    named = {"model": match["model"], "resolution": match["resolution"], "duration": int(match["duration"])}
    for name in ("resolution", "duration"):
        if params.get(name) not in (None, named[name]):
            raise Refusal(400, "FieldInvalid", f"model {model!r} says {name} {named[name]}, the body says {params[name]}")
    return {**params, **named}


def check(mode: str, params: dict) -> None:
    """Raise ``Refusal`` for anything Vidu would refuse: fields, images, then the reject marker."""
    errors = catalog.validate(mode, params)
    if errors:
        name, message = next(iter(errors.items()))
        raise Refusal(400, _reason(name, mode, params), f"{name}: {message}")
    _check_images(mode, params.get("images") or [])
    reject = markers(params).get("reject")
    if reject:
        raise Refusal(REJECT_STATUS.get(reject, 400), reject, f"rejected on request by the prompt marker [reject:{reject}]")


def _reason(name: str, mode: str, params: dict) -> str:
    """Vidu's reason for a validation error on field ``name``."""
    value = params.get(name)
    if name == "model" and not value:
        return "FieldLacking"
    if name == "prompt" and (value is None or isinstance(value, str) and not value.strip()):
        return "FieldLacking"
    if name == "images" and isinstance(value, list):
        model = params.get("model")
        spec = catalog.MODELS.get(model) if isinstance(model, str) else None
        low, high = spec.image_count(mode) if spec and mode in spec.durations else catalog.IMAGE_COUNTS[mode]
        if not low <= len(value) <= high:
            return "FieldItemCountOutOfRange"
        return "ImageFormatInvalid" if all(isinstance(i, str) for i in value) else "FieldInvalid"
    if name == "aspect_ratio" and mode not in catalog.RATIO_MODES or name == "style" and mode not in catalog.STYLE_MODES:
        return "FieldUnwanted"
    if name == "bgm" and value is True:
        return "FieldUnwanted"
    return "FieldInvalid"


def _check_images(mode: str, refs: list[str]) -> None:
    """Decode and inspect data URIs; public URLs are taken on trust, as nothing is downloaded."""
    infos = []
    for number, ref in enumerate(refs, 1):
        if not ref.startswith("data:"):
            infos.append(None)
            continue
        try:
            infos.append(images.inspect(images.decode_data_uri(ref)))
        except images.ImageRejected as exc:
            raise Refusal(400, "ImageFormatInvalid", f"image {number}: {exc}") from None
    if mode == catalog.START_END and len(infos) == 2 and None not in infos:
        try:
            images.check_start_end(*infos)
        except images.ImageRejected as exc:
            raise Refusal(400, "ImageFormatInvalid", str(exc)) from None


def effective(mode: str, params: dict) -> dict:
    """The parameters the task runs with: what was sent, Vidu's defaults for the rest."""
    spec = catalog.MODELS[params["model"]]
    duration = params.get("duration") or spec.default_duration
    out = {
        "model": params["model"],
        "prompt": params.get("prompt") or "",
        "duration": duration,
        "resolution": params.get("resolution") or spec.default_resolution_for(duration),
        "movement_amplitude": params.get("movement_amplitude") or "auto",
        "bgm": bool(params.get("bgm", False)),
        "audio": bool(params.get("audio", spec.audio_default)),
        "off_peak": bool(params.get("off_peak", False)),
        "watermark": bool(params.get("watermark", False)),
        "payload": params.get("payload") or "",
    }
    if mode in catalog.RATIO_MODES:
        out["aspect_ratio"] = params.get("aspect_ratio") or "16:9"
    if mode in catalog.STYLE_MODES:
        out["style"] = params.get("style") or "general"
    if params.get("callback_url"):
        out["callback_url"] = params["callback_url"]
    return out


def credits_for(params: dict) -> int:
    """What the task costs, from model, length and resolution (halved off-peak)."""
    cost = PER_SECOND.get(params["model"], 25) * params["duration"] * RESOLUTION_FACTOR.get(params["resolution"], 1.0)
    if params.get("bgm"):
        cost += 5
    return max(1, round(cost / 2 if params.get("off_peak") else cost))


def big_video_bytes(params: dict) -> int:
    """Size asked for by ``[bigvideo:N]`` (N in MB), 0 when absent or unreadable."""
    try:
        megabytes = float(markers(params).get("bigvideo", 0))
    except ValueError:
        return 0
    return int(min(max(megabytes, 0), MAX_BIG_MB) * 1024 * 1024)
