"""The one place that puts pipeline jobs on django-q2's broker: submit, archive, sweep.

A job that can't be enqueued is not an error for the caller. The row it is about is already
saved with a ``next_attempt_at`` (or, for a sweep, a slot marked as starting), so the sweep's
chores (or the cluster's keeper) enqueue it again once the broker is back. So a broker outage
(Redis down, the ORM broker's database unreachable) is logged once, when it starts, and once
when it ends; callers get ``False`` and go on.
"""

import logging
import threading

log = logging.getLogger(__name__)

SUBMIT = "vidu_web.studio.tasks.submit_task"
ARCHIVE = "vidu_web.studio.tasks.archive_task"
SWEEP = "vidu_web.studio.tasks.sweep"

_lock = threading.Lock()
_broker_down = False


def submit(task_id: int) -> bool:
    return _enqueue(SUBMIT, task_id, task_name=f"submit-{task_id}")


def archive(task_id: int) -> bool:
    return _enqueue(ARCHIVE, task_id, task_name=f"archive-{task_id}")


# A sweep's django-q2 timeout: a week, in effect none. It hands over to a successor by itself
# (and keeps going while the broker is down); if it ever hangs, its heartbeat goes stale and a
# keeper starts another (sweep.py). Not -1 (django-q2's "none"): a stopping cluster tells busy
# workers from idle ones by a positive timer (cluster.py).
SWEEP_TIMEOUT = 7 * 24 * 3600


def sweep(slot: int, name: str) -> bool:
    return _enqueue(SWEEP, slot, task_name=name, timeout=SWEEP_TIMEOUT)


def _enqueue(func: str, *args, **options) -> bool:
    # Looked up at each call, so the tests' inline runner (pipeline_helpers) sees every job.
    from django_q.tasks import async_task

    try:
        async_task(func, *args, **options)
    except Exception as exc:  # any broker's errors: redis, the ORM broker's DatabaseError, ...
        _outage(exc)
        return False
    _recovered()
    return True


def _outage(exc: Exception) -> None:
    global _broker_down
    with _lock:
        first, _broker_down = not _broker_down, True
    if first:
        # The exception's class only: a broker's message may carry its URL (and so a password).
        log.error("the job broker is unreachable (%s); jobs are left for the sweep to enqueue again",
                  type(exc).__name__)


def _recovered() -> None:
    global _broker_down
    with _lock:
        was_down, _broker_down = _broker_down, False
    if was_down:
        log.warning("the job broker is reachable again")
