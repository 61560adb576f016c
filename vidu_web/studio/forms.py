"""The create form: its fields follow the mode and the model, from the shared model table.

The form only turns what was typed into Vidu's JSON types and drops what the chosen model
doesn't take; `catalog.validate` (through `services.create_task`) has the last word. When the
mode, model or length changes, ``changes`` says which asked-for values the new choice doesn't
offer and what they became, so nothing is reset silently.

``style`` is offered for text to video on the models that honour it (``ModelSpec.style``; Vidu
ignores it on q2 and q3, so today that is Vidu Q1 alone), rather than dropped: Vidu Q1's anime
style is a real choice with no other way to ask for it.
"""

from __future__ import annotations

from django import forms
from django.conf import settings

from vidu_web.vidu import catalog

from .models import State

SEED_MAX = catalog.SEED_MAX
FLAGS = ("bgm", "audio", "off_peak", "watermark")
MOVEMENT_LABELS = {"auto": "Auto", "small": "Small", "medium": "Medium", "large": "Large"}
STYLE_LABELS = {"general": "General", "anime": "Anime"}
RATIO_LABELS = {"16:9": "16:9 landscape", "9:16": "9:16 portrait", "1:1": "1:1 square", "3:4": "3:4", "4:3": "4:3"}
IMAGE_HINTS = {
    catalog.TEXT: "",
    catalog.IMAGE: "One image: the first frame.",
    catalog.START_END: "Two images: the first frame, then the last frame (same shape).",
    catalog.REFERENCE: "1 to {high} reference images of the subjects to keep.",
    catalog.MULTIFRAME: "",
}
# Rows of key images the keyframes form shows (the first ones open, the rest under "More keys").
KEY_ROWS = catalog.MULTIFRAME_KEYS[1]
KEY_ROWS_OPEN = 3


def _pick(value, allowed, default):
    return value if value in allowed else default


class CreateForm(forms.Form):
    """Built from the submitted (or initial) values: ``mode`` and ``model`` decide the rest."""

    def __init__(self, data=None, files=None, initial=None, kept_images=()):
        super().__init__(data=data, files=files, initial=initial or {})
        # A keyframes remix: the source's stored images (start, then keys), used where none is picked.
        self.kept = list(kept_images)
        source = data if data is not None else (initial or {})
        self.mode = _pick(source.get("mode"), catalog.CREATE_MODES, catalog.TEXT)
        self.is_keyframes = self.mode == catalog.MULTIFRAME
        models = catalog.models_for(self.mode)
        self.spec = catalog.MODELS.get(source.get("model")) if source.get("model") in {m.name for m in models} else None
        self.spec = self.spec or models[0]
        durations = self.spec.durations_for(self.mode)
        try:
            wanted = int(source.get("duration"))
        except (TypeError, ValueError):
            wanted = None
        self.duration = _pick(wanted, durations, self.spec.default_duration if self.spec.default_duration in durations else durations[0])
        self.changes = self._changes(source, wanted) if data is None else []
        resolutions = self.spec.resolutions_for(self.duration)
        low, high = self.spec.image_count(self.mode)
        if self.is_keyframes:  # the start image and 2-9 key images
            low, high = 1 + catalog.MULTIFRAME_KEYS[0], 1 + catalog.MULTIFRAME_KEYS[1]
        self.image_range = (low, high)
        self.image_hint = IMAGE_HINTS[self.mode].format(high=high)

        f = self.fields
        f["mode"] = forms.ChoiceField(choices=list(catalog.CREATE_MODES.items()), initial=self.mode)
        f["prompt"] = forms.CharField(
            required=self.mode in catalog.PROMPT_REQUIRED,
            max_length=catalog.PROMPT_MAX,
            strip=True,
            widget=forms.Textarea(attrs={"rows": 4}),
            error_messages={"required": "Describe the shot: this mode needs a prompt."},
        )
        f["model"] = forms.ChoiceField(
            choices=[(m.name, m.label) for m in models], initial=self.spec.name, required=False
        )
        f["duration"] = forms.TypedChoiceField(
            choices=[(d, f"{d} s") for d in durations], coerce=int, initial=self.duration, required=False, empty_value=None
        )
        f["resolution"] = forms.ChoiceField(
            choices=[(r, r) for r in resolutions], initial=self.spec.default_resolution_for(self.duration), required=False
        )
        if self.mode in catalog.RATIO_MODES:
            f["aspect_ratio"] = forms.ChoiceField(
                choices=[(r, RATIO_LABELS[r]) for r in catalog.ASPECT_RATIOS], initial="16:9", required=False
            )
        if self.spec.movement:
            f["movement_amplitude"] = forms.ChoiceField(
                choices=[(m, MOVEMENT_LABELS[m]) for m in catalog.MOVEMENTS], initial="auto", required=False
            )
        if self.mode in catalog.STYLE_MODES and self.spec.style:
            f["style"] = forms.ChoiceField(
                choices=[(s, STYLE_LABELS[s]) for s in catalog.STYLES], initial="general", required=False
            )
        f["seed"] = forms.IntegerField(
            required=False,
            min_value=0,
            max_value=SEED_MAX,
            error_messages={key: catalog.SEED_MESSAGE for key in ("invalid", "min_value", "max_value")},
        )
        if self.is_keyframes:
            # Keyframes take a model, a resolution and a seed; each key brings its own seconds.
            for name in ("duration", "movement_amplitude"):
                f.pop(name, None)
        else:
            if self.spec.bgm:
                f["bgm"] = forms.BooleanField(required=False, label="Background music")
            f["audio"] = forms.BooleanField(required=False, initial=self.spec.audio_default, label="Audio")
            f["off_peak"] = forms.BooleanField(required=False, label="Off-peak (cheaper, within 48 h)")
            f["watermark"] = forms.BooleanField(required=False, label="Watermarked copy")
        if self.mode in catalog.REC_MODES:
            f["is_rec"] = forms.BooleanField(required=False, label="Let Vidu write the prompt")
        self.rec_credits = catalog.REC_CREDITS
        self.images = list(files.getlist("images")) if files is not None else []
        self.dropped_images = 0
        keyed = self.spec if self.is_keyframes else catalog.models_for(catalog.MULTIFRAME)[0]
        self.key_seconds = keyed.durations_for(catalog.MULTIFRAME)
        self.key_rows = self._key_rows(data, files)
        if data is None:
            self._clamp_initial()

    def _changes(self, asked, wanted_duration) -> list[str]:
        """What the chosen mode and model changed among the values asked for, and why."""
        spec, mode = self.spec, self.mode
        changes = []
        model = asked.get("model")
        if model in catalog.MODELS and model != spec.name:
            changes.append(f"Model: {catalog.MODELS[model].label} doesn't make {catalog.CREATE_MODES[mode].lower()}, "
                           f"so it is {spec.label}.")
        if wanted_duration is not None and wanted_duration != self.duration and not self.is_keyframes:
            allowed = catalog.describe_durations(spec.durations_for(mode))
            changes.append(f"Length: {spec.label} makes {catalog.CREATE_MODES[mode].lower()} clips of {allowed}, "
                           f"so {wanted_duration} s became {self.duration} s.")
        resolution, allowed = asked.get("resolution"), spec.resolutions_for(self.duration)
        if resolution in catalog.RESOLUTIONS and resolution not in allowed:
            changes.append(f"Resolution: {spec.label} at {self.duration} s comes in {', '.join(allowed)}, "
                           f"so {resolution} became {spec.default_resolution_for(self.duration)}.")
        if asked.get("movement_amplitude") in ("small", "medium", "large") and not spec.movement:
            changes.append(f"Movement: {spec.label} doesn't take it, so it is left out.")
        if asked.get("bgm") in (True, "on", "true", "1") and not spec.bgm:
            changes.append(f"Background music: {spec.label} doesn't add it, so it is off.")
        if asked.get("style") == "anime" and not (mode in catalog.STYLE_MODES and spec.style):
            changes.append(f"Style: {spec.label} doesn't take it in this mode, so it is left out.")
        return changes

    def _clamp_initial(self):
        """Drop initial values the current mode and model don't offer (their default shows)."""
        self.initial = dict(self.initial)
        for name, field in self.fields.items():
            choices = getattr(field, "choices", None)
            if choices is not None and name in self.initial:
                if str(self.initial[name]) not in {str(value) for value, _ in choices}:
                    del self.initial[name]
        self.initial.update(mode=self.mode, model=self.spec.name, duration=self.duration)

    def _key_rows(self, data, files) -> list[dict]:
        """The keyframe rows as typed (so a page with errors keeps them), or a remix's keys with
        their prompts, seconds and kept images; at least KEY_ROWS."""
        if data is not None and hasattr(data, "getlist"):
            prompts, seconds = data.getlist("key_prompts"), data.getlist("key_durations")
        else:  # a remix's initial values (lists); a plain /create/?... carries none
            prompts, seconds = (self.initial.get(name) for name in ("key_prompts", "key_durations"))
            prompts, seconds = (v if isinstance(v, list) else [] for v in (prompts, seconds))
        self.kept_keys = self._kept_keys(data)
        rows = [{"prompt": str(prompts[i]) if i < len(prompts) else "",
                 "seconds": str(seconds[i]) if i < len(seconds) else str(self.spec.default_duration),
                 "kept": self.kept_keys[i] if i < len(self.kept_keys) else None}
                for i in range(max(KEY_ROWS, len(prompts), len(seconds)))]
        for number, row in enumerate(rows, 1):
            row.update(number=number, open=number <= KEY_ROWS_OPEN)
        return rows[:KEY_ROWS]

    def _kept_keys(self, data) -> list:
        """A keyframes remix's stored key images in the order the rows hold them: as posted
        (``key_kept``, each row's stored position, which "Up" moves with its row), else stored."""
        if not self.is_keyframes:
            return []
        keys = {image.position: image for image in self.kept[1:]}
        order = []
        for value in data.getlist("key_kept") if data is not None and hasattr(data, "getlist") else ():
            try:
                position = int(value)
            except ValueError:
                continue
            if position in keys and position not in order:
                order.append(position)
        if sorted(order) != sorted(keys):
            order = sorted(keys)  # missing or tampered with: the stored order
        return [keys[position] for position in order]

    def _clean_keyframes(self, files):
        """Start image, key images in order, each key's prompt and seconds; errors beside each."""
        start = files.getlist("start_image") if files is not None else []
        keys = files.getlist("key_images") if files is not None else []
        # A remix keeps the source's start image unless another is picked, and its key images
        # unless new ones are: new key images replace all of the kept ones.
        kept_start = [self.kept[0].file] if self.kept and not start else []
        kept_keys = [image.file for image in self.kept_keys] if not keys else []
        count = len(keys) or len(kept_keys)
        prompts = [row["prompt"].strip() for row in self.key_rows]
        seconds = [row["seconds"].strip() for row in self.key_rows]
        # Rows past the last key image are the form's spare rows: left empty, they are dropped.
        spare_prompts = [p for p in prompts[count:] if p]
        if spare_prompts:
            self._list_error("key_images", f"{len(spare_prompts)} key prompt(s) have no key image: pick one for each key.")
        self.key_prompts, self.key_durations = prompts[:count], []
        for number, value in enumerate(seconds[:count], 1):
            try:
                self.key_durations.append(int(value) if value else self.spec.default_duration)
            except ValueError:
                self._list_error("key_durations", f"Key {number}: the seconds must be a whole number.")
                break
        if len(start) + len(kept_start) != 1:
            self._list_error("start_image", "Pick one start image: the first frame of the shot.")
        for name, upload in [("start_image", f) for f in start] + [("key_images", f) for f in keys]:
            if upload.size > settings.UPLOAD_MAX_BYTES or upload.size == 0:
                mb = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
                self._list_error(name, f"{upload.name} is empty or larger than {mb} MB.")
                break
        self.images = (list(start[:1]) or kept_start) + (list(keys) or kept_keys)

    def _list_error(self, name, message):
        """An error on a field the form draws itself (files and repeated fields)."""
        self.errors.setdefault(name, self.error_class()).append(message)

    def clean(self):
        cleaned = super().clean()
        if self.is_keyframes:
            self._clean_keyframes(self.files if self.files else None)
            return cleaned
        low, high = self.image_range
        if self.images and high == 0:
            # Images a mode doesn't take are left out, never a reason to refuse: they may sit in
            # a file input hidden by the mode switch (without the page script, nothing clears it).
            self.dropped_images, self.images = len(self.images), []
        for n, upload in enumerate(self.images, start=1):
            if upload.size > settings.UPLOAD_MAX_BYTES:
                mb = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
                self._image_error(f"Image {n} ({upload.name}) is larger than {mb} MB.")
                break
            if upload.size == 0:
                self._image_error(f"Image {n} ({upload.name}) is empty.")
                break
        return cleaned

    def priced(self) -> tuple[str, int, str, dict]:
        """The settings a price depends on, as they stand (typed or defaulted): model, length,
        resolution and the flags (audio, off-peak), for the estimate beside Generate."""
        resolution = self["resolution"].value()
        if resolution not in self.spec.resolutions_for(self.duration):
            resolution = self.spec.default_resolution_for(self.duration)
        # Keyframes take neither flag (their form has no such fields).
        flags = {name: self[name].value() in (True, "on", "true", "1", "True")
                 for name in ("audio", "off_peak") if name in self.fields}
        return self.spec.name, self.duration, resolution, flags

    def _image_error(self, message):
        self.errors.setdefault("images", self.error_class()).append(message)

    def params(self) -> dict:
        """Vidu's fields with JSON types, from cleaned data; only what this model takes."""
        data = self.cleaned_data
        if self.is_keyframes:
            params = {"model": self.spec.name, "resolution": data.get("resolution") or self.spec.default_resolution,
                      "key_prompts": self.key_prompts, "key_durations": self.key_durations}
            if data.get("seed"):
                params["seed"] = data["seed"]
            return params
        duration = data.get("duration") or self.duration
        params = {
            "model": self.spec.name,
            "prompt": data.get("prompt", ""),
            "duration": duration,
            "resolution": data.get("resolution") or self.spec.default_resolution_for(duration),
        }
        for name in ("aspect_ratio", "movement_amplitude", "style"):
            if name in self.fields:
                params[name] = data.get(name) or self.fields[name].initial
        if data.get("seed"):
            params["seed"] = data["seed"]
        for flag in FLAGS:
            if flag in self.fields:
                params[flag] = bool(data.get(flag))
        if data.get("is_rec") and "is_rec" in self.fields:
            params["is_rec"] = True  # sent only when asked: it costs more
        return params

    def add_rejection(self, errors: dict[str, str]):
        """Errors from the service, beside their fields (or on top when no field shows them)."""
        for field, message in errors.items():
            self.add_error(field if field in self.fields or field in LIST_FIELDS else None, message)

    def add_error(self, field, error):
        if field in LIST_FIELDS:
            self._list_error(field, str(error))
            return
        super().add_error(field, error)


# Fields the create form draws itself: their errors show beside them, not on top.
LIST_FIELDS = ("images", "start_image", "key_images", "key_prompts", "key_durations")


def initial_from_task(task, keep_seed=False) -> dict:
    """The create form's values for a remix of ``task``: a new (random) seed unless
    ``keep_seed``, since a remix is for a variation ("Reuse seed" is one click away)."""
    initial = {
        "mode": task.mode,
        "prompt": task.prompt.text,
        "model": task.model,
        "duration": task.duration,
        "resolution": task.resolution,
    }
    for key, value in (task.params or {}).items():
        if key in ("aspect_ratio", "movement_amplitude", "style", "is_rec", *FLAGS):
            initial[key] = value
    if task.mode == catalog.MULTIFRAME:
        # Each key's prompt and seconds; its image comes with them (CreateForm's ``kept_images``).
        initial["key_prompts"] = list((task.params or {}).get("key_prompts") or [])
        initial["key_durations"] = list((task.params or {}).get("key_durations") or [])
    if keep_seed and seed_of(task):
        initial["seed"] = seed_of(task)
    return initial


def seed_of(task):
    """The seed that reproduces ``task``: the one Vidu used, else the one asked for (or None)."""
    return task.seed_used or (task.params or {}).get("seed") or None


class ExtendForm(forms.Form):
    """Extend a finished video (vidu-api.md §2b): seconds added, resolution, optional prompt and
    end frame, on the models the table says take it.

    The end frame is an upload (``images``) or a video from the team's gallery
    (``end_frame_video``, its UUID): that video's poster, the cover Vidu made and we archived,
    is used as the frame to end on. ``videos`` is where a picked UUID is looked up: the videos of
    the source's team that the user may see (``queries.team_videos``), so another team's video,
    a teammate's private one or a made-up UUID are all refused alike, as if absent. A picked
    poster passes the same checks as an upload: its size here, then decoded as an image when the
    task is made (``services.check_images``).
    """

    def __init__(self, data=None, files=None, videos=None):
        super().__init__(data=data, files=files)
        models = catalog.models_for(catalog.EXTEND)
        spec = catalog.MODELS.get((data or {}).get("model")) if data else None
        self.spec = spec if spec in models else models[0]
        f = self.fields
        f["model"] = forms.ChoiceField(choices=[(m.name, m.label) for m in models], initial=self.spec.name,
                                       required=False)
        f["duration"] = forms.TypedChoiceField(
            choices=[(d, f"+{d} s") for d in self.spec.durations_for(catalog.EXTEND)], coerce=int,
            initial=self.spec.default_duration, error_messages={"invalid_choice": "Vidu adds 1 to 7 seconds."})
        f["resolution"] = forms.ChoiceField(
            choices=[(r, r) for r in self.spec.resolutions_for(self.spec.default_duration)],
            initial=self.spec.default_resolution)
        f["prompt"] = forms.CharField(required=False, max_length=catalog.PROMPT_MAX, strip=True,
                                      widget=forms.Textarea(attrs={"rows": 2}))
        f["end_frame_video"] = forms.UUIDField(required=False, error_messages={"invalid": GALLERY_FRAME_ABSENT})
        uploads = files.getlist("images") if files is not None else []
        self.end_frames = list(uploads)
        self.videos = videos
        self.picked = None  # the Creation whose poster is the end frame, once cleaned

    def clean(self):
        cleaned = super().clean()
        if len(self.end_frames) > catalog.EXTEND_MAX_IMAGES:
            self.add_error("images", f"Pick one end frame at most; got {len(self.end_frames)}.")
        for upload in self.end_frames:
            if upload.size > settings.UPLOAD_MAX_BYTES or upload.size == 0:
                self.add_error("images", f"The end frame ({upload.name}) is empty or larger than "
                                         f"{settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB.")
        if cleaned.get("end_frame_video"):
            if self.end_frames:
                self.add_error("end_frame_video", "Upload an end frame or pick one from the gallery, not both.")
            else:
                self._pick(cleaned["end_frame_video"])
        return cleaned

    def _pick(self, video_uuid):
        """The poster of the gallery video ``video_uuid``, checked like an upload, or an error beside the picker."""
        task = None
        if self.videos is not None:
            task = self.videos.filter(uuid=video_uuid).prefetch_related("creations").first()
        if task is None:
            self.add_error("end_frame_video", GALLERY_FRAME_ABSENT)
            return
        creation = task.output()
        if task.state != State.SUCCEEDED or creation is None:
            self.add_error("end_frame_video", "That video isn't finished yet, so it has no poster to end on: "
                                              "pick a finished one.")
            return
        try:
            size = creation.cover.size if creation.cover else 0
        except OSError:
            size = 0
        if size == 0 or size > settings.UPLOAD_MAX_BYTES:
            self.add_error("end_frame_video", "That video's poster is missing, empty or larger than "
                                              f"{settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB: pick another.")
            return
        self.picked = creation

    def add_error(self, field, error):
        if field == "images":
            self.errors.setdefault("images", self.error_class()).append(str(error))
            return
        super().add_error(field if field in self.fields else None, error)

    @property
    def end_frame(self):
        """The end frame to send: the upload, or the picked video's stored poster (or None)."""
        if self.end_frames:
            return self.end_frames[0]
        return self.picked.cover if self.picked is not None else None

    def params(self) -> dict:
        data = self.cleaned_data
        return {"model": self.spec.name, "duration": data["duration"], "resolution": data["resolution"],
                "prompt": data.get("prompt") or ""}

    def priced(self) -> tuple[str, int, str]:
        """Model, seconds added and resolution as they stand (typed or defaulted), for the estimate."""
        try:
            duration = int(self["duration"].value())
        except (TypeError, ValueError):
            duration = self.spec.default_duration
        if duration not in self.spec.durations_for(catalog.EXTEND):
            duration = self.spec.default_duration
        resolution = self["resolution"].value()
        if resolution not in self.spec.resolutions_for(self.spec.default_duration):
            resolution = self.spec.default_resolution
        return self.spec.name, duration, resolution

    def add_rejection(self, errors: dict[str, str]):
        for field, message in errors.items():
            if field == "images" and self.picked is not None:
                field = "end_frame_video"  # the service judged the picked poster
            self.add_error(field if field in self.fields or field == "images" else None, message)


GALLERY_FRAME_ABSENT = "That isn't a video in this team's gallery: pick one of those shown."


class UpscaleForm(forms.Form):
    """Upscale a finished video to one of the resolutions above its own (``choices``)."""

    def __init__(self, choices: list[str], data=None):
        super().__init__(data=data)
        self.fields["upscale_resolution"] = forms.ChoiceField(
            choices=[(c, c) for c in choices], initial=choices[0] if choices else None,
            error_messages={"invalid_choice": "Pick a resolution above the video's own: %(value)s isn't."})
        self.choices = choices

    def priced(self) -> str | None:
        """The resolution as it stands (typed, else the first offered), for the estimate; None: none offered."""
        value = self["upscale_resolution"].value()
        return value if value in self.choices else (self.choices[0] if self.choices else None)

    def add_rejection(self, errors: dict[str, str]):
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
