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
PARAM_FIELDS = ("aspect_ratio", "movement_amplitude", "style", "seed", "bgm", "audio", "off_peak", "watermark")


class TaskRejected(Exception):
    """The request can't become a task; ``errors`` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def check_images(mode: str, files: list) -> list[images.ImageInfo]:
    """Inspect uploaded images (bytes or open files, one at a time: none is read whole into
    memory); raise TaskRejected({"images": ...}) on the first bad one."""
    infos = []
    for n, data in enumerate(files, start=1):
        try:
            infos.append(images.inspect(data))
        except images.ImageRejected as exc:
            message = str(exc)
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
    # The validator counts images; real contents are checked by check_images below.
    errors = catalog.validate(mode, {**params, "images": ["https://upload.invalid/x.png"] * len(files)})
    if errors:
        raise TaskRejected(errors)
    files = [ContentFile(f) if isinstance(f, bytes) else f for f in files]
    infos = check_images(mode, [_opened(f) for f in files])
    spec = catalog.MODELS[params["model"]]
    duration = params.get("duration") or spec.default_duration
    resolution = params.get("resolution") or spec.default_resolution_for(duration)
    kept = {k: params[k] for k in PARAM_FIELDS if params.get(k) is not None}
    estimate = spend.estimate(team, spec.name, duration, resolution, kept).credits
    with transaction.atomic():
        _reserve(team, creator, estimate)
        prompt = Prompt.objects.create(team=team, author=creator, text=params.get("prompt") or "")
        task = GenerationTask.objects.create(
            team=team,
            creator=creator,
            prompt=prompt,
            mode=mode,
            model=spec.name,
            duration=duration,
            resolution=resolution,
            params=kept,
            estimate=estimate,
            project=project,
            source=source,
            **_target(),
            # The submission is enqueued below; the sweep re-enqueues it only if it got lost.
            next_attempt_at=timezone.now() + timing.seconds(timing.ENQUEUE_GRACE),
        )
        for position, (data, info) in enumerate(zip(files, infos, strict=True)):
            image = TaskImage(task=task, position=position, mime=info.mime, width=info.width, height=info.height)
            ext = info.mime.split("/")[1]
            data.seek(0)
            image.file.save(f"{task.uuid}-{position}.{ext}", data, save=True)
        TaskEvent.objects.create(task=task, state=State.PENDING)
        transaction.on_commit(lambda: jobs.submit(task.id))
    return task


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
