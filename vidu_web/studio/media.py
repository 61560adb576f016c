"""Stored files (videos, covers, input images) served after the access check, with byte ranges.

Media is never public: a file is found through the row that holds it, and its task must pass
`_get_task_for_user`. Single byte ranges are honoured so <video> can seek and start playing.

Where the bytes come from, so that no download holds a web thread for its whole length:
- S3 (S3_BUCKET): a short-lived presigned redirect; the client fetches (and seeks) from the bucket.
- the filesystem behind nginx (MEDIA_ACCEL_PREFIX): an ``X-Accel-Redirect`` to nginx's internal
  location, which sends the file with ranges itself.
- otherwise (``make run``, gunicorn without nginx): streamed from here. Under gthread a download
  holds one thread, not a worker process; deploy/gunicorn.conf.py sizes the threads for that.
"""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from .models import Creation, TaskImage
from .names import download_name
from .views import _get_task_for_user

CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _owner(name):
    """(the uuid of the task that stores ``name``, what the file is to it), or 404. The kind is
    "" for the video, else "cover", "watermarked" or "input" (it ends the download's name)."""
    if "\x00" in name:  # no stored name has one, and PostgreSQL refuses it in a query (a 500)
        raise Http404("No such file")
    creation = (
        Creation.objects.filter(Q(video=name) | Q(cover=name) | Q(watermarked=name))
        .values_list("task__uuid", "cover", "watermarked").first()
    )
    if creation:
        owner, cover, watermarked = creation
        return owner, "cover" if name == cover else "watermarked" if name == watermarked else ""
    image = TaskImage.objects.filter(file=name).values_list("task__uuid", flat=True).first()
    if image:
        return image, "input"
    raise Http404("No such file")


@require_http_methods(["GET", "HEAD"])
def media(request, name):
    owner, kind = _owner(name)
    task = _get_task_for_user(request, owner)
    attachment = None
    if "download" in request.GET:
        attachment = content_disposition_header(True, download_name(task, name, kind))
    return send(request, name, attachment)


def send(request, name, attachment=None, cache="private, max-age=3600"):
    """The stored file ``name``, once the caller has checked access: a presigned redirect, a
    hand-over to nginx, or streamed from here with byte ranges (see the module's docstring).
    ``cache`` is the Cache-Control of an answer that carries or points at the bytes."""
    if getattr(default_storage, "bucket_name", None):
        return _presigned_redirect(name, attachment)
    if settings.MEDIA_ACCEL_PREFIX:
        return _accel_redirect(name, attachment, cache)
    try:
        size = default_storage.size(name)
        fh = default_storage.open(name, "rb")
    except (OSError, NotImplementedError):
        raise Http404("The file is missing from storage") from None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    byte_range = _parse_range(request.headers.get("Range", ""), size)
    if byte_range == "invalid":
        fh.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if byte_range is None:
        response = FileResponse(fh, content_type=content_type)
    else:
        start, end = byte_range
        fh.seek(start)
        response = StreamingHttpResponse(_read(fh, end - start + 1), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    if attachment:
        response["Content-Disposition"] = attachment
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = cache
    return response


def _presigned_redirect(name, attachment):
    """Send the client to the bucket with a link that works for S3_URL_SECONDS (never logged)."""
    parameters = {"ResponseContentDisposition": attachment} if attachment else None
    response = HttpResponseRedirect(default_storage.signed_url(name, parameters=parameters))
    # Not cached: a cached redirect would outlive its link's signature.
    response["Cache-Control"] = "private, no-store"
    return response


def _accel_redirect(name, attachment, cache):
    """Let nginx send the file from its internal location (deploy/nginx.conf): ranges and all."""
    response = HttpResponse(content_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
    response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_PREFIX + quote(name, safe="/")
    if attachment:
        response["Content-Disposition"] = attachment
    response["Cache-Control"] = cache
    return response


def _parse_range(header, size):
    """(start, end) inclusive for one satisfiable range; None for none or several; "invalid"."""
    match = _RANGE.match(header.strip())
    if not match or not (match[1] or match[2]):
        return None
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
        if start >= size or end < start:
            return "invalid"
        return start, end
    suffix = int(match[2])
    if suffix == 0 or size == 0:  # no byte to send: RFC 9110 says unsatisfiable
        return "invalid"
    return max(0, size - suffix), size - 1


def _read(fh, remaining):
    try:
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()
