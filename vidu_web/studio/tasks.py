"""The pipeline's entry points for django-q2: each takes an id, reloads the row and claims it.

- ``submit_task``: create the task at Vidu (enqueued on commit by ``services.create_task``);
- ``sweep``: the long-running loop that queries running tasks (``sweep.py``); each cluster's
  keeper (``cluster.py``) starts one within seconds when none is alive;
- ``keep_sweeping``: the same check as the keeper, for the every-minute schedule (migration
  0002), a safety net for a cluster started without our ``qcluster`` command;
- ``archive_task``: copy a finished task's video and cover into our storage (``archive.py``).

Every job is enqueued through ``jobs.py``. A body may be delivered twice (a re-delivery after a
lost worker); each starts with an atomic claim, so the second one does nothing.
"""

import logging

from . import archive, jobs, submission
from .sweep import STOP, Sweep, start_missing_sweeps

log = logging.getLogger(__name__)


def submit_task(task_id: int) -> None:
    submission.submit(task_id)
    # New work should not wait for a keeper's next turn: if no sweep is alive, start one now.
    # One cheap conditional update.
    start_missing_sweeps()


def sweep(slot: int = 0) -> None:
    """Sweep for PIPELINE_SWEEP_SECONDS at a time, handing over to a fresh sweep in between.

    With the broker down the successor can't be enqueued: this sweep takes its slot back and
    goes on, rather than leave polling to wait for the broker.
    """
    runner = Sweep(slot)
    while runner.run():
        if STOP.is_set() or not runner.hand_over():
            return
        if jobs.sweep(slot, f"sweep-{slot}-next"):
            return


def keep_sweeping() -> int:
    return start_missing_sweeps()


def archive_task(task_id: int) -> None:
    archive.archive(task_id)
