"""A card's progress bar in a real browser, over the real pipeline: it never moves backwards."""

import time

import pytest

from tests.cluster import running_cluster, wait_for
from tests.studio_helpers import make_task
from vidu_web.studio.models import GenerationTask, State

pytestmark = [pytest.mark.e2e]


def test_the_bar_never_moves_backwards_from_create_to_done(vidu_settings, sandbox, e2e_media, live_server,
                                                           browser_pages, alice, team_a):
    # The team's history says such a task takes 1 s, and the sandbox queues it for 2 s and runs
    # it for 6 s with its own figure: an estimate in the queue would run ahead and then drop to
    # the provider's first percent (9 % -> 37 % -> 1 % in the report).
    for _ in range(3):
        make_task(team_a, alice, model="viduq2", duration=5, resolution="720p", seconds=1)
    sandbox.configure(step=1.0, processing_steps=6)
    with running_cluster():
        page = browser_pages(alice)
        page.goto("/create/")
        page.evaluate("window.__noReload = true")
        page.get_by_role("textbox", name="Prompt").fill("A lighthouse at dusk, waves rolling in")
        page.get_by_label("Model").select_option("viduq2")
        before = set(GenerationTask.objects.values_list("pk", flat=True))
        page.get_by_role("button", name="Generate").click()
        task = wait_for(lambda: GenerationTask.objects.exclude(pk__in=before).first(), 10, message="the new task")
        assert (task.model, task.duration, task.resolution) == ("viduq2", 5, "720p")
        page.locator(f'[data-task-id="{task.uuid}"]').first.wait_for()
        # State and bar read at once: a swap between two reads would pair them wrongly.
        read = f"""() => {{ const card = document.querySelector('[data-task-id="{task.uuid}"]');
            const bar = card && card.querySelector('[role=progressbar]');
            return [card ? card.dataset.state : '', bar ? Number(bar.getAttribute('aria-valuenow')) : null]; }}"""
        seen = []  # (state, percent) each time the card shows something new
        deadline = time.monotonic() + 60
        while True:
            state, percent = page.evaluate(read)
            if state == "succeeded":
                break
            assert state not in ("failed", "cancelled"), seen
            assert time.monotonic() < deadline, seen
            if percent is not None and (not seen or seen[-1] != (state, percent)):
                seen.append((state, percent))
                shown = [p for _, p in seen]
                assert shown == sorted(shown), f"the bar moved backwards: {seen}"
            time.sleep(0.1)
    # It was seen waiting and then running further on (the queue's estimate used to sit at 95 %).
    states = {state for state, _ in seen}
    assert states & {State.PENDING, State.QUEUED} and max(p for s, p in seen if s == State.PROCESSING) > 1, seen
