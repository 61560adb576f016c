"""How long the pipeline waits: poll cadence from a task's state and age, backoff, and leases.

Every figure is in production seconds; PIPELINE_FAST divides them all by ten so tests and
demos see the same shape of behaviour in a tenth of the time.
"""

import random
from datetime import datetime, timedelta

from django.conf import settings

from .models import State

FAST_SCALE = 0.1


def scale() -> float:
    return FAST_SCALE if settings.PIPELINE_FAST else 1.0


def seconds(value: float) -> timedelta:
    """``value`` production seconds as a timedelta, scaled for PIPELINE_FAST."""
    return timedelta(seconds=value * scale())


# Poll cadence bounds, in production seconds.
MIN_POLL = 2
MAX_POLL = 60
OFF_PEAK_MAX = 900
# A queued task is first looked at this share of the way to the usual end.
EARLY = 0.8


def poll_delay(task, now: datetime, *, state: str | None = None, progress: int | None = None) -> timedelta:
    """When to query ``task`` next, from what is known about it.

    Every query costs a request against the provider's rate limit, and most self-hosted
    installs can't receive callbacks, so look when the answer is likely to have changed:

    - processing with the provider's ``progress``: when that rate says it will be done;
    - otherwise, with this team's usual time for the task's settings: near that usual end,
      then, while still queued past it, at least half the usual time more (it has yet to run);
    - with no history: quick at first, slower as it ages (as before any of this was known);
    - off-peak and still waiting (ready "within 48 hours"): rarely, up to every 15 minutes.

    ``state`` and ``progress`` are the answer just received (the task's own fields otherwise).
    With callbacks on, the provider tells us about each change, so polling is only a safety net.
    """
    from .progress import typical_for

    state = state or task.state
    progress = task.progress if progress is None else progress
    age = (now - task.created_at).total_seconds() / scale()
    typical = typical_for(task)
    typical = typical / scale() if typical else None
    off_peak = bool((task.params or {}).get("off_peak"))
    if off_peak and state != State.PROCESSING:
        delay = min(max(MAX_POLL, age / 4), OFF_PEAK_MAX)
    elif state == State.PROCESSING:
        started = task.started_at if task.state == State.PROCESSING and task.started_at else now
        running = (now - started).total_seconds() / scale()
        if progress and 0 < progress < 100 and running >= MIN_POLL:
            delay = running * (100 - progress) / progress * 1.1 + 0.5  # a little late: one look, not two
        elif typical:
            # The usual total includes the queue, so it overstates what is left: fine, a late
            # look costs seconds, an early one costs a request. Past it, half of it per look.
            delay = typical - age + 0.5 if age < typical else typical * (100 - (progress or 0)) / 200
        else:
            delay = _by_age(age)
    elif typical:
        # A little before the usual end: the usual time runs to our archived copy, so it holds
        # our own lateness in seeing success, which would otherwise grow with every batch.
        due = typical * EARLY
        delay = due - age if age < due else typical / 2
    else:
        delay = MAX_POLL if age > 300 else _by_age(age)  # a long queue moves slowly
    delay = max(MIN_POLL, min(delay, OFF_PEAK_MAX if off_peak else MAX_POLL))
    if settings.VIDU_CALLBACK_BASE_URL:
        delay = max(delay, 30)
    return seconds(delay)


def _by_age(age: float) -> float:
    """The cadence with nothing better to go on: quick at first, slower as the task ages."""
    if age < 30:
        return 2
    if age < 300:
        return 5
    return 15


def backoff(attempt: int, retry_after: float | None = None, base: float = 2.0, cap: float = 300.0) -> timedelta:
    """Exponential backoff with jitter for the ``attempt``-th failure in a row.

    "Equal jitter": half the delay is fixed, half random, so retries of many tasks that
    failed together (a 500 burst) spread out. A Retry-After from Vidu is a floor (scaled too
    under PIPELINE_FAST, like every other wait).
    """
    delay = min(cap, base * 2 ** max(0, attempt - 1)) * scale()
    delay = delay / 2 + random.uniform(0, delay / 2)
    if retry_after:
        delay = max(delay, min(retry_after, cap) * scale())
    return timedelta(seconds=delay)


def claim_lease() -> timedelta:
    """How long a submit worker holds a task before it sends (reading its images, building the
    body): short, so a worker killed then is recovered (and the task sent) within seconds.
    Real seconds, like the heartbeat: a busy worker must never look dead."""
    return timedelta(seconds=CLAIM_LEASE)


def request_lease() -> timedelta:
    """How long a worker holds a task around one request to Vidu: longer than any request."""
    return timedelta(seconds=settings.VIDU_TIMEOUT + 5) + seconds(30)


# The sweep re-enqueues a submit or archive whose queued message was lost after this long
# (a re-delivered body is harmless: each starts with a claim), so a lost submission goes out
# within about 11 s.
ENQUEUE_GRACE = 10
# A submit worker's hold on a task until it sends (see claim_lease).
CLAIM_LEASE = 8
# A sweep's heartbeat: written this often, stale (its worker is gone) after STALE_AFTER, when
# a cluster's keeper starts another. Real seconds, not scaled by PIPELINE_FAST: one turn of a
# busy sweep may take a second or two, and a live sweep must never look dead.
HEARTBEAT = 1
STALE_AFTER = 5
# How often each cluster's keeper looks for a slot whose sweep is gone (real seconds).
KEEPER_EVERY = 1
# An archive copy renews its lease this often while it streams; stale after ARCHIVE_LEASE.
ARCHIVE_LEASE = 60
# With callbacks on, how long a create with an unknown outcome waits for Vidu's callback.
RECONCILE_WINDOW = 15 * 60
