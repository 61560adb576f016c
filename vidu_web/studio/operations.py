"""The operator page in the admin (``/admin/operations/``): is the pipeline keeping up, right now?

Four figures, each from one query: the broker's queue depth (jobs waiting for a worker), tasks
by state, each sweep slot's heartbeat age, and provider errors by reason over the last hour.
Errors come from the TaskEvent rows the pipeline writes anyway: a task that failed (note
``"<err_code>: <sentence>"``) and a create sent back to wait after a retryable refusal (note
``"<status> <reason>: <message>"``, e.g. ``429 QuotaExceeded: ...``). A failing query (the
broker down) shows as such on the page instead of failing it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.admin import site
from django.db.models import Count, Value
from django.db.models.functions import StrIndex, Substr
from django.shortcuts import render
from django.utils import timezone

from . import health
from .models import GenerationTask, State, SweepSlot, TaskEvent

log = logging.getLogger(__name__)

ERROR_WINDOW = timedelta(hours=1)
# A create the provider refused for now: "<HTTP status or 'no answer'> <reason>: <message>".
RETRY_NOTE = r"^([0-9]{3}|no answer) [A-Za-z]+:"


def queue_depth() -> int | None:
    """Jobs waiting in the broker for a worker (None when the broker can't be asked)."""
    from django_q.brokers import get_broker

    try:
        return get_broker().queue_size()
    except Exception as exc:  # Redis down: say so on the page
        log.warning("operations: could not read the queue depth: %s", type(exc).__name__)
        return None


def tasks_by_state() -> list[tuple[str, str, int]]:
    counts = dict(GenerationTask.objects.order_by().values_list("state").annotate(n=Count("id")))
    return [(value, label, counts.get(value, 0)) for value, label in State.choices]


def sweep_slots(now) -> list[dict]:
    fresh = health.SWEEP_FRESH_SECONDS * health.timing.scale()
    slots = []
    for slot in SweepSlot.objects.order_by("slot"):
        age = (now - slot.beat_at).total_seconds() if slot.beat_at else None
        slots.append({"slot": slot.slot, "owner": slot.owner, "age": None if age is None else int(age),
                      "stale": age is None or age > fresh})
    return slots


def provider_errors(now) -> list[dict]:
    """Reasons, most frequent first, with how many tasks failed and how many creates were put
    back to wait for them within ERROR_WINDOW."""
    since = now - ERROR_WINDOW
    failed = TaskEvent.objects.filter(at__gte=since, state=State.FAILED, note__contains=":")
    retried = TaskEvent.objects.filter(at__gte=since, state=State.PENDING, note__regex=RETRY_NOTE)
    head = Substr("note", 1, StrIndex("note", Value(":")) - 1)
    rows = (failed | retried).order_by().annotate(reason=head).values_list("state", "reason").annotate(n=Count("id"))
    reasons: dict[str, dict] = {}
    for state, reason, n in rows:
        if state == State.PENDING:  # "429 QuotaExceeded" -> "QuotaExceeded (429)"
            status, _, name = reason.rpartition(" ")
            reason = f"{name} ({status})"
        entry = reasons.setdefault(reason, {"reason": reason, "failed": 0, "retried": 0})
        entry["failed" if state == State.FAILED else "retried"] += n
    return sorted(reasons.values(), key=lambda r: (-(r["failed"] + r["retried"]), r["reason"]))


def operations(request):
    now = timezone.now()
    context = {
        **site.each_context(request),
        "title": "Operations",
        "queue_depth": queue_depth(),
        "states": tasks_by_state(),
        "slots": sweep_slots(now),
        "errors": provider_errors(now),
        "window_minutes": int(ERROR_WINDOW.total_seconds() // 60),
        "fresh_seconds": int(health.SWEEP_FRESH_SECONDS * health.timing.scale()),
    }
    return render(request, "admin/operations.html", context)
