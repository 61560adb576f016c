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


def poll_delay(task, now: datetime) -> timedelta:
    """When to query ``task`` next: quick at first, slower as it ages, slow for off-peak.

    With callbacks on, Vidu tells us about each change, so polling is only a safety net.
    """
    age = (now - (task.submitted_at or task.created_at)).total_seconds() / scale()
    if (task.params or {}).get("off_peak") or (task.state == State.QUEUED and age > 300):
        delay = 60
    elif age < 30:
        delay = 2
    elif age < 300:
        delay = 5
    else:
        delay = 15
    if settings.VIDU_CALLBACK_BASE_URL:
        delay = max(delay, 30)
    return seconds(delay)


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


def request_lease() -> timedelta:
    """How long a worker holds a task around one request to Vidu: longer than any request."""
    return timedelta(seconds=settings.VIDU_TIMEOUT + 5) + seconds(30)


# The sweep re-enqueues a submit or archive whose queued message was lost after this long
# (a re-delivered body is harmless: each starts with a claim), so a lost submission goes out
# within about 11 s.
ENQUEUE_GRACE = 10
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
