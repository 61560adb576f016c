"""How far along a running task is, how long this kind of task usually takes, and what to say.

The task card, the poller and the pipeline's poll cadence (timing.poll_delay) all read from here.
Two promises (design.md, "Quality bars: Progress"):

- the bar never moves backwards. It is a pure function of the task's stored fields that only
  rises with time and state: the queue stays at 1 % (an estimate there would sit above Vidu's
  first 1 % and drop to it); in processing it is Vidu's figure when the provider gives one, else
  the elapsed share of the usual time; saving starts at 97 %.
- a time left is shown only where it can be estimated: never for off-peak, never without history
  for this kind of task, never while saving (a copy's time depends on the file, not on Vidu).

The usual time reads at most HISTORY_ROWS rows per kind of task through the ``task_typical``
partial index, so its cost does not grow with the team's history.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import time
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from vidu_web.teams.models import Membership

from .models import ACTIVE_STATES, GenerationTask, State
from .templatetags.studio import seconds

# How many recent successes of one kind of task the median is taken over.
HISTORY = 50
# Rows read per kind: off-peak tasks (hours in a queue) are read, then left out of the median.
HISTORY_ROWS = 2 * HISTORY
# Under 10 % Vidu's rate is too noisy for a time left (1 % after 2 s would read "3 min 18 s").
RATE_FROM = 10
SAVING_FLOOR = 97
# The 429-like reasons: Vidu is throttling us, not failing.
BUSY_REASONS = {"TooManyRequests", "QuotaExceeded", "SystemThrottling"}


def kind_of(task) -> tuple:
    """What makes two tasks take about as long: model, length, resolution."""
    return (task.model, task.duration, task.resolution)


def typical_seconds(team, tasks, memo=False) -> dict[tuple, float]:
    """Median seconds from creation to finish of the team's recent successes, per kind of the
    active ``tasks``, in one query: a LIMIT per kind, each an index range scan. With ``memo``
    (the polling request, as the pipeline), each (team, kind) is read at most once a minute per
    process, and no query is made when all are known."""
    kinds = {kind_of(t) for t in tasks if t.state in ACTIVE_STATES}
    team_id = team.pk if hasattr(team, "pk") else team
    return _remembered(team_id, kinds) if memo else typical_for_kinds(team_id, kinds)


def typical_for_kinds(team_id, kinds) -> dict[tuple, float]:
    parts = history(team_id, kinds)
    if len(parts) > 1 and connection.features.supports_slicing_ordering_in_compound:
        rows = list(parts[0].union(*parts[1:], all=True))
    else:  # SQLite can't LIMIT inside a UNION: one query per kind (a page shows few kinds)
        rows = [row for part in parts for row in part]
    spans: dict[tuple, list[float]] = {}
    for model, duration, resolution, created, finished, off_peak in rows:
        samples = spans.setdefault((model, duration, resolution), [])
        if finished and not off_peak and len(samples) < HISTORY:
            samples.append((finished - created).total_seconds())
    return {kind: statistics.median(values) for kind, values in spans.items() if values}


def history(team_id, kinds) -> list:
    """One query per kind for its latest successes, newest first, at most HISTORY_ROWS rows:
    a range of the ``task_typical`` index, so its cost is the same at 10 or 100,000 tasks."""
    return [
        GenerationTask.objects.filter(team_id=team_id, model=model, duration=duration, resolution=resolution,
                                      state=State.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("model", "duration", "resolution", "created_at", "finished_at", "params__off_peak")[:HISTORY_ROWS]
        for model, duration, resolution in sorted(kinds)
    ]


# The pipeline asks for one task's usual time on every poll; a sweep writes thousands of answers
# a minute, so it reads each (team, kind) at most once a minute per process.
MEMO_SECONDS = 60
_memo: dict[tuple, tuple[float, float | None]] = {}


def typical_for(task) -> float | None:
    """The usual seconds from creation to finish for ``task``'s team and kind, or None."""
    return _remembered(task.team_id, {kind_of(task)}).get(kind_of(task))


def _remembered(team_id, kinds) -> dict[tuple, float]:
    """``typical_for_kinds`` through the memo: one query for the kinds not read in the last
    MEMO_SECONDS, none when all were (a kind with no history is remembered as such)."""
    now = time.monotonic()
    known, missing = {}, set()
    for kind in kinds:
        hit = _memo.get((team_id, *kind))
        if hit and now - hit[0] < MEMO_SECONDS:
            if hit[1] is not None:
                known[kind] = hit[1]
        else:
            missing.add(kind)
    if missing:
        found = typical_for_kinds(team_id, missing)
        if len(_memo) > 10_000:
            _memo.clear()
        for kind in missing:
            _memo[(team_id, *kind)] = (now, found.get(kind))
        known.update(found)
    return known


def forget() -> None:
    """Drop the memo (tests that change history and poll again at once)."""
    _memo.clear()


@dataclass
class Progress:
    percent: int  # 0-100, never lower than a moment before
    estimated: bool  # from elapsed time against the usual, not Vidu's figure
    elapsed: int  # seconds since the task was made (to its end, once finished)
    eta: int | None  # seconds left, only when it can be estimated
    overdue: bool = False  # running longer than this kind of task usually takes
    note: str = ""  # what the card says instead of a time left (busy, off-peak, saving)


def progress_of(task, typical: dict[tuple, float], now=None) -> Progress:
    now = now or timezone.now()
    end = task.finished_at if task.state not in ACTIVE_STATES and task.finished_at else now
    elapsed = max(0, int((end - task.created_at).total_seconds()))
    if task.state == State.SUCCEEDED:
        return Progress(100, False, elapsed, None)
    if task.state not in ACTIVE_STATES:
        return Progress(task.progress or 0, False, elapsed, None)
    if task.state == State.ARCHIVING:
        return Progress(max(SAVING_FLOOR, min(99, task.progress or 0)), False, elapsed, None, note="Saving a copy")
    off_peak = bool((task.params or {}).get("off_peak"))
    expected = None if off_peak else typical.get(kind_of(task))
    if expected is not None:
        eta = int(expected - elapsed) if elapsed < expected else None
        overdue = eta is None or eta < 1
        eta = None if overdue else eta
    else:
        eta, overdue = None, False
    if task.state == State.PROCESSING:
        return _processing(task, typical.get(kind_of(task)), elapsed, eta, overdue, off_peak, now)
    # Waiting (here or in Vidu's queue): nothing has started, so the bar stays at its start.
    note = _waiting_note(task, now)
    if note or off_peak:
        return Progress(1, False, elapsed, None, note=note or "Off-peak: ready within 48 hours")
    return Progress(1, False, elapsed, eta, overdue=overdue)


def _processing(task, expected, elapsed, eta, overdue, off_peak, now) -> Progress:
    started = task.started_at or task.created_at
    running = max(1.0, (now - started).total_seconds())
    if task.progress is None:
        # A provider that gives no figure (Vidu's official API): our share of the usual total
        # time. The total includes the queue, so this runs behind rather than ahead.
        percent = int(min(95, 100 * running / expected)) if expected else 1
        return Progress(max(1, percent), bool(expected), elapsed, eta, overdue=overdue)
    # A provider that gives one gives it from the start (0 while it queues), so the bar is its
    # figure alone and never jumps from our estimate to its.
    vidu = min(99, task.progress)
    if vidu >= RATE_FROM:
        eta, overdue = max(1, int(running * (100 - vidu) / vidu)), False
    return Progress(max(1, vidu), False, elapsed, eta, overdue=overdue and not off_peak)


def _waiting_note(task, now) -> str:
    """A create held back by retryable errors says why and when the next try is."""
    if task.state != State.PENDING or not task.err_code or not task.next_attempt_at:
        return ""
    wait = int((task.next_attempt_at - now).total_seconds() + 0.999)
    if wait < 1:
        return "Vidu is busy; trying again now" if task.err_code in BUSY_REASONS else "Trying again now"
    if task.err_code in BUSY_REASONS:
        return f"Vidu is busy; next try in {seconds(wait)}"
    return f"Vidu had a problem; next try in {seconds(wait)}"


def attach_progress(team, tasks, now=None, memo=False):
    """Set ``task.p`` (a Progress) on each task; one query at most (none when ``memo`` knows them)."""
    typical = typical_seconds(team, tasks, memo=memo)
    now = now or timezone.now()
    for task in tasks:
        task.p = progress_of(task, typical, now)
    return tasks


# --- the polling request's short answer ---------------------------------------------------------
# Every open page asks for its running cards every 2 s; most of the time none of them changed. So
# each full answer carries a "seen" token (the poller's data-seen, sent back by static/js/app.js
# as the X-Progress-Seen header): the team, when it was made, and a digest of SEEN_FIELDS of the
# tasks it showed. A poll whose token is younger than REFRESH_SECONDS and whose tasks still have
# the same digest is answered 204 No Content, which htmx swaps nothing for, after one small query
# (``seen_tasks``) instead of six and a render.
#
# What "unchanged" means: none of the tasks the poll would show changed state, Vidu's figure,
# error, attempts, start, finish or credits, none appeared (a new running task) or went (deleted,
# finished and no longer asked for), and the user still works in the token's team. Those changes
# show at the next poll, as before. What moves with time alone (the elapsed time, the time left,
# the estimated bar of a task Vidu gives no figure for, a retry's countdown) is redrawn every
# REFRESH_SECONDS instead of every poll; the bar still never moves backwards (a 204 keeps it).
REFRESH_SECONDS = 10
SEEN_HEADER = "X-Progress-Seen"
SEEN_FIELDS = ("uuid", "state", "progress", "err_code", "attempts", "started_at", "finished_at", "credits")


@dataclass(frozen=True)
class Seen:
    team_id: int
    at: int  # time.time() when the answer was made, in whole seconds
    digest: str

    def __str__(self):
        return f"{self.team_id}:{self.at}:{self.digest}"

    def fresh(self, now: float) -> bool:
        return 0 <= now - self.at < REFRESH_SECONDS

    @classmethod
    def parse(cls, value: str):
        """The token a page sent back, or None for anything else (a client can only forge a
        token for its own tasks, and then only gets no news for up to REFRESH_SECONDS)."""
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
        match = TOKEN.fullmatch(value)
        if match is None:
            return None
        team, at, digest = match.groups()
        if int(team) > 2**63 - 1:  # no key is that large, and SQLite can't even bind it
            return None
        return cls(int(team), int(at), digest)


TOKEN = re.compile(r"([0-9]{1,19}):([0-9]{1,19}):([0-9a-f]{16})")


def digest(tasks) -> str:
    """What a page shows of ``tasks`` that changes other than with time, as 16 hex digits."""
    parts = []
    for task in tasks:
        for name in SEEN_FIELDS:
            value = getattr(task, name)
            parts.append(str(value.timestamp() if hasattr(value, "timestamp") else value))
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


def seen_for(team_id, tasks, now: float) -> Seen:
    return Seen(team_id, int(now), digest(tasks))


def seen_tasks(user_id, team_id, uuids):
    """SEEN_FIELDS of the tasks the polling request shows (queries.progress_tasks: the user's
    running tasks in the team plus those asked for, newest first, at most 100), provided the user
    is still a member of the team: one plain query, without the ORM's cost of building it (it
    runs on nearly every poll). The rows go through the model's converters, as the full answer's
    do, so both make the same digest."""
    meta = GenerationTask._meta
    qn = connection.ops.quote_name
    column = {name: qn(meta.get_field(name).column) for name in ("id", "team", "creator", "deleted_at", "created_at",
                                                                    *SEEN_FIELDS)}
    uuid_field = meta.get_field("uuid")
    wanted = [uuid_field.get_db_prep_value(value, connection) for value in uuids]
    members = Membership._meta
    sql = (
        f"SELECT {', '.join(column[name] for name in ('id', *SEEN_FIELDS))} FROM {qn(meta.db_table)} t"
        f" WHERE t.{column['team']} = %s AND t.{column['creator']} = %s AND t.{column['deleted_at']} IS NULL"
        f" AND (t.{column['state']} IN ({', '.join(['%s'] * len(ACTIVE_STATES))})"
        + (f" OR t.{column['uuid']} IN ({', '.join(['%s'] * len(wanted))})" if wanted else "")
        + f") AND EXISTS (SELECT 1 FROM {qn(members.db_table)} m"
        f" WHERE m.{qn(members.get_field('team').column)} = t.{column['team']}"
        f" AND m.{qn(members.get_field('user').column)} = %s)"
        f" ORDER BY t.{column['created_at']} DESC, t.{column['id']} DESC LIMIT 100"
    )
    states = [state.value for state in ACTIVE_STATES]
    return list(GenerationTask.objects.raw(sql, [team_id, user_id, *states, *wanted, user_id]))
