"""The Vidu model table (vidu-api.md §2) as data, and the validator built on it.

Everything that needs to know which model takes which endpoint, length, resolution or option
reads it from ``MODELS``: the create form, the client and the sandbox. A new model is one row.

``validate(mode, params)`` checks a create request and answers, per field, what is wrong in
words a creator understands. It checks types too, since the sandbox feeds it raw JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

TEXT = "text2video"
IMAGE = "img2video"
START_END = "start-end2video"
REFERENCE = "reference2video"

MODES: dict[str, str] = {
    TEXT: "Text to video",
    IMAGE: "Image to video",
    START_END: "Start and end frames",
    REFERENCE: "Reference images",
}

RESOLUTIONS = ("360p", "540p", "720p", "1080p")
ASPECT_RATIOS = ("16:9", "9:16", "1:1", "3:4", "4:3")
MOVEMENTS = ("auto", "small", "medium", "large")
STYLES = ("general", "anime")

PROMPT_MAX = 2000
PAYLOAD_MAX = 1024 * 1024
# How many images each mode takes (min, max); reference2video's max depends on the model.
IMAGE_COUNTS: dict[str, tuple[int, int]] = {TEXT: (0, 0), IMAGE: (1, 1), START_END: (2, 2), REFERENCE: (1, 7)}
# Modes whose request carries an aspect ratio / a style (the others follow their images).
RATIO_MODES = (TEXT, REFERENCE)
STYLE_MODES = (TEXT,)
PROMPT_REQUIRED = (TEXT, REFERENCE)
SEED_MAX = 2**31 - 1
# One sentence for every bad seed ("abc", "-5", "1.5", too large), from the form and the validator.
SEED_MESSAGE = f"The seed must be a whole number from 0 to {SEED_MAX}; leave it empty for a random one."


@dataclass(frozen=True)
class ModelSpec:
    """One row of the table: what a model accepts, per endpoint."""

    name: str
    label: str
    # mode -> allowed durations, in seconds
    durations: dict[str, tuple[int, ...]]
    default_duration: int
    # duration -> allowed resolutions (a key of None applies to every duration)
    resolutions: dict[int | None, tuple[str, ...]]
    default_resolution: str
    bgm: bool = True  # takes background music
    movement: bool = True  # honours movement_amplitude
    # Honours ``style`` (text2video only; vidu-api.md: "ignored by q2/q3"). The create form offers
    # it where it does something, so today only Vidu Q1's text to video shows it.
    style: bool = True
    audio_default: bool = False
    max_references: int = 7

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(m for m in MODES if m in self.durations)

    def durations_for(self, mode: str) -> tuple[int, ...]:
        return self.durations.get(mode, ())

    def resolutions_for(self, duration: int) -> tuple[str, ...]:
        return self.resolutions.get(duration, self.resolutions.get(None, ()))

    def default_resolution_for(self, duration: int) -> str:
        allowed = self.resolutions_for(duration)
        # A duration the model doesn't make has no resolutions: keep the default (validation says what's wrong).
        return self.default_resolution if not allowed or self.default_resolution in allowed else allowed[0]

    def image_count(self, mode: str) -> tuple[int, int]:
        low, high = IMAGE_COUNTS[mode]
        return (low, min(high, self.max_references)) if mode == REFERENCE else (low, high)


def _span(low: int, high: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1))


_HD = ("540p", "720p", "1080p")

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        *(
            ModelSpec(
                name=name,
                label=label,
                durations={TEXT: _span(1, 16), IMAGE: _span(1, 16), START_END: _span(1, 16)},
                default_duration=5,
                resolutions={None: _HD},
                default_resolution="720p",
                bgm=False,
                movement=False,
                style=False,
                audio_default=True,
            )
            for name, label in (("viduq3-pro", "Vidu Q3 Pro"), ("viduq3-turbo", "Vidu Q3 Turbo"))
        ),
        ModelSpec(
            name="viduq2",
            label="Vidu Q2",
            durations={TEXT: _span(1, 10), REFERENCE: _span(1, 10)},
            default_duration=5,
            resolutions={None: _HD},
            default_resolution="720p",
            movement=False,
            style=False,
        ),
        *(
            ModelSpec(
                name=name,
                label=label,
                durations={IMAGE: _span(1, 10), START_END: _span(1, 8)},
                default_duration=5,
                resolutions={None: _HD},
                default_resolution="720p",
                movement=False,
                style=False,
            )
            for name, label in (("viduq2-pro", "Vidu Q2 Pro"), ("viduq2-turbo", "Vidu Q2 Turbo"))
        ),
        ModelSpec(
            name="viduq1",
            label="Vidu Q1",
            durations={TEXT: (5,), IMAGE: (5,), START_END: (5,), REFERENCE: (5,)},
            default_duration=5,
            resolutions={None: ("1080p",)},
            default_resolution="1080p",
        ),
        ModelSpec(
            name="vidu2.0",
            label="Vidu 2.0",
            durations={IMAGE: (4, 8), START_END: (4, 8), REFERENCE: (4, 8)},
            default_duration=4,
            resolutions={4: ("360p", "720p", "1080p"), 8: ("720p",)},
            default_resolution="360p",
            max_references=3,
        ),
    ]
}


def models_for(mode: str) -> list[ModelSpec]:
    """The models that take ``mode``, in table order."""
    return [spec for spec in MODELS.values() if mode in spec.durations]


def describe_durations(values: tuple[int, ...]) -> str:
    if len(values) > 2 and values == _span(values[0], values[-1]):
        return f"{values[0]} to {values[-1]} seconds"
    return " or ".join(str(v) for v in values) + " seconds"


_DATA_URI = re.compile(r"^data:image/(png|jpeg|jpg|webp);base64,[A-Za-z0-9+/=\s]+$", re.S)


def is_image_reference(value: object) -> bool:
    """A public http(s) URL or a base64 data URI of a png, jpeg or webp image."""
    if not isinstance(value, str) or not value:
        return False
    if value.startswith(("http://", "https://")):
        return _is_http_url(value) and " " not in value
    return bool(_DATA_URI.match(value[:64] + "A")) and bool(_DATA_URI.match(value))


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")) or len(value) > 4096:
        return False
    try:
        parts = urlsplit(value)
        return bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:  # e.g. "http://[::1" or a port out of range
        return False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(mode: str, params: dict) -> dict[str, str]:
    """Check a create request for ``mode``; return ``{field: message}``, empty when valid.

    ``params`` uses Vidu's field names and JSON types (``duration`` an int, ``bgm`` a bool,
    ``images`` a list of strings). Absent optional fields are fine: Vidu applies its defaults.
    """
    errors: dict[str, str] = {}
    if mode not in MODES:
        return {"mode": f"Unknown mode {mode!r}: choose one of {', '.join(MODES)}."}

    model = params.get("model")
    spec = MODELS.get(model) if isinstance(model, str) else None
    if not model:
        errors["model"] = "Choose a model."
    elif spec is None:
        errors["model"] = f"Unknown model {model!r}."
    elif mode not in spec.durations:
        takes = ", ".join(MODES[m].lower() for m in spec.modes)
        errors["model"] = f"{spec.label} can't do {MODES[mode].lower()}; it takes {takes}."
        spec = None

    prompt = params.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        errors["prompt"] = "The prompt must be text."
    elif not (prompt or "").strip() and mode in PROMPT_REQUIRED:
        errors["prompt"] = "Describe the shot: this mode needs a prompt."
    elif len(prompt or "") > PROMPT_MAX:
        errors["prompt"] = f"The prompt is {len(prompt)} characters long; the limit is {PROMPT_MAX}."

    images = params.get("images")
    low, high = spec.image_count(mode) if spec else IMAGE_COUNTS[mode]
    if images is not None and not isinstance(images, list):
        errors["images"] = "Images must be a list."
    else:
        images = images or []
        if not low <= len(images) <= high:
            errors["images"] = _image_count_message(mode, low, high, len(images))
        elif not all(is_image_reference(i) for i in images):
            errors["images"] = "Each image must be a png, jpeg or webp file (a URL or a data URI)."

    duration = params.get("duration")
    if duration is not None:
        if not _is_int(duration):
            errors["duration"] = "The length must be a whole number of seconds."
        elif spec and duration not in spec.durations_for(mode):
            allowed = describe_durations(spec.durations_for(mode))
            errors["duration"] = f"{spec.label} makes {MODES[mode].lower()} clips of {allowed}, not {duration}."
    effective_duration = duration if _is_int(duration) else (spec.default_duration if spec else None)

    resolution = params.get("resolution")
    if resolution is not None:
        if resolution not in RESOLUTIONS:
            errors["resolution"] = f"Resolution must be one of {', '.join(RESOLUTIONS)}."
        elif spec and "duration" not in errors:
            allowed = spec.resolutions_for(effective_duration)
            if resolution not in allowed:
                errors["resolution"] = (
                    f"{spec.label} at {effective_duration} s comes in {', '.join(allowed)}, not {resolution}."
                )

    ratio = params.get("aspect_ratio")
    if ratio is not None:
        if mode not in RATIO_MODES:
            errors["aspect_ratio"] = "The aspect ratio follows the image in this mode; leave it out."
        elif ratio not in ASPECT_RATIOS:
            errors["aspect_ratio"] = f"Aspect ratio must be one of {', '.join(ASPECT_RATIOS)}."

    movement = params.get("movement_amplitude")
    if movement is not None and movement not in MOVEMENTS:
        errors["movement_amplitude"] = f"Movement must be one of {', '.join(MOVEMENTS)}."

    style = params.get("style")
    if style is not None:
        if mode not in STYLE_MODES:
            errors["style"] = "Style applies to text to video only."
        elif style not in STYLES:
            errors["style"] = f"Style must be one of {', '.join(STYLES)}."

    seed = params.get("seed")
    if seed is not None and not (_is_int(seed) and 0 <= seed <= SEED_MAX):
        errors["seed"] = SEED_MESSAGE

    for flag in ("bgm", "audio", "off_peak", "watermark"):
        if params.get(flag) is not None and not isinstance(params[flag], bool):
            errors[flag] = "Must be true or false."
    if spec and params.get("bgm") is True and not spec.bgm:
        errors["bgm"] = f"{spec.label} doesn't add background music."

    payload = params.get("payload")
    if payload is not None and (not isinstance(payload, str) or len(payload.encode()) > PAYLOAD_MAX):
        errors["payload"] = "The payload must be a string of at most 1 MiB."
    callback = params.get("callback_url")
    if callback is not None and not _is_http_url(callback):
        errors["callback_url"] = "The callback URL must be an http(s) URL."
    return errors


def _image_count_message(mode: str, low: int, high: int, got: int) -> str:
    if high == 0:
        return "Text to video takes no images; pick an image mode to use them."
    if low == high:
        want = "one image" if low == 1 else f"{low} images (the first and the last frame)"
        return f"{MODES[mode]} needs exactly {want}; got {got}."
    return f"{MODES[mode]} takes {low} to {high} images; got {got}."
