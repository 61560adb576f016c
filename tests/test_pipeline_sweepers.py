"""Two sweeps against one PostgreSQL database never query one task twice in a cycle."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.utils import timezone
from pipeline_helpers import pipeline, text_task  # noqa: F401
from sandbox_fixtures import client_for

from vidu_web.studio.models import GenerationTask, State
from vidu_web.studio.sweep import Sweep

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("pipeline"), pytest.mark.postgres]


class RecordingSweep(Sweep):
    """A sweep that notes when it claimed each task and when it wrote the answer."""

    def __init__(self, slot, events):
        super().__init__(slot, pool_size=8)
        self.events = events

    def claim(self, limit):
        tasks = super().claim(limit)
        now = time.monotonic()
        self.events.extend(("claim", t.pk, self.slot, now) for t in tasks)
        return tasks

    def write(self, task, future):
        super().write(task, future)
        self.events.append(("write", task.pk, self.slot, time.monotonic()))


def running_tasks(sandbox, team, user, n):
    """``n`` tasks that Vidu (the sandbox, slowed down) keeps running for the whole test."""
    sandbox.configure(step=60)
    client = client_for(sandbox, "test-key")
    tasks = []
    for i in range(n):
        task = text_task(team, user)  # its submission runs inline; re-point it at a slow task below
        vidu = client.create("text2video", {"model": "viduq2", "prompt": f"shot {i}", "payload": str(task.uuid)})
        tasks.append((task.pk, vidu.task_id))
    for pk, upstream_id in tasks:
        GenerationTask.objects.filter(pk=pk).update(state=State.QUEUED, upstream_id=upstream_id,
                                                    submitted_at=timezone.now(), next_attempt_at=timezone.now())
    return [pk for pk, _ in tasks]


def test_two_sweepers_never_poll_one_task_twice_in_a_cycle(sandbox, team_a, alice, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    sandbox.configure(step=60)
    pks = running_tasks(sandbox, team_a, alice, 120)
    events = []
    sweeps = [RecordingSweep(slot, events) for slot in (0, 1)]
    stop = time.monotonic() + 4

    def run(sweep):
        try:
            assert sweep.take_slot()
            with ThreadPoolExecutor(sweep.pool_size) as pool:
                while time.monotonic() < stop:
                    sweep.step(pool)
                sweep.drain()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(s,)) for s in sweeps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    by_task = {}
    for kind, pk, slot, _at in sorted(events, key=lambda e: e[3]):
        by_task.setdefault(pk, []).append((kind, slot))
    for pk, seq in by_task.items():
        kinds = [kind for kind, _ in seq]
        # Each claim is answered (by the same sweep) before the task is claimed again.
        assert kinds == ["claim", "write"] * (len(kinds) // 2), (pk, seq)
        assert all(seq[i][1] == seq[i + 1][1] for i in range(0, len(seq), 2)), (pk, seq)
    claims = [e for e in events if e[0] == "claim"]
    assert {slot for _, _, slot, _ in claims} == {0, 1}, "both sweeps must have worked"
    assert set(by_task) == set(pks)
    assert len(claims) >= 2 * len(pks)  # every task queried more than once in 4 s
    assert GenerationTask.objects.filter(pk__in=pks, state__in=[State.QUEUED, State.PROCESSING]).count() == len(pks)
