"""The sweep: a long-running worker task that queries each running task when its time comes.

Each loop claims the due tasks with a lease (``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, the write lock of an IMMEDIATE transaction on SQLite), queries them through a
bounded thread pool (one Vidu client, so one pooled session, per thread), and writes the
answers from the sweep's own thread, which alone touches the database. Several sweeps, on
several hosts, can run at once without ever querying one task twice in a cycle.

A sweep holds a ``SweepSlot`` by its heartbeat (written every second), hands over to a fresh
sweep every PIPELINE_SWEEP_SECONDS, and each cluster's keeper (``cluster.py``) starts a new one
within a second of its heartbeat going stale (5 s): a dead worker, a killed cluster. The sweep
itself survives what it can wait out: with the database or the job broker down it logs once,
waits, and goes on. ``STOP`` (set by the cluster when it is stopped) ends it within a turn: it
writes the answers in flight and frees its slot, so nothing is lost and a restart goes on at once.
"""

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import Min, Q
from django.utils import timezone

from . import jobs, providers, timing
from .models import POLLED_STATES, GenerationTask, State, SweepSlot

log = logging.getLogger(__name__)

# The owner of a slot whose sweep was enqueued but has not started yet.
STARTING = "starting"
# Set in a cluster's worker when the cluster is told to stop (cluster.py): the sweep ends its run.
STOP = threading.Event()
# The fields a poll needs; everything else stays in the database.
POLL_FIELDS = ("id", "uuid", "state", "upstream_state", "upstream_id", "params", "created_at", "submitted_at",
               "started_at", "poll_failures", "credits", "progress", "provider", "endpoint", "model", "duration",
               "resolution", "team_id")


def query(task):
    """Runs in a pool thread: one query through this thread's adapter for the task's provider."""
    return providers.for_task(task).query(task.upstream_id)


def lease_expired(now):
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


class Sweep:
    def __init__(self, slot: int = 0, pool_size: int | None = None):
        self.slot = slot
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pool_size = pool_size or settings.PIPELINE_POOL_SIZE
        self.inflight = {}  # future -> task
        self.paused_until = 0.0  # monotonic; set when Vidu answers 429
        self.throttle_level = 0
        self.next_chores = 0.0
        self.polls = 0
        self.failing = False  # the database (or something else) failed the last turn

    # -- the loop ----------------------------------------------------------------------------

    def run(self, seconds: float | None = None) -> bool:
        """Sweep for ``seconds``; False when another sweep holds this slot (nothing was done).

        When stopped (``STOP``), it writes the answers in flight and frees the slot, so that the
        next cluster's keeper starts a sweep at once rather than when the heartbeat goes stale.
        """
        if STOP.is_set() or not self.take_slot():
            return False
        deadline = time.monotonic() + (seconds or settings.PIPELINE_SWEEP_SECONDS)
        with ThreadPoolExecutor(self.pool_size, thread_name_prefix="vidu-poll") as pool:
            try:
                while time.monotonic() < deadline and not STOP.is_set() and self.step(pool):
                    pass
            finally:
                self.drain()
        if STOP.is_set():
            try:
                self.release()
            except DatabaseError:
                log.warning("sweep %s: could not free slot %s while stopping", self.owner, self.slot)
        return True

    def step(self, pool) -> bool:
        """One turn of the loop; False when this sweep lost its slot and must stop."""
        try:
            if time.monotonic() >= self.next_chores:
                if not self.beat():
                    log.warning("sweep %s lost slot %s to another sweep; stopping", self.owner, self.slot)
                    return False
                self.chores()
                self.next_chores = time.monotonic() + timing.HEARTBEAT
            self.dispatch(pool)
            self.collect(timeout=self.idle_time())
        except Exception as exc:
            # The database is down (or a bug we can't fix from here): say so once, then keep
            # trying every second. Dying would leave polling to a keeper that needs the same
            # database anyway, and cost a restart once it is back.
            if not self.failing:
                log.exception("sweep %s: %s; retrying every second until it passes", self.owner,
                              "database error" if isinstance(exc, DatabaseError) else "unexpected error")
            self.failing = True
            close_old_connections()
            time.sleep(1)
            return True
        if self.failing:
            log.warning("sweep %s: working again", self.owner)
            self.failing = False
        return True

    def dispatch(self, pool) -> None:
        """Claim due tasks while the pool has room, unless Vidu asked us to slow down."""
        if time.monotonic() < self.paused_until or len(self.inflight) > self.pool_size:
            return
        for task in self.claim(self.pool_size * 4 - len(self.inflight)):
            self.inflight[pool.submit(query, task)] = task

    def collect(self, timeout: float) -> None:
        if not self.inflight:
            time.sleep(timeout)
            return
        done, _ = wait(self.inflight, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            self.write(self.inflight.pop(future), future)

    def drain(self) -> None:
        """Write the answers still in flight (bounded by the client's timeout)."""
        for future in list(self.inflight):
            try:
                self.write(self.inflight.pop(future), future)
            except DatabaseError:
                log.exception("sweep %s: could not write a result while stopping", self.owner)

    def idle_time(self) -> float:
        """How long to wait for answers before looking for due tasks again (at most 1 s)."""
        if time.monotonic() < self.paused_until:
            return min(1.0, self.paused_until - time.monotonic())
        due = GenerationTask.objects.filter(state__in=POLLED_STATES).aggregate(t=Min("next_attempt_at"))["t"]
        if due is None:
            return 1.0
        return max(0.02, min(1.0, (due - timezone.now()).total_seconds()))

    # -- claims and answers ------------------------------------------------------------------

    def claim(self, limit: int) -> list[GenerationTask]:
        """Lease up to ``limit`` due tasks; rows another sweep holds are skipped, not waited on."""
        if limit <= 0:
            return []
        now = timezone.now()
        due = (GenerationTask.objects.filter(state__in=POLLED_STATES, next_attempt_at__lte=now)
               .exclude(upstream_id="").filter(lease_expired(now)).order_by("next_attempt_at"))
        with transaction.atomic():
            tasks = list(due.select_for_update(skip_locked=True, of=("self",)).only(*POLL_FIELDS)[:limit])
            if tasks:
                GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).update(
                    lease_until=now + timing.request_lease())
        return tasks

    def write(self, task: GenerationTask, future) -> None:
        self.polls += 1
        try:
            result = future.result()
        except providers.ProviderError as exc:
            self.on_error(task, exc)
        except Exception:
            log.exception("task %s: the query failed unexpectedly", task.uuid)
            task.poll_failed("an unexpected error")
        else:
            self.throttle_level = 0
            try:
                task.apply_answer(result)
            except DatabaseError:
                raise
            except Exception:  # an answer we can't digest must not end the sweep
                log.exception("task %s: could not apply the provider's answer", task.uuid)
                task.poll_failed("an answer we couldn't use")

    def on_error(self, task: GenerationTask, exc: providers.ProviderError) -> None:
        if exc.status == 429:
            self.throttle(exc.retry_after)
            log.warning("task %s: the provider asked us to slow down (%s); sweep paused for %.1f s", task.uuid,
                        exc.reason, self.paused_until - time.monotonic())
            task.slow_down(self.paused_until - time.monotonic())
        elif exc.status == 404:
            log.warning("task %s: the provider doesn't know task %s: %s", task.uuid, task.upstream_id, exc)
            task.fail(exc.reason, exc.friendly, calls=1)
        elif exc.status in (401, 403):
            log.error("the provider refused our API key while querying task %s: %s", task.uuid, exc)
            task.poll_failed(exc.friendly, long=True)
        else:
            log.warning("task %s: query failed: %s", task.uuid, exc)
            task.poll_failed(exc.friendly, exc.retry_after)

    def throttle(self, retry_after: float | None) -> None:
        """429s slow the whole sweep: every task is behind the same quota."""
        self.throttle_level = min(self.throttle_level + 1, 8)
        delay = timing.backoff(self.throttle_level, retry_after, base=1, cap=60).total_seconds()
        self.paused_until = max(self.paused_until, time.monotonic() + delay)

    # -- the slot and the chores -------------------------------------------------------------

    def take_slot(self) -> bool:
        SweepSlot.objects.get_or_create(slot=self.slot)
        now = timezone.now()
        return bool(SweepSlot.objects.filter(slot=self.slot).filter(stale_slot(now) | Q(owner=STARTING))
                    .update(owner=self.owner, beat_at=now))

    def beat(self) -> bool:
        return bool(SweepSlot.objects.filter(slot=self.slot, owner=self.owner).update(beat_at=timezone.now()))

    def release(self) -> None:
        """Free the slot at once (a clean stop), so the keeper need not wait for it to go stale."""
        SweepSlot.objects.filter(slot=self.slot, owner=self.owner).update(owner="", beat_at=None)

    def hand_over(self) -> bool:
        """Give the slot to a successor about to be enqueued; False if it was no longer ours."""
        return bool(SweepSlot.objects.filter(slot=self.slot, owner=self.owner)
                    .update(owner=STARTING, beat_at=timezone.now()))

    def chores(self) -> None:
        """What needs a push: submissions due again, stranded submissions, archives due."""
        now = timezone.now()
        grace = now + timing.seconds(timing.ENQUEUE_GRACE)
        due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        for pk in GenerationTask.objects.filter(due, state=State.PENDING).values_list("pk", flat=True)[:200]:
            if GenerationTask.objects.filter(due, pk=pk, state=State.PENDING).update(next_attempt_at=grace):
                jobs.submit(pk)
        stranded = GenerationTask.objects.filter(due, lease_expired(now), state=State.SUBMITTING)
        for task in stranded[:200]:
            log.warning("task %s: its submitting worker is gone; recovering", task.uuid)
            task.recover_submit()
        archiving = GenerationTask.objects.filter(due, lease_expired(now), state=State.ARCHIVING)
        for pk in archiving.values_list("pk", flat=True)[:200]:
            if GenerationTask.objects.filter(due, lease_expired(now), pk=pk, state=State.ARCHIVING).update(
                    next_attempt_at=grace):
                jobs.archive(pk)


def stale_slot(now) -> Q:
    return Q(beat_at__isnull=True) | Q(beat_at__lt=now - timedelta(seconds=timing.STALE_AFTER))


def start_missing_sweeps() -> int:
    """The keeper: start a sweep for each slot whose heartbeat went stale; returns how many.

    The slot is marked as starting (a fresh heartbeat) before the job is enqueued, so keepers
    in other clusters leave it alone; if the job never runs (the broker is down, the cluster
    dies), the mark goes stale like any heartbeat and a keeper tries again.
    """
    started = 0
    now = timezone.now()
    for slot in range(settings.PIPELINE_SWEEPERS):
        SweepSlot.objects.get_or_create(slot=slot)
        if SweepSlot.objects.filter(stale_slot(now), slot=slot).update(owner=STARTING, beat_at=now):
            log.info("starting a sweep for slot %s", slot)
            started += jobs.sweep(slot, f"sweep-{slot}-{now:%H%M%S}")
    return started
