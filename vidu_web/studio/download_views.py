"""Download many: the videos picked in the gallery as one ZIP, streamed as it is built (zips.py)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from . import queries, zips


def _uuids(values):
    out = []
    for value in values[: zips.MAX_VIDEOS * 2]:
        try:
            out.append(uuid.UUID(str(value).strip()))
        except ValueError:
            continue  # a malformed one names nothing
    return list(dict.fromkeys(out))


@require_POST
def gallery_download(request):
    """``tasks=<uuid>`` repeated: a ZIP of those the user may see (others are left out, unsaid:
    saying which would tell that they exist)."""
    wanted = _uuids(request.POST.getlist("tasks"))
    if len(wanted) > zips.MAX_VIDEOS:
        messages.error(request, f"At most {zips.MAX_VIDEOS} videos at a time: select fewer.")
        return redirect("gallery")
    tasks = list(zips.downloadable(queries.visible_tasks(request.user).filter(uuid__in=wanted))) if wanted else []
    if not tasks:
        messages.error(request, "Select one or more finished videos to download.")
        return redirect("gallery")
    return zip_response(tasks, f"{request.team.slug}-videos-{timezone.localdate().isoformat()}.zip")


def zip_response(tasks, filename):
    response = StreamingHttpResponse(zips.stream(tasks), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    # Sent as built: nginx must not buffer it whole before passing it on.
    response["X-Accel-Buffering"] = "no"
    return response
