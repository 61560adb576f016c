"""Our django-q2 cluster (``manage.py qcluster``): stock workers, plus a sweep keeper and a clean stop.

What differs from django-q2's own ``Cluster``:

- **A keeper.** A thread in the cluster's main process checks every second (KEEPER_EVERY) for a
  sweep slot whose heartbeat went stale and enqueues a sweep for it. After a crash or a restart,
  polling resumes within seconds, not at the next turn of a once-a-minute schedule. The polling
  itself stays in the workers.
- **SIGTERM to the process group stops it cleanly, in seconds.** systemd and ``make run`` signal
  every process of the cluster. Stock django-q2 lets its sentinel die of that signal, usually
  while it sleeps in ``stop_event.wait()``; the main process then waits forever in
  ``stop_event.set()`` (multiprocessing's ``Condition.notify`` waits for every sleeper to wake).
  Here the sentinel, pusher, monitor and workers ignore SIGTERM and the main process alone acts
  on it, as on a SIGTERM sent to it only: the sentinel stops the pusher, tells each worker
  (SIGTERM, which a worker turns into ``sweep.STOP``: the sweep writes its answers in flight and
  frees its slot), lets each finish the job in hand, saves the results and exits. A worker
  still busy STOP_GRACE seconds later (a long archive copy) is killed; its lease runs out and the
  job is done again later, so nothing is lost. Two seconds after that, any worker still there
  (one that never took its STOP) is killed too, so the stop always ends.
- **Its name says its host**: ``vidu_web@<host>`` in its log lines and in the ``cluster``
  column of django-q2's task results. Q_CLUSTER's ``name`` stays the same on every host on
  purpose: django-q2 keys the queue with it (the Redis list ``django_q:<name>:q``, ``OrmQ.key``)
  and salts every message's signature with it, so every cluster and web process must share it.
"""

import logging
import os
import signal
import socket
import threading
import time
import uuid

from django.db import close_old_connections
from django_q import cluster as q_cluster
from django_q.conf import Conf
from django_q.signals import post_spawn, pre_execute

from . import sweep, timing

log = logging.getLogger(__name__)

# Seconds a stopping cluster lets a worker finish the job in hand before killing it.
STOP_GRACE = 7.0
# Seconds after that when any worker still there is killed, idle or not (kill_stragglers).
STRAGGLER_GRACE = 2.0
# Seconds a stopping cluster waits for its pusher to notice (it checks after each broker read).
PUSHER_GRACE = 2.0

# Set in the main process before the sentinel is forked: the workers of our cluster (and only
# those; a stock qcluster in the same project stays stock) install the SIGTERM handler below.
_ours = False


def cluster_name() -> str:
    return f"{Conf.PREFIX}@{socket.gethostname()}"


class Cluster(q_cluster.Cluster):
    def __init__(self, broker=None):
        global _ours
        _ours = True
        super().__init__(broker)
        self.keeper = Keeper()

    @property
    def name(self) -> str:
        return cluster_name()

    def start(self) -> int:
        """django-q2's ``Cluster.start`` with our sentinel, then the keeper."""
        self.stop_event = q_cluster.Event()
        self.start_event = q_cluster.Event()
        self.sentinel = q_cluster.get_mp_context().Process(
            target=Sentinel, name=f"Process-{uuid.uuid4().hex}",
            args=(self.stop_event, self.start_event, self.cluster_id, self.broker, self.timeout))
        self.sentinel.start()
        log.info("Q Cluster %s starting.", self.name)
        while self.start_event and not self.start_event.is_set():
            if not self.sentinel.is_alive():
                if self.sentinel.exitcode == 0:  # stopped while starting
                    return self.pid
                raise RuntimeError(f"Q Cluster {self.name} failed to start: sentinel exited "
                                   f"with code {self.sentinel.exitcode}")
            time.sleep(0.1)
        self.keeper.start()
        return self.pid

    def stop(self) -> bool:
        self.keeper.stopped.set()
        return super().stop()


class Sentinel(q_cluster.Sentinel):
    def start(self):
        # Inherited by the pusher, the monitor and the workers: only the main process acts on
        # SIGTERM (it sets stop_event, and stop() below tells the workers).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        super().start()

    def stop(self):
        for process in list(self.pool):
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        deadlines = [threading.Timer(STOP_GRACE, self.kill_busy_workers),
                     threading.Timer(STOP_GRACE + STRAGGLER_GRACE, self.kill_stragglers)]
        for deadline in deadlines:
            deadline.daemon = True
            deadline.start()
        self.stop_pusher()
        try:
            super().stop()
        finally:
            for deadline in deadlines:
                deadline.cancel()

    def stop_pusher(self):
        """django-q2's pusher sleeps 10 s after a broker error before it looks at its stop event:
        with the broker down, don't wait for that. It is then asleep, not handing a job over."""
        self.event_out.set()
        self.pusher.join(PUSHER_GRACE)
        if self.pusher.is_alive():
            log.warning("the pusher did not stop within %s s (broker down?); killing it", PUSHER_GRACE)
            os.kill(self.pusher.pid, signal.SIGKILL)
            self.pusher.join(1)

    def kill_busy_workers(self):
        # Only workers in a job (timer > 0; -1 is idle): an idle one may hold the task queue's lock
        # while it waits for its STOP, and killing it would leave the others waiting forever.
        for process in list(self.pool):
            if process.is_alive() and process.timer.value > 0:
                log.warning("worker %s still busy %s s after the stop; killing it", process.pid, STOP_GRACE)
                os.kill(process.pid, signal.SIGKILL)


    def kill_stragglers(self):
        """Seen once in a full test run: an idle worker that never took its STOP, so django-q2's
        stop waited on it for good (the cause is not found; this bounds it). By now every other worker has had its STOP
        and its chance to leave, so killing what is left can't hold a lock anyone still needs;
        and an idle worker holds no job to lose."""
        for process in list(self.pool):
            if process.is_alive():
                log.warning("worker %s still there %s s after the stop; killing it", process.pid,
                            STOP_GRACE + STRAGGLER_GRACE)
                os.kill(process.pid, signal.SIGKILL)


class Keeper(threading.Thread):
    """Starts a sweep for each slot whose sweep is gone; see the module docstring."""

    def __init__(self):
        super().__init__(name="vidu-sweep-keeper", daemon=True)
        self.stopped = threading.Event()

    def run(self):
        failing = False
        while not self.stopped.is_set():
            try:
                sweep.start_missing_sweeps()
            except Exception:
                if not failing:  # the database is down: say so once, keep trying
                    log.exception("sweep keeper: could not check the sweep slots; retrying every second")
                failing = True
                close_old_connections()
            else:
                if failing:
                    log.warning("sweep keeper: working again")
                failing = False
            self.stopped.wait(timing.KEEPER_EVERY)


def _worker_spawned(sender, proc_name, **kwargs):
    if _ours:
        signal.signal(signal.SIGTERM, _worker_told_to_stop)


def _worker_told_to_stop(signum, frame):
    # The job in hand goes on (a submit must not be cut off mid-request); a sweep ends its run.
    sweep.STOP.set()


def _name_the_host(sender, func, task, **kwargs):
    if _ours:
        task["cluster"] = cluster_name()  # what the monitor saves in django_q's Task.cluster


post_spawn.connect(_worker_spawned, dispatch_uid="vidu_web.studio.cluster.worker")
pre_execute.connect(_name_the_host, dispatch_uid="vidu_web.studio.cluster.host")
