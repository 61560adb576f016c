"""The reads that views share: what a user may see, list pages, and progress estimates.

Every list is fetched up front (select_related / prefetch_related / Exists), so a page runs a
fixed number of queries however many items it shows.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Exists, F, OuterRef, Prefetch, Q, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from .models import ACTIVE_STATES, Creation, Favorite, GenerationTask, State

# How many past tasks per (model, duration, resolution) the median is taken over.
HISTORY = 50
# Before a team has history: a guess in seconds, 30 s plus 10 s per second of video.
BASE_SECONDS, PER_SECOND = 30, 10
CANCELLABLE = (State.PENDING, State.QUEUED)
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


def team_tasks(user, team):
    """Tasks ``user`` may see in ``team``, the team they work in now (so a member of it)."""
    return GenerationTask.objects.filter(team=team, deleted_at__isnull=True).filter(Q(is_private=False) | Q(creator=user))


def _with_cards(queryset):
    """What a task card shows: prompt, creator and the stored creations, in three queries."""
    creations = Creation.objects.order_by("id")
    return queryset.select_related("prompt", "creator").prefetch_related(Prefetch("creations", queryset=creations))


def user_tasks(user, team, state=""):
    """The user's tasks in ``team``, newest first, optionally of one state (or "active")."""
    tasks = GenerationTask.objects.filter(team=team, creator=user, deleted_at__isnull=True)
    if state == "active":
        tasks = tasks.filter(state__in=ACTIVE_STATES)
    elif state in State.values:
        tasks = tasks.filter(state=state)
    return _with_cards(tasks.order_by("-created_at", "-id"))


def progress_tasks(user, team, uuids):
    """For the one polling request: the user's running tasks plus those the page asks about."""
    wanted = Q(state__in=ACTIVE_STATES)
    if uuids:
        wanted |= Q(uuid__in=uuids)
    return user_tasks(user, team).filter(wanted)[:100]


@dataclass
class GalleryFilters:
    q: str = ""
    creator: str = ""
    mode: str = ""
    model: str = ""
    when: str = ""
    favorites: bool = False


WHEN = {"today": 1, "week": 7, "month": 30, "year": 365}


def gallery(user, team, filters: GalleryFilters):
    """The team's finished videos that ``user`` may see, newest first, with ``is_favorite``."""
    tasks = (
        team_tasks(user, team)
        .filter(state=State.SUCCEEDED)
        .annotate(is_favorite=Exists(Favorite.objects.filter(user=user, task=OuterRef("pk"))))
    )
    if filters.q:
        tasks = tasks.filter(prompt__text__icontains=filters.q)
    if filters.creator:
        tasks = tasks.filter(creator__username=filters.creator)
    if filters.mode:
        tasks = tasks.filter(mode=filters.mode)
    if filters.model:
        tasks = tasks.filter(model=filters.model)
    if filters.when in WHEN:
        tasks = tasks.filter(finished_at__gte=timezone.now() - timedelta(days=WHEN[filters.when]))
    if filters.favorites:
        tasks = tasks.filter(is_favorite=True)
    # A tile needs a few columns: plain rows, with the first creation's files in subqueries,
    # cost a fraction of model instances and a prefetch.
    first = Creation.objects.filter(task=OuterRef("pk")).order_by("id")
    return tasks.order_by("-finished_at", "-id").values(
        "id", "finished_at", "uuid", "model", "duration", "credits", "is_private", "is_favorite",
        text=F("prompt__text"),
        creator_name=F("creator__username"),
        video_name=Subquery(first.values("video")[:1]),
        cover_name=Subquery(first.values("cover")[:1]),
    )


def tiles(rows):
    """What a gallery tile shows, as plain dicts: the template then only prints strings."""
    from django.core.files.storage import default_storage
    from django.urls import reverse

    from vidu_web.vidu.catalog import MODELS

    placeholder = "00000000-0000-0000-0000-000000000000"
    video_path = reverse("video", args=[placeholder])
    out = []
    for row in rows:
        text = row["text"] or "(no prompt)"
        uuid = str(row["uuid"])
        out.append({
            "uuid": uuid,
            "href": video_path.replace(placeholder, uuid),
            "video": default_storage.url(row["video_name"]) if row["video_name"] else "",
            "cover": default_storage.url(row["cover_name"]) if row["cover_name"] else "",
            "prompt": text if len(text) <= 110 else text[:109].rstrip() + "…",
            "label": text[:80],
            "creator": row["creator_name"] or "someone",
            "model": MODELS[row["model"]].label if row["model"] in MODELS else row["model"],
            "duration": row["duration"],
            "credits": row["credits"],
            "private": row["is_private"],
            "favorite": row["is_favorite"],
        })
    return out


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
    return queryset.filter(Q(finished_at__lt=when) | Q(finished_at=when, id__lt=pk))


def cursor_of(row) -> str:
    return f"{row['finished_at'].isoformat()}_{row['id']}" if row.get("finished_at") else ""


def page_of(queryset, page: int, size: int):
    """One page without a COUNT: (items, has_next). Fetches one extra row to know."""
    start = (page - 1) * size
    items = list(queryset[start : start + size + 1])
    return items[:size], len(items) > size


# --- progress --------------------------------------------------------------------------------


def typical_seconds(team, tasks) -> dict[tuple, float]:
    """Median seconds from creation to finish of the team's recent successes, per
    (model, duration, resolution) of ``tasks``, in one query (a window function keeps the
    latest HISTORY of each)."""
    keys = {(t.model, t.duration, t.resolution) for t in tasks if t.state in ACTIVE_STATES}
    if not keys:
        return {}
    match = Q()
    for model, duration, resolution in keys:
        match |= Q(model=model, duration=duration, resolution=resolution)
    rows = (
        GenerationTask.objects.filter(match, team=team, state=State.SUCCEEDED, finished_at__isnull=False)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("model"), F("duration"), F("resolution")], order_by=F("finished_at").desc()
            )
        )
        .filter(rank__lte=HISTORY)
        .values_list("model", "duration", "resolution", "created_at", "finished_at")
    )
    spans: dict[tuple, list[float]] = {}
    for model, duration, resolution, created, finished in rows:
        spans.setdefault((model, duration, resolution), []).append((finished - created).total_seconds())
    return {key: statistics.median(values) for key, values in spans.items()}


@dataclass
class Progress:
    percent: int  # 0-100
    estimated: bool  # an estimate from elapsed time, not Vidu's figure
    elapsed: int  # seconds since the task was made (to its end, once finished)
    eta: int | None  # seconds left, when there is a sensible guess
    overdue: bool = False  # running longer than this kind of task usually takes


def progress_of(task, typical: dict[tuple, float], now=None) -> Progress:
    now = now or timezone.now()
    end = task.finished_at if task.state not in ACTIVE_STATES and task.finished_at else now
    elapsed = max(0, int((end - task.created_at).total_seconds()))
    if task.state == State.SUCCEEDED:
        return Progress(100, False, elapsed, None)
    if task.state not in ACTIVE_STATES:
        return Progress(task.progress or 0, False, elapsed, None)
    expected = typical.get((task.model, task.duration, task.resolution))
    guessed = expected is None
    if guessed:
        expected = BASE_SECONDS + PER_SECOND * task.duration * (1.5 if task.resolution == "1080p" else 1)
    # Past the usual time, any "seconds left" would be a guess: say it is slow instead.
    eta = max(1, int(expected - elapsed)) if elapsed < expected else None
    if task.state == State.ARCHIVING:
        return Progress(max(task.progress or 0, 97), False, elapsed, 2)
    # Vidu's figure once it says something: a 0 is "not started yet", and would drop the bar
    # from the queue's estimate back to 1 %. Under 10 % its rate is too noisy for "seconds left"
    # (1 % after 2 s read "about 3 min 18 s left" for a 10 s clip): keep the usual time's.
    if task.progress and task.state == State.PROCESSING:
        started = task.started_at or task.created_at
        running = max(1.0, (now - started).total_seconds())
        pct = max(1, min(99, task.progress))
        if pct >= 10:
            return Progress(pct, False, elapsed, max(1, int(running * (100 - pct) / pct)))
        return Progress(pct, False, elapsed, eta, overdue=eta is None)
    pct = int(min(95, 100 * elapsed / max(expected, 1)))
    if task.state in (State.PENDING, State.SUBMITTING):
        pct = min(pct, 5)
    return Progress(max(pct, 1), True, elapsed, eta, overdue=eta is None)


def attach_progress(team, tasks, now=None):
    """Set ``task.p`` (a Progress) on each task; one query at most."""
    typical = typical_seconds(team, tasks)
    now = now or timezone.now()
    for task in tasks:
        task.p = progress_of(task, typical, now)
    return tasks
