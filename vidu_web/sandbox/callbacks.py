"""Callbacks (vidu-api.md §5): watch the tasks that gave a ``callback_url`` and POST each state change, signed.

States are computed lazily, so a watcher thread looks at the watched tasks a few times per
``step`` and hands each change to a small pool of senders. A task's changes seen in one look go
out in order in one job (``processing`` before ``success``). Deliveries of ``success`` and
``failed`` are retried ``callback_retries`` times with a backoff scaled by ``step``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from vidu_web.vidu.signing import sign

from .config import Config
from .store import Task, TaskStore

log = logging.getLogger(__name__)
FINAL = ("success", "failed")
# Callbacks go straight to the receiver, whatever proxy the environment names.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class _Job:
    key: str
    url: str
    bodies: list[tuple[str, dict]]  # (state, body) still to send, in order
    attempts: int = 0


class Courier:
    """Finds state changes of watched tasks and delivers them with their signature."""

    def __init__(self, store: TaskStore, render: Callable[[Task, float], dict], config: Callable[[], Config],
                 senders: int = 4) -> None:
        self.store, self.render, self.config = store, render, config
        self.sent: deque[dict] = deque(maxlen=1000)  # recent attempts, for /_sandbox/callbacks
        self._watched: dict[str, list] = {}  # task id -> [task, last state reported]
        self._queue: list[tuple[float, int, _Job]] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._watch_loop, name="sandbox-watch", daemon=True)]
        self._threads += [threading.Thread(target=self._send_loop, name=f"sandbox-send-{n}", daemon=True)
                          for n in range(senders)]
        self._started = False

    def watch(self, task: Task) -> None:
        with self.store.lock:
            self._watched[task.id] = [task, "created"]
            if not self._started:
                self._started = True
                for thread in self._threads:
                    thread.start()

    def forget_all(self) -> None:
        with self.store.lock:
            self._watched.clear()
        with self._wake:
            self._queue.clear()

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()

    # -- finding changes ---------------------------------------------------------------------

    def _watch_loop(self) -> None:
        while not self._stop.wait(max(0.01, min(0.25, self.config().step / 10))):
            now = time.time()
            for job in self._changes(now):
                self._enqueue(job, now)

    def _changes(self, now: float) -> list[_Job]:
        jobs = []
        with self.store.lock:
            self.store.advance_all(now, self.config())
            for task_id, entry in list(self._watched.items()):
                task, reported = entry
                state = task.state_at(now)
                if state == reported or state in ("created", "queueing"):
                    continue
                bodies = []
                if state in FINAL and reported != "processing" and task.started_at is not None:
                    bodies.append(("processing", self.render(task, task.started_at)))
                bodies.append((state, self.render(task, now)))
                entry[1] = state
                if state in FINAL:
                    del self._watched[task_id]
                jobs.append(_Job(task.key, task.callback_url, bodies))
        return jobs

    # -- delivering --------------------------------------------------------------------------

    def _enqueue(self, job: _Job, due: float) -> None:
        with self._wake:
            heapq.heappush(self._queue, (due, next(self._seq), job))
            self._wake.notify()

    def _next_job(self) -> _Job | None:
        with self._wake:
            while not self._stop.is_set():
                now = time.time()
                if self._queue and self._queue[0][0] <= now:
                    return heapq.heappop(self._queue)[2]
                self._wake.wait(self._queue[0][0] - now if self._queue else 1.0)
        return None

    def _send_loop(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                self._send(job)
            except Exception:  # one bad job must never stop the sender
                log.exception("dropping callbacks for task %s", job.bodies[0][1].get("id") if job.bodies else "?")

    def _send(self, job: _Job) -> None:
        config = self.config()
        while job.bodies:
            state, body = job.bodies[0]
            if not self._post(job, state, body) and state in FINAL and job.attempts < config.callback_retries:
                job.attempts += 1
                delay = min(60.0, max(0.05, config.step / 2) * 2 ** (job.attempts - 1))
                self._enqueue(job, time.time() + delay)
                return
            job.bodies.pop(0)

    def _post(self, job: _Job, state: str, body: dict) -> bool:
        """One signed POST; True when the receiver answered 2xx."""
        status = 0
        try:
            headers = {**sign(job.key, job.url), "Content-Type": "application/json"}
            request = urllib.request.Request(job.url, data=json.dumps(body).encode(), headers=headers, method="POST")
            with _opener.open(request, timeout=self.config().callback_timeout) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (OSError, ValueError) as exc:
            log.debug("callback to %s failed: %s", job.url, exc)
        self.sent.append({"task_id": body.get("id"), "state": state, "url": job.url, "status": status,
                          "attempt": job.attempts + 1, "at": time.time()})
        return 200 <= status < 300
