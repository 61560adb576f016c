"""Share links: members make and revoke them on the video page; anyone holding one sees the
public page and its video, with no sign-in, and nothing else (shares.py has the rules)."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from vidu_web.teams.access import membership_in

from . import media
from .library_views import _get_project_for_user
from .models import Creation, State
from .shares import EXPIRY_CHOICES, ShareLink
from .views import _get_task_for_user, _param_rows

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _video_page(task):
    return reverse("video", args=[task.uuid]) + "#share"


def _project_page(project):
    return reverse("project", args=[project.uuid]) + "#share"


@require_POST
def video_share(request, task_uuid):
    """Make a public link to a video the user can see (a private one is visible to its creator
    only, so only they can share it); viewers watch but don't hand videos out."""
    task = _get_task_for_user(request, task_uuid)
    if not membership_in(request.user, task.team_id).can_create:
        raise PermissionDenied("Viewers can't share videos.")
    expires = request.POST.get("expires", "")
    if expires not in EXPIRY_CHOICES:
        messages.error(request, "Choose when the link should expire: never, in a day, a week or 30 days.")
    elif task.state != State.SUCCEEDED or not task.creations.exclude(video="").exists():
        messages.error(request, "Only a finished, saved video can be shared.")
    else:
        ShareLink.make(task, request.user, show_prompt=_checked(request, "show_prompt"),
                       show_settings=_checked(request, "show_settings"), days=int(expires) if expires else None)
        messages.success(request, "Link made: anyone who has it can watch this video, without signing in.")
    return redirect(_video_page(task))


@require_POST
def project_share(request, project_uuid):
    """Make a public link to a project the user can see (a private one only its creator sees, so
    only they can share it). The page shows the project's videos the sharer could share."""
    project = _get_project_for_user(request, project_uuid)
    if not membership_in(request.user, project.team_id).can_create:
        raise PermissionDenied("Viewers can't share projects.")
    expires = request.POST.get("expires", "")
    if expires not in EXPIRY_CHOICES:
        messages.error(request, "Choose when the link should expire: never, in a day, a week or 30 days.")
    else:
        ShareLink.make_for_project(project, request.user, show_prompt=_checked(request, "show_prompt"),
                                   show_settings=_checked(request, "show_settings"),
                                   days=int(expires) if expires else None)
        messages.success(request, "Link made: anyone who has it can watch this project's videos, without signing in.")
    return redirect(_project_page(project))


@require_POST
def project_share_revoke(request, project_uuid, link_id):
    project = _get_project_for_user(request, project_uuid)
    link = get_object_or_404(project.share_links.select_related("project"), pk=link_id)
    _revoke(request, link, project.team_id, "the project's creator")
    return redirect(_project_page(project))


def _revoke(request, link, team_id, owner):
    """Revoke ``link`` if the user may (its maker, ``owner`` or a team admin), else 403."""
    if not link.may_revoke(request.user, membership_in(request.user, team_id)):
        raise PermissionDenied(f"Only whoever made the link, {owner} or a team admin can revoke it.")
    if link.revoke(request.user):
        messages.success(request, "Link revoked: it opens nothing any more.")


def _checked(request, name):
    return request.POST.get(name) in ("1", "on", "true")


@require_POST
def share_revoke(request, task_uuid, link_id):
    task = _get_task_for_user(request, task_uuid)
    link = get_object_or_404(task.share_links.select_related("task"), pk=link_id)
    _revoke(request, link, task.team_id, "the video's creator")
    return redirect(_video_page(task))


# --- the public side: no sign-in, one video or one project's videos ---------------------------


def _live(token):
    """The live link with this token, or 404 for a malformed, unknown, revoked or expired one
    (the same answer for each, so a guess learns nothing)."""
    if not _TOKEN.match(token):
        raise Http404("No such link")
    link = (ShareLink.objects.live().select_related("task__prompt", "task__team", "project__team")
            .filter(token=token).first())
    if link is None:
        raise Http404("No such link")
    return link


def _live_link(token):
    """A live video link and its stored video (a project link's token opens no single video)."""
    link = _live(token)
    if not link.task_id:
        raise Http404("No such link")
    creation = link.task.creations.exclude(video="").order_by("id").first()
    if creation is None:
        raise Http404("No such link")
    return link, creation


def _no_cache(response):
    # The page dies with the link: no cache may keep serving it after a revoke.
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response


def _first_creations(tasks):
    """Each task's first stored video, in one query: {task id: Creation}."""
    firsts = {}
    for creation in Creation.objects.filter(task__in=[t.pk for t in tasks]).exclude(video="").order_by("id"):
        firsts.setdefault(creation.task_id, creation)
    return firsts


def _shared_project(request, link):
    token = link.token
    tasks = list(link.videos().select_related("prompt"))
    firsts = _first_creations(tasks)
    items = []
    for task in tasks:
        creation = firsts.get(task.pk)
        if creation is None:
            continue

        def media_url(kind, task=task):
            return request.build_absolute_uri(
                reverse("shared-project-media", kwargs={"token": token, "task_uuid": task.uuid, "kind": kind}))

        items.append({
            "task": task,
            "creation": creation,
            "video_url": media_url("video"),
            "poster_url": media_url("poster") if creation.cover else "",
            "params": _param_rows(task) if link.show_settings else [],
        })
    context = {
        "link": link,
        "project": link.project,
        "items": items,
        "page_url": request.build_absolute_uri(reverse("shared", args=[token])),
        "poster_url": next((item["poster_url"] for item in items if item["poster_url"]), ""),
    }
    return _no_cache(render(request, "studio/shared_project.html", context))


@login_not_required
@require_http_methods(["GET", "HEAD"])
def shared(request, token):
    link = _live(token)
    if link.project_id:
        if request.method == "GET":
            link.count_view()
        return _shared_project(request, link)
    link, creation = _live_link(token)
    if request.method == "GET":
        link.count_view()
    task = link.task
    context = {
        "link": link,
        "task": task,
        "creation": creation,
        "video_url": request.build_absolute_uri(reverse("shared-media", kwargs={"token": token, "kind": "video"})),
        "poster_url": request.build_absolute_uri(reverse("shared-media", kwargs={"token": token, "kind": "poster"})) if creation.cover else "",
        "page_url": request.build_absolute_uri(reverse("shared", args=[token])),
        "params": _param_rows(task) if link.show_settings else [],
    }
    return _no_cache(render(request, "studio/shared.html", context))


@login_not_required
@require_http_methods(["GET", "HEAD"])
def shared_media(request, token, kind):
    """The shared video or its poster, and no other file: the link's token is the access check."""
    link, creation = _live_link(token)
    name = creation.video.name if kind == "video" else creation.cover.name
    if not name:
        raise Http404("No such file")
    # Revalidated on each use, so that a revoked link stops playing.
    return media.send(request, name, cache="private, no-cache")


@login_not_required
@require_http_methods(["GET", "HEAD"])
def shared_project_media(request, token, task_uuid, kind):
    """One of a shared project's videos, or its poster: only those the project page lists (the
    link's token is the access check; any other video answers 404)."""
    link = _live(token)
    task = get_object_or_404(link.videos(), uuid=task_uuid)
    creation = task.creations.exclude(video="").order_by("id").first()
    name = "" if creation is None else (creation.video.name if kind == "video" else creation.cover.name)
    if not name:
        raise Http404("No such file")
    return media.send(request, name, cache="private, no-cache")
