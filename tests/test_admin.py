"""The admin: lists with their columns and filters, Vidu's fields read-only, the pipeline's actions."""

import pytest
from django.urls import reverse
from django.utils import timezone
from pipeline_helpers import pipeline, reload, state_of, sweep_until, text_task  # noqa: F401

from tests.studio_helpers import make_task
from vidu_web.studio.models import Creation, GenerationTask, State, TaskEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("pipeline")]


@pytest.fixture
def unsent(team_a, alice, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.submit", lambda task_id: None)
        return text_task(team_a, alice, prompt="a lighthouse in fog")


@pytest.mark.parametrize("model", ["teams/team", "teams/membership", "studio/prompt", "studio/generationtask",
                                   "studio/creation", "studio/sweepslot"])
def test_each_list_loads_with_search_and_filters(admin_client, unsent, model):
    app, name = model.split("/")
    url = reverse(f"admin:{app}_{name}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "lighthouse"}).status_code == 200


def test_the_task_list_finds_a_task_by_prompt_and_filters_by_state(admin_client, unsent):
    failed = make_task(unsent.team, unsent.creator, state=State.FAILED, prompt="a lighthouse in a storm")
    url = reverse("admin:studio_generationtask_changelist")
    page = admin_client.get(url, {"q": "lighthouse", "state__exact": "pending"}).content.decode()
    assert str(unsent.uuid) in page and str(failed.uuid) not in page
    response = admin_client.get(url, {"state__exact": "failed"})
    assert response.status_code == 200  # not the "?e=1" redirect of a filter the admin refused
    assert str(failed.uuid) in response.content.decode() and str(unsent.uuid) not in response.content.decode()


def test_vidus_fields_are_read_only(admin_client, unsent):
    GenerationTask.objects.filter(pk=unsent.pk).update(upstream_id="123456", credits=40)
    url = reverse("admin:studio_generationtask_change", args=[unsent.pk])
    page = admin_client.get(url).content.decode()
    assert "123456" in page
    assert 'name="upstream_id"' not in page and 'name="credits"' not in page and 'name="state"' not in page
    assert 'name="is_private"' in page  # ours to change


def act(admin_client, action, *tasks):
    url = reverse("admin:studio_generationtask_changelist")
    return admin_client.post(url, {"action": action, "_selected_action": [t.pk for t in tasks]}, follow=True)


def test_the_poll_now_action_makes_a_running_task_due(admin_client, unsent):
    GenerationTask.objects.filter(pk=unsent.pk).update(state=State.PROCESSING, upstream_id="1",
                                                       next_attempt_at=timezone.now() + timezone.timedelta(hours=1))
    response = act(admin_client, "poll_now", unsent)
    assert "checked with Vidu right away" in response.content.decode()
    assert reload(unsent).next_attempt_at <= timezone.now()


def test_the_cancel_action_cancels_while_vidu_allows_it(admin_client, sandbox, team_a, alice):
    sandbox.configure(step=30)
    task = text_task(team_a, alice)
    assert state_of(task) == State.QUEUED
    response = act(admin_client, "cancel", task)
    assert "Cancelled" in response.content.decode()
    task = reload(task)
    assert task.state == State.CANCELLED and task.err_code == "UserCancelled" and task.finished_at


def test_the_cancel_action_says_when_vidu_has_already_scheduled_it(admin_client, sandbox, team_a, alice):
    task = text_task(team_a, alice)
    sweep_until(lambda: state_of(task) == State.PROCESSING)
    response = act(admin_client, "cancel", task)
    assert "already scheduled this task" in response.content.decode()
    assert state_of(task) == State.PROCESSING


def test_a_pending_task_is_cancelled_without_asking_vidu(admin_client, unsent, sandbox):
    act(admin_client, "cancel", unsent)
    assert state_of(unsent) == State.CANCELLED
    assert sandbox.total_creates() == 0


def test_retrying_a_failed_submission_resets_and_sends_it(admin_client, sandbox, team_a, alice):
    task = text_task(team_a, alice, prompt="x [reject:ModelUnavailable]")
    assert state_of(task) == State.FAILED
    # Fixed upstream: the same task (same UUID) may now go, since Vidu never created it.
    from vidu_web.studio.models import Prompt

    Prompt.objects.filter(pk=task.prompt_id).update(text="x")
    act(admin_client, "retry", task)
    task = reload(task)
    assert task.state == State.QUEUED and task.attempts == 1
    assert sandbox.counts() == {str(task.uuid): 1}


def test_retrying_a_task_vidu_failed_makes_a_new_task(admin_client, sandbox, team_a, alice):
    task = text_task(team_a, alice, prompt="storm [fail:CreationPolicyViolation]")
    sweep_until(lambda: state_of(task) == State.FAILED)
    act(admin_client, "retry", task)
    copy = GenerationTask.objects.exclude(pk=task.pk).get()
    assert copy.prompt_id == task.prompt_id and copy.uuid != task.uuid
    assert state_of(task) == State.FAILED
    assert sandbox.counts() == {str(task.uuid): 1, str(copy.uuid): 1}
    assert TaskEvent.objects.filter(task=copy, note__contains=str(task.uuid)).exists()


def test_the_rearchive_action_copies_a_lost_video_again(admin_client, sandbox, team_a, alice):
    task = text_task(team_a, alice)
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    creation = Creation.objects.get(task=task)
    creation.video.storage.delete(creation.video.name)
    act(admin_client, "rearchive", task)
    task = reload(task)
    assert task.state == State.SUCCEEDED
    creation = Creation.objects.get(task=task)
    assert creation.video.storage.exists(creation.video.name)
