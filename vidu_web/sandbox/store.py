"""The sandbox's tasks in memory, and the clock that moves them from created to success.

States are computed from timestamps when someone asks, so no thread has to tick them along.
Only the start of processing depends on other tasks (at most ``max_running`` per API key), so
each key keeps a small scheduler that replays, in time order, which waiting task took which
free slot. Everything here runs under one lock held by ``TaskStore``.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
import threading
from dataclasses import dataclass, field

from .config import Config


@dataclass(eq=False)
class Task:
    """One create request that was accepted, with its timeline."""

    id: str
    key: str  # the API key that created it: counts its concurrency, signs its callbacks
    mode: str
    params: dict  # the echoed parameters (model, duration, resolution, payload ...)
    seed: int
    credits: int
    created_at: float
    queued_at: float  # when "created" turns "queueing"
    eligible_at: float  # when it may leave queueing, if a slot is free
    processing_time: float
    fail_reason: str = ""  # from a [fail:Reason] marker
    big_bytes: int = 0  # from a [bigvideo:N] marker
    callback_url: str = ""
    base_url: str = ""  # how the creator reached us: the creations' URLs point there
    creation_id: str = ""
    # The video it makes, as its creation reports it: the length (extend adds to its source's;
    # a [length:S] marker sets it), frame rate, the nominal frame's short side (judges upscale),
    # and which sample clip plays (a derived video plays its source's clip).
    video_seconds: float = 0.0
    video_fps: float = 24.0
    side: int = 0
    clip_seed: int = 0
    clip_ratio: str = "16:9"
    rec_prompt: str = ""  # the prompt "Vidu" wrote (is_rec)
    started_at: float | None = None
    cancelled: bool = False
    seq: int = 0

    @property
    def ends_at(self) -> float | None:
        return None if self.started_at is None else self.started_at + self.processing_time

    def state_at(self, now: float) -> str:
        """The state at ``now``; the owning key's scheduler must have run up to ``now``."""
        if self.cancelled:
            return "failed"
        if self.started_at is None:
            return "created" if now < self.queued_at else "queueing"
        if now < self.ends_at:
            return "processing"
        return "failed" if self.fail_reason else "success"

    def progress_at(self, now: float) -> int:
        if self.started_at is None or self.cancelled:
            return 0
        if now >= self.ends_at:
            return 0 if self.fail_reason else 100
        return min(99, int(100 * (now - self.started_at) / max(self.processing_time, 1e-9)))


@dataclass
class _KeyScheduler:
    """Which tasks of one API key hold the ``max_running`` processing slots, replayed up to now."""

    waiting: list = field(default_factory=list)  # sorted (eligible_at, seq, task)
    running: list = field(default_factory=list)  # heap of (ends_at, seq, task)
    clock: float = 0.0  # the last start time handed out: starts never go back in time

    def add(self, task: Task) -> None:
        bisect.insort(self.waiting, (task.eligible_at, task.seq, task))

    def remove(self, task: Task) -> None:
        self.waiting.remove((task.eligible_at, task.seq, task))

    def advance(self, now: float, slots: int) -> None:
        while self.waiting:
            task = self.waiting[0][2]
            start = max(task.eligible_at, self.clock)
            if start > now:
                return
            while self.running and self.running[0][0] <= start:
                heapq.heappop(self.running)
            if len(self.running) >= slots:
                start = self.running[0][0]  # the earliest slot to free up
                if start > now:
                    return
                heapq.heappop(self.running)
            self.waiting.pop(0)
            task.started_at, self.clock = start, start
            heapq.heappush(self.running, (task.ends_at, task.seq, task))


class TaskStore:
    """All tasks and create counts, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = random.Random()
        self._seq = itertools.count()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tasks: dict[str, Task] = {}
            self.by_creation: dict[str, Task] = {}
            self.creates: dict[str, int] = {}
            self._keys: dict[str, _KeyScheduler] = {}

    def new_id(self) -> str:
        """An 18-digit id, like Vidu's (too long for a float: clients must keep it a string)."""
        with self.lock:
            while True:
                value = str(self._ids.randrange(10**17, 10**18))
                if value not in self.tasks and value not in self.by_creation:
                    return value

    def add(self, task: Task) -> None:
        with self.lock:
            task.seq = next(self._seq)
            task.creation_id = self.new_id()
            self.tasks[task.id] = task
            self.by_creation[task.creation_id] = task
            payload = str(task.params.get("payload") or "")
            self.creates[payload] = self.creates.get(payload, 0) + 1
            self._keys.setdefault(task.key, _KeyScheduler()).add(task)

    def get(self, task_id: str, now: float, config: Config) -> Task | None:
        """The task, with its key's schedule brought up to ``now``."""
        with self.lock:
            task = self.tasks.get(task_id)
            if task is not None:
                self._keys[task.key].advance(now, config.max_running)
            return task

    def cancel(self, task: Task, now: float, config: Config) -> bool:
        """Cancel ``task`` if it hasn't started processing; False when it's too late."""
        with self.lock:
            self._keys[task.key].advance(now, config.max_running)
            if task.cancelled:
                return True
            if task.started_at is not None:
                return False
            self._keys[task.key].remove(task)
            task.cancelled = True  # refunded; ``credits`` still says what it cost, as Vidu's do
            return True

    def advance_all(self, now: float, config: Config) -> None:
        with self.lock:
            for scheduler in self._keys.values():
                scheduler.advance(now, config.max_running)

    def account(self, key: str, now: float, config: Config) -> dict:
        """``key``'s account as of ``now``: credits left (failed and cancelled tasks are refunded),
        tasks processing and tasks waiting."""
        with self.lock:
            scheduler = self._keys.get(key)
            if scheduler is not None:
                scheduler.advance(now, config.max_running)
            states = [(t.state_at(now), t.credits) for t in self.tasks.values() if t.key == key]
        charged = sum(credits for state, credits in states if state != "failed")
        return {"remain": config.credit_balance - charged,
                "running": sum(1 for state, _ in states if state == "processing"),
                "queued": sum(1 for state, _ in states if state in ("created", "queueing"))}

    def counts(self) -> dict:
        with self.lock:
            return {"creates": dict(self.creates), "total": sum(self.creates.values())}
