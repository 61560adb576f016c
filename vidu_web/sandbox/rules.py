"""How the sandbox judges, completes and prices a create request, and reads the test markers in its prompt.

Validation is the client library's own (``vidu_web.vidu.catalog.validate``) so the sandbox and the
app can't drift apart; this module only turns its messages into Vidu's reasons and status codes.
"""

from __future__ import annotations

import re

from vidu_web.vidu import catalog, images

MARKER = re.compile(r"\[(fail|reject|bigvideo|length|fps):([A-Za-z0-9_.]+)\]")
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
# Upscale: credits per second of source video, growing with the resolution asked.
UPSCALE_PER_SECOND = {"1080p": 4, "2K": 8, "4K": 16, "8K": 40}
MAX_BIG_MB = 64 * 1024


class Refusal(Exception):
    """A create request the sandbox answers with an error body."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def markers(params: dict) -> dict[str, str]:
    """The ``[fail:X]``, ``[reject:X]``, ``[bigvideo:N]``, ``[length:S]`` and ``[fps:F]`` markers
    in the prompt (a keyframe's prompt counts too)."""
    texts = [params.get("prompt")]
    settings = params.get("image_settings")
    if isinstance(settings, list):
        texts += [s.get("prompt") for s in settings if isinstance(s, dict)]
    return {kind: value for text in texts if isinstance(text, str) for kind, value in MARKER.findall(text)}


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
    _check_images(mode, image_refs(mode, params))
    reject = markers(params).get("reject")
    if reject:
        raise Refusal(REJECT_STATUS.get(reject, 400), reject, f"rejected on request by the prompt marker [reject:{reject}]")


def _reason(name: str, mode: str, params: dict) -> str:
    """Vidu's reason for a validation error on field ``name``."""
    if mode in catalog.MORE:
        return _more_reason(name, mode, params)
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


def _more_reason(name: str, mode: str, params: dict) -> str:
    """The reason for the second-wave endpoints' fields (§2b)."""
    if name in catalog._UNWANTED[mode] and name in params:
        return "FieldUnwanted"
    if name in ("model", "start_image", "video_creation_id") and params.get(name) in (None, ""):
        return "FieldLacking"
    if name == "image_settings" and isinstance(params.get(name), list):
        return "FieldItemCountOutOfRange"
    if name == "images" and isinstance(params.get(name), list) and len(params[name]) > catalog.EXTEND_MAX_IMAGES:
        return "FieldItemCountOutOfRange"
    if name in ("images", "start_image", "image_settings.key_image"):
        return "ImageFormatInvalid"
    return "FieldInvalid"


def image_refs(mode: str, params: dict) -> list[str]:
    """Every image of a create request, in order: ``images``, or keyframes' start and key images."""
    if mode == catalog.MULTIFRAME:
        keys = params.get("image_settings") or []
        return [params["start_image"], *(k["key_image"] for k in keys)]
    return params.get("images") or []


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
    common = {"payload": params.get("payload") or "", "off_peak": bool(params.get("off_peak", False)),
              "watermark": bool(params.get("watermark", False)), "bgm": False, "audio": False}
    if params.get("callback_url"):
        common["callback_url"] = params["callback_url"]
    if mode == catalog.UPSCALE:
        source = {k: params[k] for k in ("video_creation_id", "video_url") if k in params}
        return {**source, "upscale_resolution": params.get("upscale_resolution") or catalog.UPSCALE_DEFAULT, **common}
    spec = catalog.MODELS[params["model"]]
    if mode == catalog.EXTEND:
        source = {k: params[k] for k in ("video_creation_id", "video_url") if k in params}
        return {"model": spec.name, **source, "prompt": params.get("prompt") or "",
                "duration": params.get("duration") or spec.default_duration,
                "resolution": params.get("resolution") or spec.default_resolution, **common}
    if mode == catalog.MULTIFRAME:
        keys = [{"prompt": k.get("prompt") or "", "duration": k.get("duration") or spec.default_duration}
                for k in params["image_settings"]]
        return {"model": spec.name, "image_settings": keys,
                "resolution": params.get("resolution") or spec.default_resolution, **common}
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
    if params.get("is_rec"):
        out["is_rec"] = True
    if mode in catalog.RATIO_MODES:
        out["aspect_ratio"] = params.get("aspect_ratio") or "16:9"
    if mode in catalog.STYLE_MODES:
        out["style"] = params.get("style") or "general"
    if params.get("callback_url"):
        out["callback_url"] = params["callback_url"]
    return out


def credits_for(params: dict, seconds: float = 0) -> int:
    """What the task costs (halved off-peak): from model, seconds made and resolution; an upscale
    from the source's ``seconds`` and the resolution asked; ``is_rec`` adds 10."""
    if "upscale_resolution" in params:
        cost = UPSCALE_PER_SECOND.get(params["upscale_resolution"], 8) * max(seconds, 1)
    else:
        made = params.get("duration") or sum(k["duration"] for k in params.get("image_settings", []))
        cost = PER_SECOND.get(params["model"], 25) * made * RESOLUTION_FACTOR.get(params["resolution"], 1.0)
    if params.get("bgm"):
        cost += 5
    if params.get("is_rec"):
        cost += catalog.REC_CREDITS
    return max(1, round(cost / 2 if params.get("off_peak") else cost))


def big_video_bytes(params: dict) -> int:
    """Size asked for by ``[bigvideo:N]`` (N in MB), 0 when absent or unreadable."""
    try:
        megabytes = float(markers(params).get("bigvideo", 0))
    except ValueError:
        return 0
    return int(min(max(megabytes, 0), MAX_BIG_MB) * 1024 * 1024)


def marker_number(params: dict, kind: str) -> float | None:
    """The number of a ``[length:S]`` or ``[fps:F]`` marker, None when absent or unreadable."""
    try:
        value = float(markers(params)[kind])
    except (KeyError, ValueError):
        return None
    return value if 0 <= value <= 100_000 else None


def recommended_prompt(mode: str, params: dict) -> str:
    """The prompt the sandbox "writes" for ``is_rec`` (Vidu's own would describe the images)."""
    first = (params.get("prompt") or "").strip()[:60]
    return f"[sandbox] A cinematic {catalog.MODES[mode].lower()} shot, gentle camera move" + (f", after: {first}" if first else "")
