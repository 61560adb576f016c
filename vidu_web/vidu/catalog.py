"""The Vidu model table (vidu-api.md §2 and §2b) as data, and the validator built on it.

Everything that needs to know which model takes which endpoint, length, resolution or option
reads it from ``MODELS``: the create form, the client and the sandbox. A new model is one row.
The second-wave endpoints (``extend``, ``upscale-new``, ``multiframe``) sit in the same table
(a model's ``durations`` names them like the first four) with their own limits below it;
``upscale-new`` takes no model, so its rules are constants only.

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

EXTEND = "extend"
UPSCALE = "upscale-new"
MULTIFRAME = "multiframe"

# The four first-wave create modes (is_rec applies to exactly these).
MODES: dict[str, str] = {
    TEXT: "Text to video",
    IMAGE: "Image to video",
    START_END: "Start and end frames",
    REFERENCE: "Reference images",
}
# The modes /create/ offers: the four, then keyframes.
CREATE_MODES: dict[str, str] = {**MODES, MULTIFRAME: "Keyframes"}
# Every create endpoint the client, the sandbox and a task may name.
ENDPOINTS: dict[str, str] = {**CREATE_MODES, EXTEND: "Extend", UPSCALE: "Upscale"}

# --- vidu-api.md §2b: the limits of the second-wave endpoints, as data -----------------------
# "Let Vidu write the prompt": on the four first-wave modes, 10 credits more.
REC_MODES = tuple(MODES)
REC_CREDITS = 10
# extend: seconds added come from the model table; the source must be 4-60 s long.
EXTEND_SOURCE_SECONDS = (4, 60)
EXTEND_MAX_IMAGES = 1  # one end frame
# upscale-new: the resolutions it makes, each with its frame's short side, and its source limits.
UPSCALE_RESOLUTIONS: dict[str, int] = {"1080p": 1080, "2K": 1440, "4K": 2160, "8K": 4320}
UPSCALE_DEFAULT = "1080p"
UPSCALE_MAX_SECONDS = 300
UPSCALE_MAX_FPS = 60  # the source must be under this
# multiframe: 2-9 key images after the start image; seconds per key from the model table.
MULTIFRAME_KEYS = (2, 9)
# A frame's short side for each resolution name: how a video's frame size compares with a choice.
RESOLUTION_SIDES: dict[str, int] = {"360p": 360, "540p": 540, "720p": 720, "1080p": 1080, **UPSCALE_RESOLUTIONS}

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
        return tuple(m for m in ENDPOINTS if m in self.durations)

    def durations_for(self, mode: str) -> tuple[int, ...]:
        return self.durations.get(mode, ())

    def resolutions_for(self, duration: int) -> tuple[str, ...]:
        return self.resolutions.get(duration, self.resolutions.get(None, ()))

    def default_resolution_for(self, duration: int) -> str:
        allowed = self.resolutions_for(duration)
        # A duration the model doesn't make has no resolutions: keep the default (validation says what's wrong).
        return self.default_resolution if not allowed or self.default_resolution in allowed else allowed[0]

    def image_count(self, mode: str) -> tuple[int, int]:
        low, high = IMAGE_COUNTS.get(mode, (0, 0))
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
                # extend: seconds added; multiframe: seconds to reach each key image.
                durations={IMAGE: _span(1, 10), START_END: _span(1, 8), EXTEND: _span(1, 7),
                           MULTIFRAME: _span(2, 7)},
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
    if mode in MORE:
        return MORE[mode](params)
    errors: dict[str, str] = {}
    if mode not in MODES:
        return {"mode": f"Unknown mode {mode!r}: choose one of {', '.join(ENDPOINTS)}."}

    spec = _model(mode, params, errors)

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

    for flag in ("bgm", "audio"):
        if params.get(flag) is not None and not isinstance(params[flag], bool):
            errors[flag] = "Must be true or false."
    if spec and params.get("bgm") is True and not spec.bgm:
        errors["bgm"] = f"{spec.label} doesn't add background music."

    if params.get("is_rec") is not None and not isinstance(params["is_rec"], bool):
        errors["is_rec"] = "Must be true or false."
    _common(params, errors)
    return errors


def _model(mode: str, params: dict, errors: dict[str, str]) -> ModelSpec | None:
    """The model row for ``mode``, or None with the reason in ``errors["model"]``."""
    model = params.get("model")
    spec = MODELS.get(model) if isinstance(model, str) else None
    if not model:
        errors["model"] = "Choose a model."
    elif spec is None:
        errors["model"] = f"Unknown model {model!r}."
    elif mode not in spec.durations:
        takes = ", ".join(ENDPOINTS[m].lower() for m in spec.modes)
        errors["model"] = f"{spec.label} can't do {ENDPOINTS[mode].lower()}; it takes {takes}."
        spec = None
    return spec


def _common(params: dict, errors: dict[str, str]) -> None:
    """What every endpoint shares: our payload, the callback URL, the true/false flags."""
    for flag in ("off_peak", "watermark"):
        if params.get(flag) is not None and not isinstance(params[flag], bool):
            errors[flag] = "Must be true or false."
    payload = params.get("payload")
    if payload is not None and (not isinstance(payload, str) or len(payload.encode()) > PAYLOAD_MAX):
        errors["payload"] = "The payload must be a string of at most 1 MiB."
    callback = params.get("callback_url")
    if callback is not None and not _is_http_url(callback):
        errors["callback_url"] = "The callback URL must be an http(s) URL."


# First-wave fields the second-wave endpoints don't take (sent anyway: FieldUnwanted).
_UNWANTED = {
    EXTEND: ("aspect_ratio", "style", "movement_amplitude", "bgm", "audio", "is_rec", "upscale_resolution",
             "start_image", "image_settings"),
    UPSCALE: ("model", "prompt", "images", "duration", "resolution", "aspect_ratio", "style", "movement_amplitude",
              "bgm", "audio", "is_rec", "seed", "start_image", "image_settings"),
    MULTIFRAME: ("images", "duration", "aspect_ratio", "style", "movement_amplitude", "bgm", "audio", "is_rec",
                 "video_creation_id", "video_url", "upscale_resolution"),
}


def _unwanted(mode: str, params: dict, errors: dict[str, str]) -> None:
    for name in _UNWANTED[mode]:
        if name in params and name not in errors:
            errors[name] = f"{ENDPOINTS[mode]} doesn't take {name}; leave it out."


def _prompt(params: dict, errors: dict[str, str], name: str = "prompt") -> None:
    prompt = params.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        errors[name] = "The prompt must be text."
    elif len(prompt or "") > PROMPT_MAX:
        errors[name] = f"The prompt is {len(prompt)} characters long; the limit is {PROMPT_MAX}."


def _source(params: dict, errors: dict[str, str]) -> None:
    """``video_creation_id`` (a creation's id) or ``video_url`` (a public MP4): one is needed."""
    creation, url = params.get("video_creation_id"), params.get("video_url")
    if creation is not None and not (isinstance(creation, str | int) and not isinstance(creation, bool)
                                     and str(creation).strip() and len(str(creation)) <= 64):
        errors["video_creation_id"] = "The video's creation id must be the id a query gave it."
    elif url is not None and not _is_http_url(url):
        errors["video_url"] = "The video URL must be a public http(s) URL of an MP4."
    elif creation is None and url is None:
        errors["video_creation_id"] = "Name the video: its creation id, or a public URL of it."


def _seconds_and_resolution(mode: str, spec: ModelSpec | None, params: dict, errors: dict[str, str]) -> None:
    duration = params.get("duration") if mode == EXTEND else None  # multiframe's seconds are per key
    if duration is not None:
        if not _is_int(duration):
            errors["duration"] = "The length must be a whole number of seconds."
        elif spec and duration not in spec.durations_for(mode):
            errors["duration"] = (f"{spec.label} adds {describe_durations(spec.durations_for(mode))} to a video, "
                                  f"not {duration}.")
    resolution = params.get("resolution")
    if resolution is not None:
        allowed = spec.resolutions_for(spec.default_duration) if spec else RESOLUTIONS
        if resolution not in allowed:
            errors["resolution"] = f"Resolution must be one of {', '.join(allowed)}."


def _validate_extend(params: dict) -> dict[str, str]:
    """vidu-api.md §2b ``extend``: a finished video, 1-7 seconds added, an optional end frame."""
    errors: dict[str, str] = {}
    spec = _model(EXTEND, params, errors)
    _source(params, errors)
    _prompt(params, errors)
    images = params.get("images")
    if images is not None:
        if not isinstance(images, list):
            errors["images"] = "Images must be a list."
        elif len(images) > EXTEND_MAX_IMAGES:
            errors["images"] = f"Extend takes at most one image, the end frame; got {len(images)}."
        elif not all(is_image_reference(i) for i in images):
            errors["images"] = "The end frame must be a png, jpeg or webp file (a URL or a data URI)."
    _seconds_and_resolution(EXTEND, spec, params, errors)
    seed = params.get("seed")
    if seed is not None and not (_is_int(seed) and 0 <= seed <= SEED_MAX):
        errors["seed"] = SEED_MESSAGE
    _unwanted(EXTEND, params, errors)
    _common(params, errors)
    return errors


def _validate_upscale(params: dict) -> dict[str, str]:
    """vidu-api.md §2b ``upscale-new``: a finished video and the resolution to raise it to; no model."""
    errors: dict[str, str] = {}
    _source(params, errors)
    target = params.get("upscale_resolution")
    if target is not None and target not in UPSCALE_RESOLUTIONS:
        errors["upscale_resolution"] = f"Upscale makes {', '.join(UPSCALE_RESOLUTIONS)}, not {target!r}."
    _unwanted(UPSCALE, params, errors)
    _common(params, errors)
    return errors


def _validate_multiframe(params: dict) -> dict[str, str]:
    """vidu-api.md §2b ``multiframe``: a start image, then 2-9 keys, each an image, a prompt and seconds.

    A key's problem is reported under ``image_settings.<field>`` naming the key's number, so a
    form can show it beside the field it concerns.
    """
    errors: dict[str, str] = {}
    spec = _model(MULTIFRAME, params, errors)
    start = params.get("start_image")
    if start is None or start == "":
        errors["start_image"] = "Pick the start image: the first frame of the shot."
    elif not is_image_reference(start):
        errors["start_image"] = "The start image must be a png, jpeg or webp file (a URL or a data URI)."
    keys = params.get("image_settings")
    low, high = MULTIFRAME_KEYS
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        errors["image_settings"] = f"Keyframes need a list of {low} to {high} key images, each with its settings."
        keys = []
    elif not low <= len(keys) <= high:
        errors["image_settings"] = f"Keyframes take {low} to {high} key images after the start image; got {len(keys)}."
    seconds = spec.durations_for(MULTIFRAME) if spec else _span(2, 7)
    for number, key in enumerate(keys, 1):
        image, prompt, duration = key.get("key_image"), key.get("prompt"), key.get("duration")
        if "image_settings.key_image" not in errors and not is_image_reference(image):
            errors["image_settings.key_image"] = f"Key {number}: the image must be a png, jpeg or webp file."
        if "image_settings.prompt" not in errors:
            if prompt is not None and not isinstance(prompt, str):
                errors["image_settings.prompt"] = f"Key {number}: the prompt must be text."
            elif len(prompt or "") > PROMPT_MAX:
                errors["image_settings.prompt"] = f"Key {number}: the prompt is over {PROMPT_MAX} characters."
        if "image_settings.duration" not in errors and duration is not None and (
                not _is_int(duration) or duration not in seconds):
            errors["image_settings.duration"] = (
                f"Key {number}: the seconds to reach it must be {describe_durations(seconds)}, not {duration}.")
    _seconds_and_resolution(MULTIFRAME, spec, params, errors)
    seed = params.get("seed")
    if seed is not None and not (_is_int(seed) and 0 <= seed <= SEED_MAX):
        errors["seed"] = SEED_MESSAGE
    _unwanted(MULTIFRAME, params, errors)
    _common(params, errors)
    return errors


MORE = {EXTEND: _validate_extend, UPSCALE: _validate_upscale, MULTIFRAME: _validate_multiframe}


# --- rules that need the source video (its length, frame rate and frame size) ----------------


def check_source(endpoint: str, seconds: float, fps: float = 0) -> dict[str, str]:
    """What stops ``endpoint`` from taking a finished video ``seconds`` long at ``fps`` (0: unknown)."""
    if endpoint == EXTEND:
        low, high = EXTEND_SOURCE_SECONDS
        if not low <= seconds <= high:
            return {"video": f"Vidu extends videos {low} to {high} seconds long; this one is {seconds:g} s."}
    if endpoint == UPSCALE:
        if seconds > UPSCALE_MAX_SECONDS:
            return {"video": f"Vidu upscales videos up to {UPSCALE_MAX_SECONDS} seconds long; this one is {seconds:g} s."}
        if fps >= UPSCALE_MAX_FPS:
            return {"video": f"Vidu upscales videos under {UPSCALE_MAX_FPS} fps; this one is {fps:g} fps."}
    return {}


def frame_side(width: int | None, height: int | None) -> int:
    """The short side of a frame (a portrait 1080×1920 video is 1080p), 0 when unknown."""
    return min(width, height) if width and height else 0


def upscale_choices(source_side: int) -> list[str]:
    """The upscale resolutions above a source whose frame's short side is ``source_side``."""
    return [name for name, side in UPSCALE_RESOLUTIONS.items() if side > source_side]


def check_upscale(target: str, source_side: int) -> dict[str, str]:
    """A 400 of its own: upscaling to a resolution not above the source's."""
    side = UPSCALE_RESOLUTIONS.get(target)
    if side is not None and side <= source_side:
        return {"upscale_resolution": f"The video is already {source_side}p; pick a resolution above it."}
    return {}


def _image_count_message(mode: str, low: int, high: int, got: int) -> str:
    if high == 0:
        return "Text to video takes no images; pick an image mode to use them."
    if low == high:
        want = "one image" if low == 1 else f"{low} images (the first and the last frame)"
        return f"{MODES[mode]} needs exactly {want}; got {got}."
    return f"{MODES[mode]} takes {low} to {high} images; got {got}."
