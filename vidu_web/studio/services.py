"""Actions that touch several models: verb-first plain functions the views and admin call."""

import logging

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from vidu_web.teams import spend
from vidu_web.vidu import catalog, images

from . import jobs, providers, timing
from .models import POLLED_STATES, GenerationTask, Prompt, State, TaskEvent, TaskImage

log = logging.getLogger(__name__)

# The request fields kept in GenerationTask.params (model, duration and resolution have columns).
PARAM_FIELDS = ("aspect_ratio", "movement_amplitude", "style", "seed", "bgm", "audio", "off_peak", "watermark", "is_rec")
# Keyframes keep each key's prompt and seconds, in the order of its key images.
MULTIFRAME_FIELDS = ("key_prompts", "key_durations", "seed")
PLACEHOLDER = "https://upload.invalid/x.png"


class TaskRejected(Exception):
    """The request can't become a task; ``errors`` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def check_images(mode: str, files: list) -> list[images.ImageInfo]:
    """Inspect uploaded images (bytes or open files, one at a time: none is read whole into
    memory); raise TaskRejected({"images": ...}) on the first bad one (keyframes: on
    ``start_image`` or ``key_images``, naming the key)."""
    infos = []
    for n, data in enumerate(files, start=1):
        try:
            infos.append(images.inspect(data))
        except images.ImageRejected as exc:
            message = str(exc)
            if mode == catalog.MULTIFRAME:
                field = "start_image" if n == 1 else "key_images"
                if n > 1 and message.startswith("The image"):
                    message = f"Key image {n - 1}" + message.removeprefix("The image")
                raise TaskRejected({field: message}) from None
            if len(files) > 1 and message.startswith("The image"):
                message = f"Image {n}" + message.removeprefix("The image")
            raise TaskRejected({"images": message}) from None
    if mode == catalog.START_END and len(infos) == 2:
        try:
            images.check_start_end(*infos)
        except images.ImageRejected as exc:
            raise TaskRejected({"images": str(exc)}) from None
    return infos


def create_task(team, creator, mode: str, params: dict, files: list, *, project=None, source=None) -> GenerationTask:
    """Validate, store a Prompt, a pending task and its images, and enqueue its submission.

    ``project``: the project it goes in (checked by the caller); ``source``: the video it was
    made from (a remix), so it joins that video's family.

    ``params`` uses Vidu's field names and JSON types; ``files`` are uploaded files, stored
    files or bytes, in the order the mode needs. Nothing is stored unless everything is valid.
    The count is checked before any file is opened, and each file is checked and then copied
    in chunks from where it lies (an upload's temporary file), so a create with seven 20 MB
    images never holds them in memory together (design.md, "Quality bars: Storage").
    """
    if mode == catalog.MULTIFRAME:
        return _create_keyframes(team, creator, params, files, project=project, source=source)
    # The validator counts images; real contents are checked by check_images below.
    errors = catalog.validate(mode, {**params, "images": [PLACEHOLDER] * len(files)})
    if errors:
        raise TaskRejected(errors)
    spec = catalog.MODELS[params["model"]]
    duration = params.get("duration") or spec.default_duration
    return _store_task(team, creator, params.get("prompt") or "", files, mode=mode, project=project, source=source,
                       model=spec.name, duration=duration,
                       resolution=params.get("resolution") or spec.default_resolution_for(duration),
                       params={k: params[k] for k in PARAM_FIELDS if params.get(k) is not None})


def _create_keyframes(team, creator, params: dict, files: list, *, project=None, source=None) -> GenerationTask:
    """Keyframes: ``files`` are the start image then the key images; ``params`` carries
    ``key_prompts`` and ``key_durations`` in the key images' order."""
    prompts, seconds = list(params.get("key_prompts") or []), list(params.get("key_durations") or [])
    keys = max(len(files) - 1, 0)
    prompts += [""] * (keys - len(prompts))
    spec = catalog.MODELS.get(params.get("model"))
    default = spec.default_duration if spec else 5
    seconds += [default] * (keys - len(seconds))
    if len(prompts) > keys or len(seconds) > keys:
        raise TaskRejected({"key_images": "Each key needs its image: pick one for every prompt and length."})
    request = {k: params[k] for k in ("model", "resolution", "seed") if params.get(k) is not None}
    request["start_image"] = PLACEHOLDER if files else ""
    request["image_settings"] = [{"key_image": PLACEHOLDER, "prompt": p, "duration": d} for p, d in zip(prompts, seconds, strict=True)]
    errors = catalog.validate(catalog.MULTIFRAME, request)
    if errors:
        renamed = {"image_settings": "key_images", "image_settings.key_image": "key_images",
                   "image_settings.prompt": "key_prompts", "image_settings.duration": "key_durations"}
        raise TaskRejected({renamed.get(k, k): v for k, v in errors.items()})
    stored = {"key_prompts": prompts, "key_durations": seconds, **({"seed": params["seed"]} if params.get("seed") else {})}
    return _store_task(team, creator, " / ".join(p for p in prompts if p), files, mode=catalog.MULTIFRAME,
                       project=project, source=source, model=spec.name, duration=sum(seconds),
                       resolution=params.get("resolution") or spec.default_resolution, params=stored)


def _store_task(team, creator, prompt_text: str, files: list, *, mode: str, project=None, source=None,
                **fields) -> GenerationTask:
    """Check the images, reserve the estimate against the budget and ``creator``'s cap, then
    store a Prompt, a pending task and its images; enqueue its submission."""
    files = [ContentFile(f) if isinstance(f, bytes) else f for f in files]
    infos = check_images(mode, [_opened(f) for f in files])
    estimate = spend.estimate(team, fields["model"], fields["duration"], fields["resolution"], fields["params"]).credits
    with transaction.atomic():
        _reserve(team, creator, estimate)
        prompt = Prompt.objects.create(team=team, author=creator, text=prompt_text)
        task = GenerationTask.objects.create(
            team=team,
            creator=creator,
            prompt=prompt,
            mode=mode,
            estimate=estimate,
            project=project,
            source=source,
            # A private video's extensions and upscales stay private.
            is_private=bool(source and source.is_private and mode in (catalog.EXTEND, catalog.UPSCALE)),
            **fields,
            **_target(),
            # The submission is enqueued below; the sweep re-enqueues it only if it got lost.
            next_attempt_at=timezone.now() + timing.seconds(timing.ENQUEUE_GRACE),
        )
        for position, (data, info) in enumerate(zip(files, infos, strict=True)):
            image = TaskImage(task=task, position=position, mime=info.mime, width=info.width, height=info.height)
            ext = info.mime.split("/")[1]
            data.seek(0)
            image.file.save(f"{task.uuid}-{position}.{ext}", data, save=True)
        TaskEvent.objects.create(task=task, state=State.PENDING, note=f"from {source.uuid}" if source else "")
        transaction.on_commit(lambda: jobs.submit(task.id))
    return task


# --- versions of a finished video (vidu-api.md §2b) ------------------------------------------

def extend_task(source: GenerationTask, creator, params: dict, end_frame=None) -> GenerationTask:
    """A new task that continues ``source`` by ``params["duration"]`` seconds, optionally towards
    ``end_frame`` (an upload, a stored file or bytes), linked to it as a newer version.

    The end frame may be a poster from the team's gallery (``ExtendForm.end_frame_video``): the
    view finds it through the access check and it arrives here as a stored file, checked as an
    image like an upload (``check_images``) and copied into the new task's own input."""
    creation = source.output()
    errors = source.derive_problems(catalog.EXTEND, creation)
    if errors:
        raise TaskRejected(errors)
    model = params.get("model") or catalog.models_for(catalog.EXTEND)[0].name
    request = {"model": model, "video_creation_id": creation.upstream_id, "duration": params.get("duration"),
               "resolution": params.get("resolution"), "prompt": params.get("prompt") or None,
               "images": [PLACEHOLDER] if end_frame is not None else None}
    errors = catalog.validate(catalog.EXTEND, {k: v for k, v in request.items() if v is not None})
    if errors:
        raise TaskRejected(errors)
    return _store_task(source.team, creator, params.get("prompt") or "", [end_frame] if end_frame is not None else [],
                       mode=catalog.EXTEND, project=source.project, source=source,
                       **_extend_fields(creation, model, params.get("duration"), params.get("resolution")))


def _extend_fields(creation, model: str, duration: int | None, resolution: str | None) -> dict:
    """The columns an extension of ``creation`` is stored (and priced) with."""
    spec = catalog.MODELS[model]
    return {"model": model, "duration": duration or spec.default_duration,
            "resolution": resolution or spec.default_resolution,
            "params": {"video_creation_id": creation.upstream_id}}


def upscale_task(source: GenerationTask, creator, upscale_resolution: str) -> GenerationTask:
    """A new task that raises ``source`` to ``upscale_resolution``, linked to it as a newer version."""
    creation = source.output()
    errors = source.derive_problems(catalog.UPSCALE, creation)
    if errors:
        raise TaskRejected(errors)
    errors = catalog.validate(catalog.UPSCALE, {"video_creation_id": creation.upstream_id,
                                                "upscale_resolution": upscale_resolution})
    if not errors and upscale_resolution not in source.upscale_choices(creation):
        errors = {"upscale_resolution": f"This video is already {upscale_resolution} or sharper; "
                                        f"pick one of {', '.join(source.upscale_choices(creation)) or 'none'}."}
    if errors:
        raise TaskRejected(errors)
    # The prompt is the source's: an upscale shows the same shot.
    return _store_task(source.team, creator, source.prompt.text, [], mode=catalog.UPSCALE, project=source.project,
                       source=source, **_upscale_fields(source, creation, upscale_resolution))


def _upscale_fields(source, creation, upscale_resolution: str) -> dict:
    """The columns an upscale of ``source`` is stored (and priced) with: no model, its length."""
    return {"model": "", "duration": round(creation.duration or source.duration), "resolution": upscale_resolution,
            "params": {"video_creation_id": creation.upstream_id, "upscale_resolution": upscale_resolution}}


def extend_estimate(source: GenerationTask, creation, model: str, duration: int, resolution: str) -> spend.Estimate:
    """What extending ``source`` with these settings would reserve (the same figure ``extend_task``
    holds against the budget), for the Extend panel before Generate."""
    fields = _extend_fields(creation, model, duration, resolution)
    return spend.estimate(source.team, fields["model"], fields["duration"], fields["resolution"], fields["params"])


def upscale_estimate(source: GenerationTask, creation, upscale_resolution: str) -> spend.Estimate:
    """What upscaling ``source`` to ``upscale_resolution`` would reserve, for the Upscale panel."""
    fields = _upscale_fields(source, creation, upscale_resolution)
    return spend.estimate(source.team, fields["model"], fields["duration"], fields["resolution"], fields["params"])


def _reserve(team, user, estimate) -> None:
    """Hold ``estimate`` against the budget and ``user``'s cap (inside the creating
    transaction), or refuse before anything is made."""
    try:
        spend.reserve(team.pk, user, estimate)
    except spend.LimitReached as exc:
        raise TaskRejected({exc.limit.kind: str(exc)}) from None


def _target() -> dict:
    """Where a new task goes: the provider configured now, kept on the task for good."""
    target = providers.current()
    return {"provider": target.name, "endpoint": target.endpoint}


def _opened(file):
    """``file`` open for reading from its start (an upload, a stored file or ContentFile)."""
    if file.closed:
        file.open("rb")
    file.seek(0)
    return file


# --- actions on an existing task (the UI and the admin call these) ---------------------------

def cancel_task(task: GenerationTask) -> str:
    """Cancel ``task`` if its provider still allows it; returns what to tell the creator.

    A task not yet sent is cancelled here; one the provider holds is cancelled there (one short
    request, with the pipeline's timeouts), which Vidu refuses once it has scheduled the task.
    """
    if task.state == State.PENDING:
        if task.cancel_unsent():
            return "Cancelled before it was sent to Vidu."
        task.refresh_from_db()
    if task.state == State.SUBMITTING:
        return "It is being sent to Vidu right now; try cancelling again in a moment."
    if task.state not in POLLED_STATES or not task.upstream_id:
        return "This task has already finished, so there is nothing to cancel."
    try:
        providers.for_task(task).cancel(task.upstream_id)
    except providers.ProviderError as exc:
        task.count_calls()
        if exc.not_cancellable:
            return "Vidu has already scheduled this task, so it can no longer be cancelled."
        log.warning("task %s: cancel failed: %s", task.uuid, exc)
        return f"Vidu didn't cancel it: {exc.friendly}"
    if not task.cancelled_upstream():
        task.count_calls()
    return "Cancelled; Vidu refunds its credits."


def retry_task(task: GenerationTask, user, *, for_creator: bool = False) -> GenerationTask:
    """The task that will run again: the same one if it never reached Vidu, else a copy.

    A submission that Vidu refused (or we never sent) is reset and sent again. A task that
    Vidu accepted, or may have (outcome unknown), is copied into a new task with a new UUID,
    so the old one is never created twice. Either way the estimate is reserved again, and a
    create past the budget or the spender's cap is refused (TaskRejected).
    """
    if not task.can_retry:
        raise TaskRejected({"task": "Only a failed or cancelled task can be tried again."})
    # A teammate's task is tried again as a copy in the name of whoever asks: it is their spend.
    # Staff in the admin act for the creator (``for_creator``): the task stays theirs.
    if task.creator_id == user.id or for_creator:
        with transaction.atomic():
            estimate = spend.estimate_for_task(task).credits
            _reserve(task.team, task.creator, estimate)
            if task.reset_for_retry(user, estimate=estimate):
                transaction.on_commit(lambda: jobs.submit(task.id))
                return task
    # One copy per failed task: a second click (or a second tab) gets the first copy back.
    existing = GenerationTask.objects.filter(retry_of=task).first()
    if existing:
        return existing
    try:
        return copy_task(task, user)
    except IntegrityError:  # a concurrent retry made the copy first
        return GenerationTask.objects.get(retry_of=task)


def copy_task(task: GenerationTask, user) -> GenerationTask:
    """A new pending task with the same prompt, parameters and input images, made (and paid
    for) by ``user``."""
    estimate = spend.estimate_for_task(task).credits
    with transaction.atomic():
        _reserve(task.team, user, estimate)
        copy = GenerationTask.objects.create(
            team=task.team, creator=user, prompt=task.prompt, mode=task.mode, model=task.model,
            duration=task.duration, resolution=task.resolution, params=task.params, estimate=estimate, **_target(),
            retry_of=task, source=task, project_id=task.project_id,
            is_private=task.is_private and task.mode in (catalog.EXTEND, catalog.UPSCALE),
            next_attempt_at=timezone.now() + timing.seconds(timing.ENQUEUE_GRACE))
        for image in task.images.all():
            with image.file.open("rb") as f:
                data = f.read()
            new = TaskImage(task=copy, position=image.position, mime=image.mime, width=image.width, height=image.height)
            new.file.save(f"{copy.uuid}-{image.position}.{image.mime.split('/')[1]}", ContentFile(data), save=True)
        TaskEvent.objects.create(task=copy, state=State.PENDING, note=f"copy of {task.uuid}")
        transaction.on_commit(lambda: jobs.submit(copy.id))
    return copy


def move_to_project(tasks, project) -> int:
    """Put ``tasks`` (a queryset the caller access-checked) in ``project`` (None: in none); a
    video is in one project at a time, so this takes it out of any other. Returns how many."""
    if project is not None:
        tasks = tasks.filter(team_id=project.team_id)
    return tasks.update(project=project, updated_at=timezone.now())


def rearchive(task: GenerationTask) -> str:
    """Copy a finished task's video again: after a failed archive, or when our copy went missing."""
    if task.state not in (State.SUCCEEDED, State.FAILED) or not task.upstream_id or not task.creations.exists():
        return "Only a task Vidu finished can be saved again."
    for creation in task.creations.all():
        for field in ("video", "cover"):
            stored = getattr(creation, field)
            if stored and not stored.storage.exists(stored.name):
                setattr(creation, field, "")
        creation.archive_attempts, creation.archive_error = 0, ""
        creation.save(update_fields=["video", "cover", "archive_attempts", "archive_error"])
    if not task.reopen_archive():
        return "The task changed meanwhile; try again."
    transaction.on_commit(lambda: jobs.archive(task.id))
    return "Saving the video again."


def poll_now(task: GenerationTask) -> str:
    """Ask the sweep to query this task at its next turn (within about a second)."""
    if task.poll_soon():
        return "It will be checked with Vidu right away."
    return "Only a task Vidu is working on can be checked."
