"""The creator's pages: create, tasks with live progress, the team gallery and one video.

Every task is reached through `_get_task_for_user`, which 404s for anyone who may not see it;
media files go through the same check (see media.py). Views answer htmx with the page's
named partial and plain requests with the whole page.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vidu_web.teams import audit, spend
from vidu_web.teams.access import SESSION_KEY as TEAM_SESSION_KEY
from vidu_web.teams.access import membership_in
from vidu_web.vidu import catalog, images

from . import library_views, queries, services
from .forms import CreateForm, ExtendForm, UpscaleForm, initial_from_task, seed_of
from .models import ACTIVE_STATES, Favorite, Project, Review, State
from .names import download_name
from .progress import SEEN_HEADER, Seen, attach_progress, digest, seen_for, seen_tasks

TASKS_PER_PAGE = 20
GALLERY_PER_PAGE = 24
RECENT_ON_CREATE = 8


def _get_task_for_user(request, task_uuid):
    """The task if the signed-in user may see it (their team's, not deleted, not another's
    private one); 404 otherwise, so nothing reveals that it exists."""
    return get_object_or_404(
        queries.visible_tasks(request.user).select_related("prompt", "creator", "team", "project", "source",
                                                          "retry_of"),
        uuid=task_uuid
    )


def _int(value, default=1, low=1, high=10_000):
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return default


def _back(request, default):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


# --- create ----------------------------------------------------------------------------------


def _remix_source(request):
    """The task being remixed (``?remix=`` or the hidden field), access-checked, or None."""
    value = request.POST.get("remix") or request.GET.get("remix")
    if not value:
        return None
    try:
        return _get_task_for_user(request, uuid.UUID(str(value)))
    except ValueError:
        raise Http404("No such task") from None


def _remix_files(source, form):
    """The remixed task's stored images (read one at a time later), when the creator picked no
    new ones and the count fits."""
    if source is None or form.images:
        return form.images
    stored = list(source.images.all())
    low, high = form.image_range
    if not stored or not low <= len(stored) <= high:
        return []
    return [image.file for image in stored]


def _kept_keyframes(source):
    """A keyframes task's stored images (start, then keys), which its remix keeps unless new
    ones are picked, as the other modes' remixes keep theirs (see CreateForm._clean_keyframes)."""
    if source is None or source.mode != catalog.MULTIFRAME:
        return []
    return list(source.images.all())


def _is_edit(source):
    """Remixing a task that failed or was cancelled is editing it to try again, not a variation."""
    return source is not None and source.state in (State.FAILED, State.CANCELLED)


def _chosen_project(request):
    """The project asked for by ``project`` (a UUID), or None when none is; raises ValueError
    when it names no project the user may see in the team they work in."""
    value = (request.POST.get("project") or request.GET.get("project") or "").strip()
    if not value:
        return None
    try:
        return queries.visible_projects(request.user, request.team).get(uuid=uuid.UUID(value))
    except (ValueError, Project.DoesNotExist):
        raise ValueError(value) from None


@require_http_methods(["GET", "POST"])
def create(request):
    membership = request.membership
    source = _remix_source(request)
    kept = _kept_keyframes(source)
    status = 200
    try:
        project, project_error = _chosen_project(request), ""
    except ValueError:
        project, project_error = None, "That project isn't one of this team's: pick another, or none."
    if request.method == "POST" and "_refresh" in request.POST:
        # "Update options" without the page script: what was typed stays, keys' rows included.
        repeated = {name: request.POST.getlist(name) for name in ("key_prompts", "key_durations")}
        form = CreateForm(initial={**request.POST.dict(), **repeated}, kept_images=kept)
    elif request.method == "POST":
        form = CreateForm(request.POST, request.FILES, kept_images=kept)
        refusal = getattr(request, "upload_refusal", "")  # set by uploads.CappedUploadHandler
        if not membership.can_create:
            form.is_valid()
            form.add_error(None, _viewer_message(membership))
            status = 403
        elif refusal:
            form.is_valid()
            form.add_error("key_images" if form.is_keyframes else "images", refusal)
        elif project_error:
            form.is_valid()
            form.add_error(None, project_error)
        elif form.is_valid():
            try:
                task = services.create_task(
                    request.team, request.user, form.mode, form.params(), _remix_files(source, form),
                    project=project, source=source,
                )
            except services.TaskRejected as exc:
                form.add_rejection(exc.errors)
            else:
                return _created(request, form, task, source, project)
    else:
        keep_seed = request.GET.get("seed") == "reuse" or _is_edit(source)
        initial = initial_from_task(source, keep_seed=keep_seed) if source else request.GET.dict()
        form = CreateForm(initial=initial, kept_images=kept)
    context = _create_context(request, form, source)
    context["project"] = project
    if request.htmx and request.method == "POST":
        return render(request, "studio/create.html#create_form", context, status=status)
    return render(request, "studio/create.html", context, status=status)


def _created(request, form, task, source, project=None):
    if not request.htmx:
        messages.success(request, f"Started: your video is on its way.{_dropped_note(form)}")
        # The next one goes in the same project unless the creator picks another.
        return redirect(reverse("create") + (f"?project={project.uuid}" if project else ""))
    task = queries.user_tasks(request.user, request.team).get(pk=task.pk)
    attach_progress(request.team, [task])
    context = _create_context(request, form, source, recent=[])
    context.update(new_task=task, created=True, polling=True, project=project)
    return render(request, "studio/create.html#created", context)


def _dropped_note(form):
    n = form.dropped_images
    if not n:
        return ""
    return f" {catalog.MODES[form.mode]} takes no images, so the {'one' if n == 1 else n} you picked {'was' if n == 1 else 'were'} left out."


def _viewer_message(membership):
    return f"You're a viewer in {membership.team.name}: you can watch and download, but not create. Ask an admin to make you a member."


def _create_context(request, form, source, recent=None):
    if recent is None:
        recent = attach_progress(request.team, list(queries.user_tasks(request.user, request.team)[:RECENT_ON_CREATE]))
    remix_images = form.kept or (list(source.images.all()) if source else [])
    return {
        "form": form,
        "modes": catalog.CREATE_MODES,
        "remix": source,
        "is_edit": _is_edit(source),
        "remix_seed": seed_of(source) if source else None,
        "remix_images": remix_images,
        "dropped_note": _dropped_note(form),
        "image_rules": {
            "min_side": images.MIN_SIDE, "max_ratio": images.MAX_RATIO, "pair_low": images.PAIR_RATIO[0],
            "pair_high": images.PAIR_RATIO[1], "max_bytes": settings.UPLOAD_MAX_BYTES,
            "max_mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024),
        },
        "tasks": recent,
        "polling": any(t.is_active for t in recent),
        "can_create": request.membership.can_create,
        "viewer_message": _viewer_message(request.membership),
        "projects": queries.visible_projects(request.user, request.team).values("uuid", "name"),
        **_estimate_context(request, form),
    }


def _estimate_context(request, form):
    """The price beside Generate and the limits it would come near (two or three queries)."""
    model, duration, resolution, flags = form.priced()
    estimate = spend.estimate(request.team, model, duration, resolution, flags)
    return _priced(estimate, _limits(request.team, request.membership))


def _limits(team, membership):
    """The team's budget and the member's cap that are set (one query)."""
    return [limit for limit in spend.limits(team, membership) if limit.limit]


def _priced(estimate, limits):
    """An estimate and the limits it comes near or would pass, as the estimate partial shows them."""
    return {
        "estimate": estimate,
        "limit_notes": [(limit, limit.refuses(estimate.credits)) for limit in limits
                        if limit.warn or limit.refuses(estimate.credits)],
    }


@require_GET
def create_estimate(request):
    """The estimate for the settings as they are now (htmx asks on each change)."""
    form = CreateForm(initial=request.GET.dict())
    return render(request, "studio/create.html#estimate", _estimate_context(request, form))


@require_GET
def create_params(request):
    """The parameter block for the mode and model chosen (htmx swaps it on change)."""
    form = CreateForm(initial=request.GET.dict())
    return render(request, "studio/create.html#params", {"form": form, "oob": True})


# --- tasks and progress ------------------------------------------------------------------------


@require_GET
def tasks(request):
    state = request.GET.get("state", "")
    state = state if state in State.values or state == "active" else ""
    states = [("", "All"), ("active", "Running"), *[(s, State(s).label) for s in State.values if s not in ACTIVE_STATES]]
    # Sent here from a filter by "Try again" (task_retry): offer the way back to it.
    came_from = next(((value, label) for value, label in states if value and value == request.GET.get("from")), None)
    page = _int(request.GET.get("page"))
    items, has_next = queries.page_of(queries.user_tasks(request.user, request.team, state), page, TASKS_PER_PAGE)
    attach_progress(request.team, items)
    context = {
        "tasks": items,
        "state": state,
        "states": states,
        "came_from": came_from if came_from and came_from[0] != state else None,
        "page": page,
        "has_next": has_next,
        "polling": any(t.is_active for t in items),
    }
    template = "studio/tasks.html#task_page" if request.htmx else "studio/tasks.html"
    return render(request, template, context)


@require_GET
def progress(request):
    """The one polling request: fresh cards for every running task the page shows, or 204 No
    Content when none changed since the answer the page last got (progress.py, "short answer")."""
    uuids = []
    for value in request.GET.get("ids", "").split(",")[:100]:
        try:
            uuids.append(uuid.UUID(value.strip()))
        except ValueError:
            continue
    now = time.time()
    seen = Seen.parse(request.headers.get(SEEN_HEADER, ""))
    if seen and uuids and seen.fresh(now) and request.session.get(TEAM_SESSION_KEY, seen.team_id) == seen.team_id:
        # The token's team, checked by the query (still a member?): request.team would cost a query.
        if digest(seen_tasks(request.user.pk, seen.team_id, uuids)) == seen.digest:
            return HttpResponse(status=204)
    items = queries.progress_tasks(request.user, request.team, uuids) if uuids else []
    attach_progress(request.team, items, memo=True)
    context = {"tasks": items, "polling": any(t.is_active for t in items),
               "seen": seen_for(request.team.pk, items, now) if items else ""}
    return render(request, "studio/tasks.html#progress", context)


def _own_task(request, task_uuid):
    """A task the user may act on as its creator or as an admin of its team."""
    task = _get_task_for_user(request, task_uuid)
    if not task.may_manage(request.user, membership_in(request.user, task.team_id)):
        raise PermissionDenied("Only its creator or a team admin can do that.")
    return task


@require_POST
def task_cancel(request, task_uuid):
    task = _own_task(request, task_uuid)
    if not task.can_cancel:
        messages.error(request, "This task can't be cancelled any more: Vidu has started on it.")
    else:
        messages.info(request, services.cancel_task(task))
    return redirect(_back(request, reverse("tasks")))


@require_POST
def task_retry(request, task_uuid):
    """Try a failed or cancelled task again, then show the new task where it can be followed.

    Where it lands: back where the button was when the new task shows there (the create page's
    Recent list, an unfiltered first page of /tasks/); the new task's own page when the button
    was on the old one's; and from a filtered or later page of /tasks/ (``?state=failed``, which
    would hide a pending task) the first page of all tasks, ``/tasks/?from=failed``, which shows
    the new task on top and a link back to the filter the user was in. A task already tried
    again is not tried twice: the user is taken to the retry instead.
    """
    task = _get_task_for_user(request, task_uuid)
    if not membership_in(request.user, task.team_id).can_create:
        raise PermissionDenied("Viewers can't create videos.")
    back = _back(request, reverse("tasks"))
    existing = task.live_retry
    if existing is not None:
        messages.info(request, "This one was already tried again: here is the new task.")
        return redirect(_landing(back, task, existing))
    if not task.can_retry:
        messages.error(request, "Only a failed or cancelled task can be tried again.")
        return redirect(back)
    try:
        new = services.retry_task(task, request.user)
    except services.TaskRejected as exc:
        messages.error(request, "Couldn't try again: " + "; ".join(exc.errors.values()))
        return redirect(back)
    note = ""
    if task.creator_id != request.user.id:
        owner = task.creator.get_username() if task.creator else "a former member"
        note = f" It runs in your name and its credits count as yours, not {owner}'s."
    messages.success(request, "Trying again: a new task is on its way." + note)
    return redirect(_landing(back, task, new))


def _landing(back, old, new):
    """Where the new task shows (see task_retry)."""
    parts = urlsplit(back)
    if parts.path == reverse("tasks"):
        came_from = QueryDict(parts.query).get("state", "")
        if came_from in State.values or came_from == "active":
            return reverse("tasks") + "?" + urlencode({"from": came_from})
        return reverse("tasks")
    if parts.path == reverse("video", args=[old.uuid]):
        return reverse("video", args=[new.uuid])
    return back


# --- gallery and video ---------------------------------------------------------------------------


def _text_param(request, name, limit):
    """A free-text query parameter, without NUL bytes (PostgreSQL refuses them: a 500)."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:limit]


def _gallery_filters(request):
    get = request.GET
    return queries.GalleryFilters(
        q=_text_param(request, "q", 200),
        creator=_text_param(request, "creator", 150),
        mode=get.get("mode", "") if get.get("mode") in catalog.ENDPOINTS else "",
        model=get.get("model", "") if get.get("model") in catalog.MODELS else "",
        when=get.get("when", "") if get.get("when") in queries.WHEN else "",
        favorites=get.get("favorites") in ("1", "on", "true"),
        project=_uuid_param(request, "project"),
        review=get.get("review", "") if get.get("review") in Review.values else "",
        fold=get.get("fold") in ("1", "on", "true"),
    )


def _uuid_param(request, name):
    """A UUID query parameter in canonical form, or "" when absent or malformed (then ignored)."""
    try:
        return str(uuid.UUID(request.GET.get(name, "")))
    except ValueError:
        return ""


# The filter bar's fixed choices, as (value, label) pairs (templatetags/tiles.py: options).
GALLERY_MODES = tuple(catalog.ENDPOINTS.items())
GALLERY_MODELS = tuple((spec.name, spec.label) for spec in catalog.MODELS.values())
GALLERY_WHENS = (("", "Any time"), ("today", "Today"), ("week", "Past week"), ("month", "Past month"), ("year", "Past year"))


@require_GET
def gallery(request):
    filters = _gallery_filters(request)
    cursor = request.GET.get("after", "")[:80]
    rows = queries.gallery(request.user, request.team, filters)
    items, has_next = queries.page_of(queries.after(rows, cursor) if cursor else rows, 1, GALLERY_PER_PAGE)
    query = request.GET.copy()
    query["after"] = queries.cursor_of(items[-1]) if items else ""
    context = {
        "items": items,  # rows; the template makes tiles of them (templatetags/tiles.py)
        "has_next": has_next and bool(query["after"]),
        "filters": filters,
        "next_query": query.urlencode(),
        "selectable": request.membership.can_create,
    }
    if request.htmx and cursor:
        return render(request, "studio/gallery.html#items", context)
    if request.htmx:
        return render(request, "studio/gallery.html#results", context)
    members, projects = queries.filter_choices(request.user, request.team)
    context.update(members=members, modes=GALLERY_MODES, models=GALLERY_MODELS, whens=GALLERY_WHENS,
                   projects=projects, reviews=Review.choices)
    return render(request, "studio/gallery.html", context)


@require_GET
def video(request, task_uuid):
    return video_page(request, _get_task_for_user(request, task_uuid))


def video_page(request, task, *, comment_form=None, extend_form=None, upscale_form=None, status=200):
    """The video page; a form that came back refused (a comment, an extend, an upscale) is shown
    with its messages and what was typed."""
    membership = membership_in(request.user, task.team_id)
    attach_progress(task.team, [task])
    creation = task.creations.order_by("id").first()
    can_create = membership.can_create
    context = {
        "task": task,
        "creation": creation,
        "downloads": _downloads(task, creation),
        "images": task.images.all(),
        "is_favorite": Favorite.objects.filter(user=request.user, task=task).exists(),
        "is_creator": task.may_set_privacy(request.user),
        "can_delete": task.may_manage(request.user, membership),
        "can_create": membership.can_create,
        "params": _param_rows(task),
        **library_views.video_context(request, task, membership, comment_form),
        "version_of": task.source.uuid if task.source_id else (task.retry_of.uuid if task.retry_of_id else None),
    }
    # The versions panel: on a finished video, and on any video whose form came back with errors.
    if can_create and (task.state == State.SUCCEEDED or extend_form or upscale_form):
        context.update(_versions_context(request, task, creation, membership, extend_form, upscale_form))
    return render(request, "studio/video.html", context, status=status)


END_FRAMES_SHOWN = 12


def _versions_context(request, task, creation, membership, extend_form, upscale_form):
    """Extend and Upscale, each with its estimate; Extend's end frames from the gallery.

    A fixed number of queries whatever the team's size: the limits (one), each estimate (one or
    two: the team's last match, else the install's) and the gallery's latest posters (one)."""
    extend_problem = task.derive_problems(catalog.EXTEND, creation).get("video", "")
    upscale_problem = task.derive_problems(catalog.UPSCALE, creation).get("video", "")
    extend_form = extend_form or ExtendForm()
    upscale_form = upscale_form or UpscaleForm(task.upscale_choices(creation))
    limits = _limits(task.team, membership)
    context = {"extend_problem": extend_problem, "upscale_problem": upscale_problem,
               "extend_form": extend_form, "upscale_form": upscale_form,
               "open_form": "extend" if extend_form.is_bound else "upscale" if upscale_form.is_bound else ""}
    if not extend_problem:
        context["extend_price"] = _priced(services.extend_estimate(task, creation, *extend_form.priced()), limits)
        context["end_frames"] = list(queries.end_frames(request.user, task.team)[:END_FRAMES_SHOWN])
    upscale_resolution = upscale_form.priced()
    if not upscale_problem and upscale_resolution:
        context["upscale_price"] = _priced(services.upscale_estimate(task, creation, upscale_resolution), limits)
    return context


def _source_for_version(request, task_uuid):
    """A video a member may make a new version of, with the member's membership of its team:
    visible to them (else 404), not as a viewer (403)."""
    task = _get_task_for_user(request, task_uuid)
    membership = membership_in(request.user, task.team_id)
    if not membership.can_create:
        raise PermissionDenied("Viewers can watch and download, but not extend or upscale.")
    return task, membership


@require_POST
def video_extend(request, task_uuid):
    """Continue a finished video: a new task, listed on /tasks/, linked to this one as its source."""
    task, _ = _source_for_version(request, task_uuid)
    form = ExtendForm(request.POST, request.FILES, videos=queries.team_videos(request.user, task.team))
    refusal = getattr(request, "upload_refusal", "")
    if refusal:
        form.is_valid()
        form.add_error("images", refusal)
    elif form.is_valid():
        try:
            new = services.extend_task(task, request.user, form.params(), form.end_frame)
        except services.TaskRejected as exc:
            form.add_rejection(exc.errors)
        else:
            messages.success(request, "Extending: the new version is on its way.")
            return redirect("video", new.uuid)
    return video_page(request, task, extend_form=form, status=400)


@require_POST
def video_upscale(request, task_uuid):
    """Raise a finished video's resolution: a new task linked to this one as its source."""
    task, _ = _source_for_version(request, task_uuid)
    form = UpscaleForm(task.upscale_choices(task.output()), request.POST)
    if form.is_valid():
        try:
            new = services.upscale_task(task, request.user, form.cleaned_data["upscale_resolution"])
        except services.TaskRejected as exc:
            form.add_rejection(exc.errors)
        else:
            messages.success(request, "Upscaling: the sharper version is on its way.")
            return redirect("video", new.uuid)
    return video_page(request, task, upscale_form=form, status=400)


@require_GET
def video_extend_estimate(request, task_uuid):
    """The Extend panel's estimate for the choices as they are now (htmx asks on each change)."""
    def estimate(task, creation):
        return services.extend_estimate(task, creation, *ExtendForm(request.GET).priced())

    return _version_estimate(request, task_uuid, "extend", estimate)


@require_GET
def video_upscale_estimate(request, task_uuid):
    """The Upscale panel's estimate for the resolution chosen now (htmx asks on each change)."""
    def estimate(task, creation):
        resolution = UpscaleForm(task.upscale_choices(creation), request.GET).priced()
        return services.upscale_estimate(task, creation, resolution) if resolution else spend.Estimate(None)

    return _version_estimate(request, task_uuid, "upscale", estimate)


def _version_estimate(request, task_uuid, kind, estimate):
    """One panel's estimate fragment (``#<kind>_estimate``): unknown without a stored video."""
    task, membership = _source_for_version(request, task_uuid)
    creation = task.output()
    figure = estimate(task, creation) if creation is not None else spend.Estimate(None)
    price = _priced(figure, _limits(task.team, membership))
    return render(request, f"studio/video.html#{kind}_estimate", {"task": task, f"{kind}_price": price})


def _downloads(task, creation):
    """The video page's download links: our copy, and the watermarked one when it was stored,
    each saved under a readable name (names.py; media.py sends the same one)."""
    if creation is None:
        return []
    files = [("video", creation.video, "Download", ""), ("watermarked", creation.watermarked, "Download watermarked", "watermarked")]
    return [{"kind": kind, "url": f.url + "?download=1", "filename": download_name(task, f.name, suffix), "label": label}
            for kind, f, label, suffix in files if f]


def _param_rows(task):
    p = task.params or {}
    yes_no = {True: "on", False: "off"}
    rows = [("Mode", catalog.ENDPOINTS.get(task.mode, task.mode))]
    if task.model:
        rows.append(("Model", catalog.MODELS[task.model].label if task.model in catalog.MODELS else task.model))
    if task.mode == catalog.EXTEND:
        rows.append(("Seconds added", f"{task.duration} s"))
    elif task.mode == catalog.MULTIFRAME:
        rows.append(("Keys", " + ".join(f"{d} s" for d in p.get("key_durations", []))))
    else:
        rows.append(("Length", f"{task.duration} s"))
    rows.append(("Upscaled to" if task.mode == catalog.UPSCALE else "Resolution", task.resolution))
    if task.mode == catalog.UPSCALE:
        return rows
    if "aspect_ratio" in p:
        rows.append(("Aspect ratio", p["aspect_ratio"]))
    if "movement_amplitude" in p:
        rows.append(("Movement", p["movement_amplitude"]))
    rows.append(("Seed asked", p.get("seed") or "random"))
    rows.append(("Seed used", task.seed_used if task.seed_used is not None else "—"))
    for key, label in (("bgm", "Background music"), ("audio", "Audio"), ("off_peak", "Off-peak"), ("watermark", "Watermark"),
                       ("is_rec", "Prompt by Vidu")):
        if key in p:
            rows.append((label, yes_no.get(p[key], p[key])))
    return rows


@require_POST
def video_favorite(request, task_uuid):
    task = _get_task_for_user(request, task_uuid)
    deleted, _ = Favorite.objects.filter(user=request.user, task=task).delete()
    if not deleted:
        Favorite.objects.get_or_create(user=request.user, task=task)
    context = {"task": task, "is_favorite": not deleted}
    if request.htmx:
        return render(request, "studio/video.html#favorite", context)
    return redirect(_back(request, reverse("video", args=[task.uuid])))


@require_POST
def video_privacy(request, task_uuid):
    task = _get_task_for_user(request, task_uuid)
    if not task.may_set_privacy(request.user):
        raise PermissionDenied("Only its creator can change who sees a video.")
    was_private, task.is_private = task.is_private, request.POST.get("private") in ("1", "on", "true")
    with transaction.atomic():
        task.save(update_fields=["is_private", "updated_at"])
        if task.is_private != was_private:
            audit.record(task.team, request.user, "video-private" if task.is_private else "video-shared",
                         _audit_target(task), request, task=str(task.uuid))
    messages.success(request, "Only you can see it now." if task.is_private else "Your team can see it now.")
    return redirect("video", task.uuid)


@require_POST
def video_delete(request, task_uuid):
    task = _own_task(request, task_uuid)
    with transaction.atomic():
        task.deleted_at = timezone.now()
        task.save(update_fields=["deleted_at", "updated_at"])
        audit.record(task.team, request.user, "video-deleted", _audit_target(task), request, task=str(task.uuid),
                     creator=task.creator.get_username() if task.creator else "")
    messages.success(request, "Deleted: it's gone from every list.")
    return redirect("gallery")


def _audit_target(task):
    """A video as the audit log names it: the start of its prompt (or its mode) and its id."""
    words = task.prompt.text[:60] or catalog.MODES.get(task.mode, task.mode)
    return f"“{words}” ({str(task.uuid)[:8]})"
