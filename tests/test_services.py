"""services.retry_task: a failed task runs again once, however often "Try again" is clicked."""

import pytest
from pipeline_helpers import pipeline, reload, state_of, sweep_until, text_task  # noqa: F401 (a fixture)

from vidu_web.studio import services
from vidu_web.studio.models import GenerationTask, State

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("pipeline")]


@pytest.fixture
def failed_at_vidu(team_a, alice):
    task = text_task(team_a, alice, prompt="a storm [fail:CreationPolicyViolation]")
    sweep_until(lambda: state_of(task) == State.FAILED)
    task = reload(task)
    assert task.upstream_id  # Vidu has it: a retry must be a new task
    return task


def test_a_task_vidu_failed_is_copied_once_however_often_it_is_retried(failed_at_vidu, alice, sandbox):
    first = services.retry_task(failed_at_vidu, alice)
    second = services.retry_task(failed_at_vidu, alice)
    assert first.pk == second.pk != failed_at_vidu.pk
    assert first.retry_of_id == failed_at_vidu.pk
    assert GenerationTask.objects.filter(prompt=failed_at_vidu.prompt).count() == 2
    assert sandbox.counts().get(str(first.uuid)) == 1  # the copy was submitted once


def test_a_concurrent_retry_gets_the_copy_the_other_made(failed_at_vidu, alice, monkeypatch):
    made = services.copy_task(failed_at_vidu, alice)  # the other request's copy
    real_filter = GenerationTask.objects.filter
    # This request looked before the other one committed: it saw no copy yet.
    monkeypatch.setattr(GenerationTask.objects, "filter",
                        lambda *a, **kw: real_filter(pk=None) if "retry_of" in kw else real_filter(*a, **kw))
    assert services.retry_task(failed_at_vidu, alice).pk == made.pk


def test_a_submission_vidu_refused_is_sent_again_as_the_same_task(team_a, alice):
    task = reload(text_task(team_a, alice, prompt="a duel [reject:CreditInsufficient]"))
    assert task.state == State.FAILED and not task.upstream_id
    again = services.retry_task(task, alice)
    assert again.pk == task.pk
