"""End to end with a real ``manage.py qcluster`` process, the test database and the sandbox.

Tasks are created the way the create view does (``services.create_task``), so their
submission is enqueued on commit and everything after it happens in the cluster.
"""

import pytest
from cluster import running_cluster, wait_for
from django.core.files.storage import default_storage
from pipeline_helpers import text_task

from vidu_web.studio.models import FINAL_STATES, OUTCOME_UNKNOWN, Creation, GenerationTask, State, SweepSlot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]



def all_final(tasks):
    return GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).exclude(state__in=FINAL_STATES).count() == 0


def states(tasks):
    rows = GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).values_list("state", flat=True)
    return {state: list(rows).count(state) for state in set(rows)}


def assert_archived(task):
    creation = Creation.objects.get(task=task)
    assert default_storage.exists(creation.video.name) and default_storage.exists(creation.cover.name)
    with default_storage.open(creation.video.name) as f:
        assert f.read(8)[4:8] == b"ftyp"


def assert_created_once_at_most(sandbox, tasks):
    counts = sandbox.counts()
    assert set(counts) <= {str(t.uuid) for t in tasks}, "a create without our UUID as payload"
    assert max(counts.values(), default=0) <= 1, f"created twice: { {k: v for k, v in counts.items() if v > 1} }"
    return counts


def test_a_task_goes_from_pending_to_an_archived_video(cluster_settings, sandbox, team_a, alice):
    with running_cluster() as cluster:
        task = text_task(team_a, alice)
        wait_for(lambda: all_final([task]), timeout=40, message=f"the task to finish; log:\n{cluster.log()[-3000:]}")
        cluster.stop(timeout=10)
        log = cluster.log()
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED, (task.err_code, task.error)
    assert_archived(task)
    assert sandbox.counts() == {str(task.uuid): 1}
    # Stopped with SIGTERM, the sweep wrote what it had and freed its slot for the next start.
    assert SweepSlot.objects.get(slot=0).owner == "", log[-3000:]


def test_a_failure_marker_ends_it_failed_with_the_reason(cluster_settings, sandbox, team_a, alice):
    with running_cluster():
        task = text_task(team_a, alice, prompt="a duel [fail:TaskPromptPolicyViolation]")
        wait_for(lambda: all_final([task]), timeout=40, message="the task to fail")
    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.err_code == "TaskPromptPolicyViolation"
    assert task.error == "The prompt was blocked by Vidu's content policy."


def test_fifty_tasks_under_faults_all_finish_and_none_is_created_twice(cluster_settings, sandbox, team_a, alice):
    sandbox.configure(fault_rate=0.2, hang_seconds=3, fault_seed=7)
    tasks = [text_task(team_a, alice, prompt=f"shot {n}: waves at dusk") for n in range(50)]
    with running_cluster() as cluster:
        wait_for(lambda: all_final(tasks), timeout=120, interval=0.5,
                 message=f"50 tasks to finish: {states(tasks)}; log:\n{cluster.log()[-3000:]}")
    counts = assert_created_once_at_most(sandbox, tasks)
    outcome = states(tasks)
    for task in GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]):
        if task.state == State.SUCCEEDED:
            assert counts.get(str(task.uuid)) == 1
            assert_archived(task)
        else:
            # The only honest failures here: a create whose answer never came (never resent),
            # or one refused by faults so often that its bounded attempts ran out.
            assert task.state == State.FAILED and task.error, task
            assert task.err_code in (OUTCOME_UNKNOWN, "TooManyRequests", "InternalServiceFailure"), task.err_code
    assert outcome.get(State.SUCCEEDED, 0) >= 35, outcome
    print(f"\n50 tasks at 20 % faults: {outcome}, creates {sum(counts.values())}")


def test_sigkill_mid_run_loses_nothing_and_doubles_nothing(cluster_settings, sandbox, team_a, alice):
    sandbox.configure(step=0.3)
    tasks = [text_task(team_a, alice, prompt=f"take {n}: a lighthouse") for n in range(20)]
    with running_cluster() as cluster:
        wait_for(lambda: GenerationTask.objects.filter(state=State.SUCCEEDED).count() >= 3, timeout=40,
                 message=f"some tasks to finish: {states(tasks)}")
        cluster.kill()
        assert not cluster.alive
        at_kill = states(tasks)
        assert sum(n for s, n in at_kill.items() if s not in FINAL_STATES) > 0, at_kill
        cluster.start()
        wait_for(lambda: all_final(tasks), timeout=60, interval=0.5,
                 message=f"all tasks to finish after the restart: {states(tasks)}; log:\n{cluster.log()[-3000:]}")
    counts = assert_created_once_at_most(sandbox, tasks)
    for task in GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]):
        if task.state == State.SUCCEEDED:
            assert_archived(task)
            assert counts[str(task.uuid)] == 1
        else:  # killed while its create was in flight: visible, and never sent twice
            assert task.err_code == OUTCOME_UNKNOWN, (task.state, task.err_code, task.error)
    assert states(tasks).get(State.SUCCEEDED, 0) >= 18, (at_kill, states(tasks))
