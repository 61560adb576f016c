"""Copying a finished task's videos and covers into our storage: streamed, size-capped, type-checked.

Vidu's URLs expire (a day for videos, an hour for covers), so the gallery plays our copy only.
A download is streamed through a temporary file into ``default_storage``, so memory stays flat
whatever the size; FileSystemStorage then moves the file in place, other backends upload it.
"""

import logging
import threading
import time

import requests
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.db.models import Q
from django.utils import timezone

from . import providers, timing
from .models import Creation, GenerationTask, State

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
MAX_ATTEMPTS = 8
COVER_MAX_BYTES = 20 * 1024 * 1024
_local = threading.local()


class ArchiveError(Exception):
    """A copy failed; ``retryable`` says whether trying again may help."""

    retryable = True


class UrlExpired(ArchiveError):
    """The presigned URL no longer works: query the task for fresh ones."""


class Rejected(ArchiveError):
    """What Vidu served is not something we keep (too large, not a video)."""

    retryable = False


class LeaseLost(Exception):
    """Another worker took the task over (ours was presumed dead): stop without writing."""


def is_mp4(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] == b"ftyp"


def is_image(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n") or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP")


class Lease:
    """The archiver's hold on a task, renewed while it streams so a long copy keeps it."""

    def __init__(self, task_id: int):
        self.task_id = task_id
        self.until = None
        self.renewed = 0.0

    def take(self) -> bool:
        now = timezone.now()
        until = now + timing.seconds(timing.ARCHIVE_LEASE)
        won = GenerationTask.objects.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now),
                                            pk=self.task_id, state=State.ARCHIVING).update(lease_until=until)
        self.until, self.renewed = until, time.monotonic()
        return bool(won)

    def renew(self, force: bool = False) -> None:
        period = timing.ARCHIVE_LEASE * timing.scale() / 3
        if not force and time.monotonic() - self.renewed < period:
            return
        until = timezone.now() + timing.seconds(timing.ARCHIVE_LEASE)
        if not GenerationTask.objects.filter(pk=self.task_id, lease_until=self.until).update(lease_until=until):
            raise LeaseLost
        self.until, self.renewed = until, time.monotonic()


def archive(task_id: int) -> None:
    """Copy every creation of an archiving task; the task succeeds once all copies exist."""
    lease = Lease(task_id)
    if not lease.take():
        return
    task = GenerationTask.objects.get(pk=task_id)
    creations = list(task.creations.all())
    if not creations:
        task.fail("NoCreation", "Vidu reported success but sent no video.", expected=State.ARCHIVING)
        return
    try:
        for creation in creations:
            if not creation.is_archived:
                copy_creation(task, creation, lease)
    except LeaseLost:
        log.warning("task %s: another worker took over its archive; stopping", task.uuid)
        return
    except ArchiveError as exc:
        failed(task, creation, exc)
        return
    except Exception as exc:  # a storage error, a bug: still bounded, still visible
        log.exception("task %s: archive failed unexpectedly", task.uuid)
        failed(task, creation, ArchiveError(f"an unexpected {type(exc).__name__}"))
        return
    task.finish_archive()


def copy_creation(task: GenerationTask, creation: Creation, lease: Lease) -> None:
    """Copy one creation, asking Vidu for fresh URLs once if the ones we hold expired."""
    if creation.urls_expired():
        refresh_urls(task, creation)
    try:
        copy_files(task, creation, lease)
    except UrlExpired as exc:
        log.info("task %s: %s; asking Vidu for fresh URLs", task.uuid, exc)
        refresh_urls(task, creation)
        copy_files(task, creation, lease)


def copy_files(task: GenerationTask, creation: Creation, lease: Lease) -> None:
    if not creation.video:
        upload = fetch(creation.url, is_mp4, settings.PIPELINE_ARCHIVE_MAX_BYTES, lease, "video")
        with upload:
            lease.renew(force=True)
            creation.video.save(f"{task.uuid}-{creation.upstream_id}.mp4", upload, save=False)
            creation.video_bytes = upload.size
        creation.save(update_fields=["video", "video_bytes"])
    if creation.cover_url and not creation.cover:
        upload = fetch(creation.cover_url, is_image, COVER_MAX_BYTES, lease, "cover")
        with upload:
            lease.renew(force=True)
            creation.cover.save(f"{task.uuid}-{creation.upstream_id}.jpg", upload, save=False)
        creation.save(update_fields=["cover"])
    if creation.watermarked_url and not creation.watermarked:
        # With ``watermark`` on, the provider's watermarked copy expires like the video: keep ours.
        upload = fetch(creation.watermarked_url, is_mp4, settings.PIPELINE_ARCHIVE_MAX_BYTES, lease, "watermarked video")
        with upload:
            lease.renew(force=True)
            creation.watermarked.save(f"{task.uuid}-{creation.upstream_id}-watermarked.mp4", upload, save=False)
        creation.save(update_fields=["watermarked"])
    creation.archived_at, creation.archive_error = timezone.now(), ""
    creation.save(update_fields=["archived_at", "archive_error"])


def fetch(url: str, check, max_bytes: int, lease: Lease, what: str) -> TemporaryUploadedFile:
    """Stream ``url`` into a temporary file, refusing it past ``max_bytes`` or if ``check`` fails."""
    if not url:
        raise UrlExpired(f"no {what} URL")
    try:
        response = _session().get(url, stream=True, timeout=(5, 60))
    except requests.RequestException as exc:
        log.warning("downloading the %s failed: %s", what, type(exc).__name__)
        raise ArchiveError(f"downloading the {what} failed ({type(exc).__name__})") from None
    with response:
        if response.status_code in (401, 403, 404, 410):
            raise UrlExpired(f"the {what} URL answered {response.status_code}")
        if response.status_code != 200:
            log.warning("the %s URL answered %s", what, response.status_code)
            raise ArchiveError(f"the {what} URL answered {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise Rejected(f"the {what} is {int(declared) // 2**20} MB, over our limit of {max_bytes // 2**20} MB")
        return _stream(response, check, max_bytes, lease, what)


def _stream(response, check, max_bytes: int, lease: Lease, what: str) -> TemporaryUploadedFile:
    upload = TemporaryUploadedFile(what, response.headers.get("Content-Type", ""), 0, None)
    try:
        size, head = 0, b""
        for chunk in response.iter_content(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise Rejected(f"the {what} is over our limit of {max_bytes // 2**20} MB")
            if len(head) < 16:
                head += chunk[: 16 - len(head)]
            upload.write(chunk)
            lease.renew()
        if not check(head):
            log.warning("the %s Vidu served is not of the expected type (starts %r)", what, head[:12])
            raise Rejected(f"the {what} Vidu sent is not a file of the expected type")
    except requests.RequestException as exc:
        upload.close()
        log.warning("downloading the %s broke off: %s", what, type(exc).__name__)
        raise ArchiveError(f"downloading the {what} broke off ({type(exc).__name__})") from None
    except BaseException:
        upload.close()
        raise
    upload.size = size
    upload.file.flush()
    upload.seek(0)
    return upload


def _session() -> requests.Session:
    """A plain session per thread: media URLs are presigned, so our API key is never sent."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def refresh_urls(task: GenerationTask, creation: Creation) -> None:
    """Query the task again: the provider hands out freshly signed URLs with every answer."""
    task.count_calls()
    try:
        answer = providers.for_task(task).query(task.upstream_id)
    except providers.ProviderError as exc:
        log.warning("task %s: querying for fresh URLs failed: %s", task.uuid, exc)
        raise ArchiveError(f"asking the provider for fresh URLs failed ({exc.reason})") from None
    if answer.state != providers.base.SUCCEEDED or not answer.outputs:
        log.warning("task %s: asked for fresh URLs, the provider answered state %r", task.uuid, answer.upstream_state)
        raise ArchiveError(f"the provider answered {answer.upstream_state!r} when asked for fresh URLs")
    Creation.store(task, answer.outputs)
    creation.refresh_from_db()


def failed(task: GenerationTask, creation: Creation, exc: ArchiveError) -> None:
    """Retry later with backoff; give up, visibly, when it can't work or attempts are used up."""
    attempts = creation.archive_attempts + 1
    Creation.objects.filter(pk=creation.pk).update(archive_attempts=attempts, archive_error=str(exc)[:1000])
    if not exc.retryable or attempts >= MAX_ATTEMPTS:
        log.warning("task %s: giving up its archive after %s attempts: %s", task.uuid, attempts, exc)
        task.fail("ArchiveFailed", f"Vidu made the video but we couldn't save our copy: {exc}. "
                  "An admin can try saving it again.", expected=State.ARCHIVING)
        return
    log.warning("task %s: archive attempt %s failed, will retry: %s", task.uuid, attempts, exc)
    task.archive_later(timing.backoff(attempts, base=5, cap=600))
