"""The reads that views share: what a user may see and the list pages (progress.py estimates).

Every list is fetched up front (select_related / prefetch_related / Exists), so a page runs a
fixed number of queries however many items it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from . import search
from .models import ACTIVE_STATES, Comment, Creation, Favorite, GenerationTask, Project, Review, State

# The largest primary key (a 64-bit integer): a bigger number in a URL names nothing, and
# SQLite can't even bind it.
MAX_ID = 2**63 - 1


def visible_tasks(user):
    """Tasks ``user`` may see: their teams' tasks, not deleted, not someone else's private ones."""
    if not user.is_authenticated:
        return GenerationTask.objects.none()
    return GenerationTask.objects.filter(team__memberships__user=user, deleted_at__isnull=True).filter(
        Q(is_private=False) | Q(creator=user)
    )


def team_tasks(user, team, **fields):
    """Tasks ``user`` may see in ``team``, the team they work in now (so a member of it), with
    ``fields`` as further conditions (one ``filter``: each one more costs a copy of the query)."""
    return GenerationTask.objects.filter(Q(is_private=False) | Q(creator=user), team=team, deleted_at__isnull=True,
                                         **fields)


def team_videos(user, team):
    """Tasks of ``team`` (a team of the video being worked on) that ``user`` may see: the one
    access check (``visible_tasks``) narrowed to that team, so another team's video is absent."""
    return visible_tasks(user).filter(team=team)


def end_frames(user, team):
    """The Extend panel's end frames from the gallery: the stored posters of ``team``'s finished
    videos that ``user`` may see, newest first, each with its task and prompt (one query)."""
    return (Creation.objects.filter(task__in=team_videos(user, team).filter(state=State.SUCCEEDED))
            .exclude(cover="").select_related("task__prompt").order_by("-task__finished_at", "-id"))


def _with_cards(queryset):
    """What a task card shows: prompt, creator, its retry and the stored creations, fetched up front."""
    creations = Creation.objects.order_by("id")
    # retried_as: a failed card links to its retry instead of offering "Try again" twice.
    return queryset.select_related("prompt", "creator", "retried_as").prefetch_related(
        Prefetch("creations", queryset=creations)
    )


def user_tasks(user, team, state=""):
    """The user's tasks in ``team``, newest first, optionally of one state (or "active")."""
    tasks = GenerationTask.objects.filter(team=team, creator=user, deleted_at__isnull=True)
    if state == "active":
        tasks = tasks.filter(state__in=ACTIVE_STATES)
    elif state in State.values:
        tasks = tasks.filter(state=state)
    return _with_cards(tasks.order_by("-created_at", "-id"))


def progress_tasks(user, team, uuids) -> list:
    """For the one polling request: the user's running tasks plus those the page asks about, with
    what their cards show. A running card needs only its prompt; a finished card's files and a
    failed one's retry are fetched (a query each) only when the answer has such a card, so it
    runs one to three queries however many cards (it runs every 2 s per open page)."""
    wanted = Q(state__in=ACTIVE_STATES)
    if uuids:
        wanted |= Q(uuid__in=uuids)
    tasks = list(GenerationTask.objects.filter(team=team, creator=user, deleted_at__isnull=True).filter(wanted)
                 .select_related("prompt").order_by("-created_at", "-id")[:100])
    if succeeded := [t for t in tasks if t.state == State.SUCCEEDED]:
        prefetch_related_objects(succeeded, Prefetch("creations", queryset=Creation.objects.order_by("id")))
    if retryable := [t for t in tasks if t.can_retry]:
        prefetch_related_objects(retryable, "retried_as")
    return tasks


@dataclass
class GalleryFilters:
    q: str = ""
    creator: str = ""
    mode: str = ""
    model: str = ""
    when: str = ""
    favorites: bool = False
    project: str = ""  # a project's UUID (checked by the view)
    review: str = ""  # a Review value
    fold: bool = False  # one tile per family of versions

    @property
    def any(self) -> bool:
        return any((self.q, self.creator, self.mode, self.model, self.when, self.favorites, self.project, self.review))


WHEN = {"today": 1, "week": 7, "month": 30, "year": 365}


def gallery(user, team, filters: GalleryFilters):
    """The team's finished videos that ``user`` may see, newest first, with ``is_favorite``."""
    tasks = team_tasks(user, team, state=State.SUCCEEDED)
    if filters.q:
        tasks = search.matching(tasks, filters.q, user)
    if filters.creator:
        tasks = tasks.filter(creator__username=filters.creator)
    if filters.mode:
        tasks = tasks.filter(mode=filters.mode)
    if filters.model:
        tasks = tasks.filter(model=filters.model)
    if filters.when in WHEN:
        tasks = tasks.filter(finished_at__gte=timezone.now() - timedelta(days=WHEN[filters.when]))
    if filters.favorites:
        tasks = tasks.filter(Exists(Favorite.objects.filter(user=user, task=OuterRef("pk"))))
    if filters.project:
        # Only through a project the user may see: another's private project shows nothing.
        tasks = tasks.filter(project__uuid=filters.project).filter(Q(project__is_private=False) | Q(project__creator=user))
    if filters.review in Review.values:
        tasks = tasks.filter(review_status=filters.review)
    versions = None
    if filters.fold:
        tasks, versions = _folded(tasks)
    # A tile needs a few columns: plain rows, with the first creation's files and size in one
    # subquery (a JSON object: one lookup a row), cost a fraction of model instances and a
    # prefetch (templatetags/tiles.py).
    folded = {"stacked": versions} if versions is not None else {}
    return tasks.order_by("-finished_at", "-id").values(
        "id", "finished_at", "uuid", "model", "duration", "credits", "is_private", "review_status",
        **folded,
        is_favorite=_is_favorite(user),
        text=F("prompt__text"),
        creator_name=F("creator__username"),
        aspect_ratio=F("params__aspect_ratio"),
        file=_first_file(),
    )


# The two columns below are written in SQL: as querysets (a Subquery of JSONObject, an Exists
# annotation) they cost about 4 M instructions a gallery page to build and compile (callgrind,
# the first page: 33.8 M with them and two filters in team_tasks, 28.9 M without and with one;
# the trivial page is 13.1 M). Each names the gallery's table itself, so it belongs in the
# outermost query's select only (``gallery``'s values), never in a subquery (whose tables Django
# renames): the favourites filter is an Exists for that reason.


def _is_favorite(user) -> RawSQL:
    """Whether ``user`` marked the gallery query's row as a favourite."""
    return RawSQL(f"EXISTS(SELECT 1 FROM {Favorite._meta.db_table} f WHERE f.task_id = "
                  f"{GenerationTask._meta.db_table}.id AND f.user_id = %s)", [user.pk], output_field=BooleanField())


def _first_file() -> RawSQL:
    """The first creation's files and size, as a JSON object, for the gallery query's row."""
    build = "JSON_OBJECT" if connection.vendor == "sqlite" else "JSONB_BUILD_OBJECT"
    tasks = GenerationTask._meta.db_table
    return RawSQL(f"SELECT {build}('video', c.video, 'cover', c.cover, 'width', c.width, 'height', c.height) "
                  f"FROM {Creation._meta.db_table} c WHERE c.task_id = {tasks}.id ORDER BY c.id LIMIT 1", [],
                  output_field=JSONField())


def _folded(tasks):
    """One row per family: its newest version among those the filters keep, and how many
    versions that is. A row stays unless a newer one of its family passes the same filters."""
    siblings = tasks.filter(family=OuterRef("family"))
    newer = siblings.filter(Q(finished_at__gt=OuterRef("finished_at"))
                            | Q(finished_at=OuterRef("finished_at"), id__gt=OuterRef("id")))
    count = siblings.order_by().values("family").annotate(n=Count("id")).values("n")
    return tasks.filter(~Exists(newer)), Subquery(count)


def visible_projects(user, team=None):
    """Projects ``user`` may see (in ``team``, or in any of their teams): the team's shared ones
    and their own private ones."""
    if not user.is_authenticated:
        return Project.objects.none()
    projects = Project.objects.filter(Q(is_private=False) | Q(creator=user))
    if team is not None:
        return projects.filter(team=team)
    return projects.filter(team__memberships__user=user)


def filter_choices(user, team) -> tuple[list[str], list[tuple[str, str]]]:
    """The gallery's filter bar's lists: the usernames of ``team``'s members, and the (uuid,
    name) pairs of the team's projects ``user`` may see (through ``visible_projects``, the one
    rule for that), each by name.

    Both lists as querysets cost about 3.0 M instructions a gallery page to build and compile
    (callgrind). The members, which carry no access rule, are read in plain SQL; the projects
    stay a queryset, so who may see a project is decided in one place."""
    from django.contrib.auth import get_user_model

    from vidu_web.teams.models import Membership

    users, memberships = get_user_model()._meta.db_table, Membership._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT u.username FROM {users} u INNER JOIN {memberships} m ON m.user_id = u.id "
                       "WHERE m.team_id = %s ORDER BY u.username", [team.pk])
        members = [name for (name,) in cursor.fetchall()]
    projects = [(str(pk), name) for pk, name in visible_projects(user, team).order_by("name").values_list("uuid", "name")]
    return members, projects


def project_list(user, team):
    """The team's projects ``user`` may see, with how many videos each holds and what they cost
    (counted over the videos ``user`` may see: a private video stays out of every figure)."""
    mine = Q(tasks__deleted_at__isnull=True) & (Q(tasks__is_private=False) | Q(tasks__creator=user))
    return visible_projects(user, team).select_related("creator").annotate(
        videos=Count("tasks", filter=mine & Q(tasks__state=State.SUCCEEDED)),
        spent=Sum("tasks__credits", filter=mine & ~Q(tasks__state__in=UNCHARGED_STATES)),
    ).order_by(Lower("name"))


# Vidu refunds a failed or cancelled task (vidu-api.md, "Charges"): it costs nothing.
UNCHARGED_STATES = (State.FAILED, State.CANCELLED)


def project_people(user, project):
    """Who worked on ``project``: each creator with their videos and credits, most credits first."""
    rows = (team_tasks(user, project.team).filter(project=project).exclude(state__in=UNCHARGED_STATES)
            .values(name=F("creator__username")).annotate(tasks=Count("id"), credits=Sum("credits"))
            .order_by("-credits", "name"))
    return list(rows)


def family(user, task):
    """Every version of ``task``'s family that ``user`` may see, oldest first, with the prompt."""
    return (team_tasks(user, task.team).filter(family=task.family).select_related("prompt", "creator")
            .order_by("created_at", "id"))


def comments(task):
    return Comment.objects.filter(task=task).select_related("author")


def after(queryset, cursor: str):
    """Keyset pagination for the gallery: rows after ``cursor`` ("<finished_at iso>_<id>"), so a
    page deep down the library costs what the first one does. A malformed cursor is ignored."""
    stamp, _, pk = cursor.rpartition("_")
    try:
        when, pk = datetime.fromisoformat(stamp), int(pk)
        # In UTC, as the database compares it: 0001-01-01+14:00 and 9999-12-31-14:00 fall
        # outside datetime's range there (an OverflowError on SQLite).
        when = when.astimezone(UTC) if when.tzinfo is not None else None
    except (ValueError, OverflowError):
        return queryset
    if when is None or not 0 < pk <= MAX_ID:
        return queryset
    # The range first, then the tie-break: a bare OR of the two makes SQLite gather and sort
    # everything below the cursor (half a second at 100,000 videos) instead of walking its index.
    return queryset.filter(finished_at__lte=when).filter(Q(finished_at__lt=when) | Q(id__lt=pk))


def cursor_of(row) -> str:
    return f"{row['finished_at'].isoformat()}_{row['id']}" if row.get("finished_at") else ""


def page_of(queryset, page: int, size: int):
    """One page without a COUNT: (items, has_next). Fetches one extra row to know."""
    start = (page - 1) * size
    items = list(queryset[start : start + size + 1])
    return items[:size], len(items) > size
