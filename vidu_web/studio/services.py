"""Actions that touch several models: verb-first plain functions the views and admin call."""

from django.db import transaction

from vidu_web.vidu import catalog, images

from .models import GenerationTask, Prompt, State, TaskEvent, TaskImage
from .upstream import provider

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
            prefix = f"Image {n}: " if len(files) > 1 else ""
            raise TaskRejected({"images": prefix + str(exc)}) from None
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
        )
        for position, (data, info) in enumerate(zip(blobs, infos, strict=True)):
            image = TaskImage(task=task, position=position, mime=info.mime, width=info.width, height=info.height)
            ext = info.mime.split("/")[1]
            image.file.save(f"{task.uuid}-{position}.{ext}", _content(data), save=True)
        TaskEvent.objects.create(task=task, state=State.PENDING)
        transaction.on_commit(lambda: enqueue_submission(task.id))
    return task


def enqueue_submission(task_id: int) -> None:
    from django_q.tasks import async_task

    async_task("vidu_web.studio.tasks.submit_task", task_id, task_name=f"submit-{task_id}")


def _read(upload) -> bytes:
    upload.seek(0)
    return upload.read()


def _content(data: bytes):
    from django.core.files.base import ContentFile

    return ContentFile(data)
