"""Download many: the videos picked in the gallery, or a whole project's, as one ZIP streamed as it
is built (zips.py)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from . import queries, zips
from .library_views import _get_project_for_user


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


@require_GET
def project_download(request, project_uuid):
    """A project's finished videos that the user may see (not others' private ones), as one ZIP."""
    project = _get_project_for_user(request, project_uuid)
    back = reverse("project", args=[project.uuid])
    tasks = list(zips.downloadable(queries.visible_tasks(request.user).filter(project=project))[: zips.MAX_VIDEOS + 1])
    if len(tasks) > zips.MAX_VIDEOS:
        messages.error(request, f"This project has more than {zips.MAX_VIDEOS} videos: select up to "
                                f"{zips.MAX_VIDEOS} in the gallery and download those.")
        return redirect(back)
    if not tasks:
        messages.error(request, "This project has no finished videos to download yet.")
        return redirect(back)
    name = slugify(project.name) or "project"
    return zip_response(tasks, f"{project.team.slug}-{name}-{timezone.localdate().isoformat()}.zip")


def zip_response(tasks, filename):
    response = StreamingHttpResponse(zips.stream(tasks), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    # Sent as built: nginx must not buffer it whole before passing it on.
    response["X-Accel-Buffering"] = "no"
    return response
