"""Actions that touch several models: verb-first plain functions the views and admin call."""

import logging

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from vidu_web.vidu import catalog, images
from vidu_web.vidu.errors import ViduError

from . import jobs, timing
from .models import OUTCOME_UNKNOWN, POLLED_STATES, GenerationTask, Prompt, State, TaskEvent, TaskImage
from .upstream import get_client, provider

log = logging.getLogger(__name__)

# The request fields kept in GenerationTask.params (model, duration and resolution have columns).
PARAM_FIELDS = ("aspect_ratio", "movement_amplitude", "style", "seed", "bgm", "audio", "off_peak", "watermark")


class TaskRejected(Exception):
    """The request can't become a task; ``errors`` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def check_images(mode: str, files: list[bytes]) -> list[images.ImageInfo]:
    """Inspect uploaded images; raise TaskRejected({"images": ...}) on the first bad one."""
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


def create_task(team, creator, mode: str, params: dict, files: list) -> GenerationTask:
    """Validate, store a Prompt, a pending task and its images, and enqueue its submission.

    ``params`` uses Vidu's field names and JSON types; ``files`` are uploaded files (or bytes),
    in the order the mode needs. Nothing is stored unless everything is valid.
    """
    blobs = [f if isinstance(f, bytes) else _read(f) for f in files]
    # The validator counts images; real contents are checked by check_images below.
    errors = catalog.validate(mode, {**params, "images": ["https://upload.invalid/x.png"] * len(blobs)})
    if errors:
        raise TaskRejected(errors)
    infos = check_images(mode, blobs)
    spec = catalog.MODELS[params["model"]]
    duration = params.get("duration") or spec.default_duration
    resolution = params.get("resolution") or spec.default_resolution_for(duration)
    with transaction.atomic():
        prompt = Prompt.objects.create(team=team, author=creator, text=params.get("prompt") or "")
        task = GenerationTask.objects.create(
            team=team,
            creator=creator,
            prompt=prompt,
            mode=mode,
            model=spec.name,
            duration=duration,
            resolution=resolution,
            params={k: params[k] for k in PARAM_FIELDS if params.get(k) is not None},
            provider=provider().name,
            # The submission is enqueued below; the sweep re-enqueues it only if it got lost.
            next_attempt_at=timezone.now() + timing.seconds(timing.ENQUEUE_GRACE),
        )
        for position, (data, info) in enumerate(zip(blobs, infos, strict=True)):
            image = TaskImage(task=task, position=position, mime=info.mime, width=info.width, height=info.height)
            ext = info.mime.split("/")[1]
            image.file.save(f"{task.uuid}-{position}.{ext}", ContentFile(data), save=True)
        TaskEvent.objects.create(task=task, state=State.PENDING)
        transaction.on_commit(lambda: enqueue_submission(task.id))
    return task


def enqueue_submission(task_id: int) -> None:
    # A broker outage must not turn a saved task into an error page: jobs logs it and the
    # sweep enqueues the task again after ENQUEUE_GRACE.
    jobs.submit(task_id)


def _read(upload) -> bytes:
    upload.seek(0)
    return upload.read()


# --- actions on an existing task (the UI and the admin call these) ---------------------------

NOT_CANCELLABLE = "task state is scheduled, can not cancel"


def cancel_task(task: GenerationTask) -> str:
    """Cancel ``task`` if Vidu still allows it; returns what to tell the creator.

    A task not yet sent is cancelled here; one Vidu holds is cancelled there (one short
    request), which Vidu refuses once it has scheduled the task.
    """
    if task.state == State.PENDING:
        if task.set_state(State.CANCELLED, expected=State.PENDING, err_code="UserCancelled", error="Cancelled."):
            return "Cancelled before it was sent to Vidu."
        task.refresh_from_db()
    if task.state == State.SUBMITTING:
        return "It is being sent to Vidu right now; try cancelling again in a moment."
    if task.state not in POLLED_STATES or not task.vidu_task_id:
        return "This task has already finished, so there is nothing to cancel."
    try:
        GenerationTask.objects.filter(pk=task.pk).update(api_calls=F("api_calls") + 1)
        get_client().cancel(task.vidu_task_id)
    except ViduError as exc:
        if NOT_CANCELLABLE in exc.message or exc.reason == "OperationInProcess":
            return "Vidu has already scheduled this task, so it can no longer be cancelled."
        log.warning("task %s: cancel failed: %s", task.uuid, exc)
        return f"Vidu didn't cancel it: {exc.friendly}"
    task.set_state(State.CANCELLED, expected=POLLED_STATES, err_code="UserCancelled", error="Cancelled.",
                   note="cancelled at Vidu (refunded)")
    return "Cancelled; Vidu refunds its credits."


def retry_task(task: GenerationTask, user) -> GenerationTask:
    """The task that will run again: the same one if it never reached Vidu, else a copy.

    A submission that Vidu refused (or we never sent) is reset and sent again. A task that
    Vidu accepted, or may have (outcome unknown), is copied into a new task with a new UUID,
    so the old one is never created twice.
    """
    if task.state not in (State.FAILED, State.CANCELLED):
        raise TaskRejected({"task": "Only a failed or cancelled task can be tried again."})
    if task.state == State.FAILED and not task.vidu_task_id and task.err_code != OUTCOME_UNKNOWN:
        reset = task.set_state(State.PENDING, expected=State.FAILED, note=f"retried by {user}", attempts=0,
                               err_code="", error="", create_sent_at=None, finished_at=None,
                               next_attempt_at=timezone.now() + timing.seconds(timing.ENQUEUE_GRACE))
        if reset:
            transaction.on_commit(lambda: enqueue_submission(task.id))
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
    """A new pending task with the same prompt, parameters and input images."""
    with transaction.atomic():
        copy = GenerationTask.objects.create(
            team=task.team, creator=user, prompt=task.prompt, mode=task.mode, model=task.model,
            duration=task.duration, resolution=task.resolution, params=task.params, provider=provider().name,
            retry_of=task, next_attempt_at=timezone.now() + timing.seconds(timing.ENQUEUE_GRACE))
        for image in task.images.all():
            with image.file.open("rb") as f:
                data = f.read()
            new = TaskImage(task=copy, position=image.position, mime=image.mime, width=image.width, height=image.height)
            new.file.save(f"{copy.uuid}-{image.position}.{image.mime.split('/')[1]}", ContentFile(data), save=True)
        TaskEvent.objects.create(task=copy, state=State.PENDING, note=f"copy of {task.uuid}")
        transaction.on_commit(lambda: enqueue_submission(copy.id))
    return copy


def rearchive(task: GenerationTask) -> str:
    """Copy a finished task's video again: after a failed archive, or when our copy went missing."""
    if task.state not in (State.SUCCEEDED, State.FAILED) or not task.vidu_task_id or not task.creations.exists():
        return "Only a task Vidu finished can be saved again."
    for creation in task.creations.all():
        for field in ("video", "cover"):
            stored = getattr(creation, field)
            if stored and not stored.storage.exists(stored.name):
                setattr(creation, field, "")
        creation.archive_attempts, creation.archive_error = 0, ""
        creation.save(update_fields=["video", "cover", "archive_attempts", "archive_error"])
    if not task.set_state(State.ARCHIVING, expected=(State.SUCCEEDED, State.FAILED), note="re-archive",
                          err_code="", error="", lease_until=None, finished_at=None,
                          next_attempt_at=timezone.now() + timing.seconds(timing.ENQUEUE_GRACE)):
        return "The task changed meanwhile; try again."
    from .results import enqueue_archive

    transaction.on_commit(lambda: enqueue_archive(task.id))
    return "Saving the video again."


def poll_now(task: GenerationTask) -> str:
    """Ask the sweep to query this task at its next turn (within about a second)."""
    if GenerationTask.objects.filter(pk=task.pk, state__in=POLLED_STATES).update(next_attempt_at=timezone.now()):
        return "It will be checked with Vidu right away."
    return "Only a task Vidu is working on can be checked."
