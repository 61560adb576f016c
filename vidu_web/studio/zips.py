"""Many videos as one ZIP, built as it is sent: each video under its prompt-and-date name, and a
``metadata.csv`` describing them. Memory stays flat however many videos: the stdlib's zipfile
writes into a small buffer that is handed to the client after every chunk (an unseekable
output makes it use data descriptors, so nothing is rewritten afterwards), and each file is
read from storage a chunk at a time.
"""

from __future__ import annotations

import csv
import io
import posixpath
import zipfile
from collections.abc import Iterable, Iterator

from django.core.files.storage import default_storage
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from .models import Creation, State
from .names import download_name

CHUNK = 256 * 1024
# Per ZIP: a selection, not a backup (memory holds one small row per video); under Django's
# DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000), so that a larger selection gets our message, not a 400.
MAX_VIDEOS = 500
COLUMNS = ["file", "prompt", "seed", "model", "mode", "duration", "resolution", "credits", "creator", "created"]
# A spreadsheet runs a cell starting with one of these as a formula: quote it (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def downloadable(tasks):
    """``tasks`` (already narrowed to what the user may see) that have a stored video, oldest
    first, with what the ZIP needs in one query."""
    first = Creation.objects.filter(task=OuterRef("pk")).exclude(video="").order_by("id")
    return (tasks.filter(state=State.SUCCEEDED)
            .annotate(video_name=Subquery(first.values("video")[:1]), video_size=Subquery(first.values("video_bytes")[:1]))
            .exclude(video_name=None)
            .select_related("prompt", "creator")
            .order_by("created_at", "id")
            .annotate(creator_name=F("creator__username")))


class _Sink(io.RawIOBase):
    """What zipfile writes into: kept until ``take`` hands it on (never seekable)."""

    def __init__(self):
        self._parts: list[bytes] = []

    def writable(self):
        return True

    def write(self, data):
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


def stream(tasks: Iterable) -> Iterator[bytes]:
    """The ZIP's bytes, a piece at a time. ``tasks`` come from ``downloadable``."""
    sink = _Sink()
    rows, used = [], set()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for task in tasks:
            name = _unique(download_name(task, task.video_name), used)
            rows.append(_row(task, name))
            info = zipfile.ZipInfo(name, date_time=_zip_time(task.created_at))
            info.compress_type = zipfile.ZIP_STORED  # videos are compressed already
            size = task.video_size or 0
            with archive.open(info, mode="w", force_zip64=size == 0 or size >= 2**31) as entry:
                for chunk in _chunks(task.video_name):
                    entry.write(chunk)
                    yield sink.take()
        info = zipfile.ZipInfo("metadata.csv", date_time=_zip_time(timezone.now()))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, _csv(rows))
        yield sink.take()
    yield sink.take()  # the central directory, written on close


def _chunks(name):
    """The stored file, a chunk at a time. On S3 straight from the object's body: django-storages'
    file would spool the whole object first."""
    bucket = getattr(default_storage, "bucket", None) if getattr(default_storage, "bucket_name", None) else None
    if bucket is not None:
        body = bucket.Object(default_storage._normalize_name(name)).get()["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
        return
    with default_storage.open(name, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _unique(name, used):
    """``name``, or ``name`` with -2, -3... before its extension when the ZIP has one already."""
    stem, ext = posixpath.splitext(name)
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{stem}-{n}{ext}"
    used.add(candidate)
    return candidate


def _zip_time(when):
    local = timezone.localtime(when)
    return max(local.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # ZIP dates start in 1980


def _safe(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _row(task, name):
    params = task.params or {}
    seed = task.seed_used if task.seed_used is not None else params.get("seed", "")
    # The API's names for model and mode (viduq1, text2video): what a script or a re-run needs.
    return [name, _safe(task.prompt.text), seed, task.model, task.mode, task.duration,
            task.resolution, "" if task.credits is None else task.credits, _safe(task.creator_name or ""),
            timezone.localtime(task.created_at).isoformat(timespec="seconds")]


def _csv(rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()
