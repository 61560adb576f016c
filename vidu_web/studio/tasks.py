"""The pipeline's entry points for django-q2: each takes an id, reloads the row and claims it.

- ``submit_task``: create the task at Vidu (enqueued on commit by ``services.create_task``);
- ``sweep``: the long-running loop that queries running tasks (``sweep.py``);
- ``keep_sweeping``: the every-minute schedule that restarts a sweep whose worker died;
- ``archive_task``: copy a finished task's video and cover into our storage (``archive.py``).

A body may be delivered twice (a re-delivery after a lost worker); each starts with an atomic
claim, so the second one does nothing.
"""

import logging

from django.db.models import Max
from django.utils import timezone
from django_q.tasks import async_task

from . import archive, submission, timing
from .models import SweepSlot
from .sweep import Sweep, start_missing_sweeps

log = logging.getLogger(__name__)

KEEPER_NAME = "vidu-sweep-keeper"


def submit_task(task_id: int) -> None:
    submission.submit(task_id)
    # New work should not wait for the keeper's next turn (django-q2 runs schedules only every
    # 30 s or so): if no sweep is alive, start one now. One cheap conditional update.
    start_missing_sweeps()


def sweep(slot: int = 0) -> None:
    """Sweep until PIPELINE_SWEEP_SECONDS is up, then hand over to a fresh sweep."""
    runner = Sweep(slot)
    runner.stop_on_sigterm()
    if not runner.run():
        return
    runner.die_if_stopped()
    if runner.hand_over():
        async_task("vidu_web.studio.tasks.sweep", slot, task_name=f"sweep-{slot}-next")


def keep_sweeping() -> int:
    return start_missing_sweeps()


def archive_task(task_id: int) -> None:
    archive.archive(task_id)


def ensure_keeper_schedule(soon: bool = False):
    """The every-minute schedule that runs ``keep_sweeping`` (migration 0002 makes it too).

    ``soon``: run it as soon as the last sweep's heartbeat has gone stale, e.g. right after a
    cluster restart, rather than at the next minute.
    """
    from django_q.models import Schedule

    next_run = timezone.now()
    if soon:
        last_beat = SweepSlot.objects.aggregate(t=Max("beat_at"))["t"]
        if last_beat:
            next_run = max(next_run, last_beat + timing.seconds(timing.STALE_AFTER))
    schedule, _ = Schedule.objects.update_or_create(name=KEEPER_NAME, defaults={
        "func": "vidu_web.studio.tasks.keep_sweeping", "schedule_type": Schedule.MINUTES, "minutes": 1,
        "repeats": -1, "next_run": next_run})
    return schedule
