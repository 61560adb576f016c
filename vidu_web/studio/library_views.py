"""The library's pages and actions: projects, moving videos between them, review and comments.

Objects are reached the same way as everywhere: a task through ``views._get_task_for_user``, a
project through ``_get_project_for_user``; both 404 for anyone who may not see them.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vidu_web.teams.access import membership_in

from . import queries, services, views
from .library import Comment, Project, Review
from .library_forms import CommentForm, ProjectForm, review_status

BULK_MAX = 500  # tasks moved in one request: a gallery selection, never a whole library


def _get_project_for_user(request, project_uuid):
    """The project if the user may see it (one of their teams', not another's private one)."""
    return get_object_or_404(queries.visible_projects(request.user).select_related("team", "creator"),
                             uuid=project_uuid)


def _may_organise(request, team_id):
    """Members and up file videos into projects and make projects; viewers only watch."""
    if not membership_in(request.user, team_id).can_create:
        raise PermissionDenied("Viewers can't change projects.")


# --- projects ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def projects(request):
    form = ProjectForm(team=request.team)
    if request.method == "POST":
        _may_organise(request, request.team.id)
        form = ProjectForm(request.POST, team=request.team)
        if form.is_valid():
            try:
                with transaction.atomic():
                    project = Project.objects.create(team=request.team, creator=request.user,
                                                     name=form.cleaned_data["name"],
                                                     is_private=form.cleaned_data["private"])
            except IntegrityError:  # the same name made at the same moment by someone else
                form.add_error("name", f"{request.team.name} already has a project named “{form.cleaned_data['name']}”.")
            else:
                messages.success(request, f"Project “{project.name}” made.")
                return redirect("project", project.uuid)
    status = 400 if form.errors else 200
    context = {
        "form": form,
        "projects": queries.project_list(request.user, request.team),
        "can_create": request.membership.can_create,
    }
    return render(request, "studio/projects.html", context, status=status)


@require_GET
def project(request, project_uuid):
    project = _get_project_for_user(request, project_uuid)
    filters = queries.GalleryFilters(project=str(project.uuid))
    items, has_next = queries.page_of(queries.gallery(request.user, project.team, filters), 1, views.GALLERY_PER_PAGE)
    people = queries.project_people(request.user, project)
    membership = membership_in(request.user, project.team_id)
    context = {
        "project": project,
        "items": items,
        "has_next": has_next and bool(items),
        "next_query": urlencode({"project": project.uuid, "after": queries.cursor_of(items[-1]) if items else ""}),
        "people": people,
        "spent": sum(p["credits"] or 0 for p in people),
        "can_create": membership.can_create,
        # Revokes any of the project's links: its creator, a team owner or admin (ShareLink.may_revoke).
        "may_manage": project.creator_id == request.user.id or bool(membership and membership.is_admin),
        "in_current_team": project.team_id == request.team.id,
    }
    return render(request, "studio/project.html", context)


def _target_project(request, team_id):
    """The project named by ``project`` for videos of ``team_id``: None for "no project"; raises
    ValueError when the value names no project the user may see there."""
    value = request.POST.get("project", "").strip()
    if not value:
        return None
    try:
        return queries.visible_projects(request.user).get(uuid=uuid.UUID(value), team_id=team_id)
    except (ValueError, Project.DoesNotExist):
        raise ValueError(value) from None


NO_SUCH_PROJECT = "That project isn't one you can see in this team; nothing was moved."


@require_POST
def video_project(request, task_uuid):
    """Move one video into a project (or out of any)."""
    task = views._get_task_for_user(request, task_uuid)
    _may_organise(request, task.team_id)
    back = views._back(request, reverse("video", args=[task.uuid]))
    try:
        target = _target_project(request, task.team_id)
    except ValueError:
        messages.error(request, NO_SUCH_PROJECT)
        return redirect(back)
    services.move_to_project(queries.visible_tasks(request.user).filter(pk=task.pk), target)
    messages.success(request, f"Moved to “{target.name}”." if target else "Taken out of its project.")
    return redirect(back)


@require_POST
def gallery_project(request):
    """Move the videos selected in the gallery (repeated ``tasks``) into a project (or out of any).
    Videos the user can't see, or of another team, are left out."""
    _may_organise(request, request.team.id)
    back = views._back(request, reverse("gallery"))
    try:
        target = _target_project(request, request.team.id)
    except ValueError:
        messages.error(request, NO_SUCH_PROJECT)
        return redirect(back)
    wanted = []
    for value in request.POST.getlist("tasks")[:BULK_MAX]:
        try:
            wanted.append(uuid.UUID(value))
        except ValueError:
            continue
    if not wanted:
        messages.error(request, "Select the videos to move first.")
        return redirect(back)
    moved = services.move_to_project(queries.team_tasks(request.user, request.team).filter(uuid__in=wanted), target)
    where = f"to “{target.name}”" if target else "out of their projects"
    messages.success(request, f"Moved {moved} video{'' if moved == 1 else 's'} {where}.")
    return redirect(back)


# --- review and comments -----------------------------------------------------------------------


def video_context(request, task, membership, comment_form=None):
    """The video page's library parts: project, review, comments and the family of versions."""
    family = list(queries.family(request.user, task)) if task.family else []
    may_organise = membership.can_create
    return {
        "project": task.project if task.project_id and task.project.visible_to(request.user) else None,
        "projects": queries.visible_projects(request.user, task.team).values("uuid", "name") if may_organise else [],
        "may_organise": may_organise,
        "may_review": task.may_review(membership),
        "reviews": Review.choices,
        "comments": queries.comments(task),
        "comment_form": comment_form or CommentForm(length=task.video_seconds),
        "family": family if len(family) > 1 else [],
    }


@require_POST
def video_review(request, task_uuid):
    task = views._get_task_for_user(request, task_uuid)
    if not task.may_review(membership_in(request.user, task.team_id)):
        raise PermissionDenied("Viewers can comment but not review: ask an admin to make you a member.")
    status = review_status(request.POST.get("status"))
    if status is None:
        messages.error(request, "Pick a review status: draft, in review, approved or changes requested.")
    else:
        task.set_review(status, request.user)
        messages.success(request, f"Review: {Review(status).label}.")
    return redirect(views._back(request, reverse("video", args=[task.uuid])))


@require_POST
def video_comments(request, task_uuid):
    """Anyone who sees the video may comment, viewers too."""
    task = views._get_task_for_user(request, task_uuid)
    form = CommentForm(request.POST, length=task.video_seconds)
    if not form.is_valid():
        # The page again with the message and the text kept: a long comment isn't lost.
        return views.video_page(request, task, comment_form=form, status=400)
    Comment.objects.create(task=task, author=request.user, body=form.cleaned_data["body"], at=form.cleaned_data["at"])
    messages.success(request, "Comment added.")
    return redirect(reverse("video", args=[task.uuid]) + "#comments")
