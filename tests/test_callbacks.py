"""The callback endpoint: signed updates applied, forged or replayed ones refused, gateways as hints."""

import json
import time

import pytest
from django.test import Client
from django.utils import timezone
from pipeline_helpers import pipeline, reload, state_of, sweep_until, text_task  # noqa: F401

from vidu_web.studio.models import OUTCOME_UNKNOWN, GenerationTask, State
from vidu_web.vidu import signing

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("pipeline")]

KEY = "test-key"


@pytest.fixture
def hooks(settings):
    settings.VIDU_PROVIDER = "sandbox"
    settings.VIDU_API_KEY = KEY
    settings.VIDU_CALLBACK_BASE_URL = "http://testserver"
    return Client(enforce_csrf_checks=True)  # anonymous, like Vidu


@pytest.fixture
def running(team_a, alice, monkeypatch):
    """A task Vidu holds as 111, queued, next looked at in a minute."""
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.submit", lambda task_id: None)
        task = text_task(team_a, alice)
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.QUEUED, upstream_id="111", upstream_state="queueing",
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=1))
    return reload(task)


def body(task, state="processing", upstream_id="111", **extra):
    return json.dumps({"id": upstream_id, "state": state, "payload": str(task.uuid), "progress": 40, "creations": [],
                       **extra})


def post(client, task, data, headers=None, secret=None, key=KEY, **sign_args):
    url = task.callback_url()
    if headers is None:
        headers = signing.sign(key, url, **sign_args)
    path = url.removeprefix("http://testserver")
    if secret is not None:
        path = path.replace(task.callback_secret, secret)
    return client.post(path, data, content_type="application/json", headers=headers)


def test_a_signed_progress_callback_is_applied_at_once(hooks, running):
    response = post(hooks, running, body(running))
    assert response.status_code == 200
    task = reload(running)
    assert task.state == State.PROCESSING and task.progress == 40 and task.upstream_state == "processing"
    assert task.api_calls == 0


def test_a_final_callback_makes_the_sweep_query_the_task_now(hooks, running):
    response = post(hooks, running, body(running, state="success"))
    assert response.status_code == 200
    task = reload(running)
    assert task.state == State.QUEUED  # the query, not the callback, moves it on
    assert task.next_attempt_at <= timezone.now()


def test_a_callback_with_a_wrong_secret_is_refused(hooks, running):
    response = post(hooks, running, body(running), secret="guessed")
    assert response.status_code == 403
    assert reload(running).state == State.QUEUED


def test_a_forged_signature_is_refused(hooks, running):
    response = post(hooks, running, body(running), key="not-our-key")
    assert response.status_code == 403
    task = reload(running)
    assert task.state == State.QUEUED and task.next_attempt_at > timezone.now()


def test_an_unsigned_callback_is_refused_when_the_provider_signs(hooks, running):
    assert post(hooks, running, body(running), headers={}).status_code == 403
    assert reload(running).state == State.QUEUED


def test_a_replayed_callback_is_refused(hooks, running):
    headers = signing.sign(KEY, running.callback_url())
    assert post(hooks, running, body(running), headers=headers).status_code == 200
    GenerationTask.objects.filter(pk=running.pk).update(progress=90)
    assert post(hooks, running, body(running), headers=headers).status_code == 403
    assert reload(running).progress == 90


def test_a_stale_callback_is_refused(hooks, running):
    response = post(hooks, running, body(running), now=time.time() - 3600)
    assert response.status_code == 403
    assert reload(running).state == State.QUEUED


def test_a_callback_for_another_vidu_task_changes_nothing(hooks, running):
    assert post(hooks, running, body(running, upstream_id="999")).status_code == 200
    assert reload(running).state == State.QUEUED


def test_an_unreadable_body_is_only_a_hint_to_poll(hooks, running):
    assert post(hooks, running, "{not json").status_code == 200
    task = reload(running)
    assert task.state == State.QUEUED and task.next_attempt_at <= timezone.now()


def gateway_task(task):
    """``task`` as if it had been created through a gateway (which can't sign callbacks)."""
    GenerationTask.objects.filter(pk=task.pk).update(provider="dataeyes", endpoint="https://api.dataeyes.ai/v2")
    return reload(task)


def test_a_gateway_callback_is_only_a_hint_to_poll(hooks, running):
    task = gateway_task(running)
    assert post(hooks, task, body(task), headers={}).status_code == 200
    task = reload(task)
    assert task.state == State.QUEUED and task.progress is None
    assert task.next_attempt_at <= timezone.now()


def test_the_task_s_own_provider_decides_whether_a_callback_is_verified(hooks, running, settings):
    # Switching the install to a gateway doesn't make callbacks for tasks Vidu holds unverified.
    settings.VIDU_PROVIDER = "dataeyes"
    assert post(hooks, running, body(running), headers={}).status_code == 403
    assert reload(running).state == State.QUEUED


def test_an_unverified_callback_never_adopts_an_id(hooks, running):
    # A forged body naming another task's id must not move a submitting task onto it.
    GenerationTask.objects.filter(pk=running.pk).update(state=State.SUBMITTING, upstream_id="",
                                                        err_code=OUTCOME_UNKNOWN)
    task = gateway_task(running)
    assert post(hooks, task, body(task, upstream_id="someone-elses"), headers={}).status_code == 200
    task = reload(task)
    assert task.state == State.SUBMITTING and task.upstream_id == ""


def test_an_unverified_callback_never_applies_its_body(hooks, running):
    task = gateway_task(running)
    post(hooks, task, body(task, state="failed", err_code="CreationPolicyViolation"), headers={})
    task = reload(task)
    assert task.state == State.QUEUED and task.err_code == ""


@pytest.mark.parametrize("data", ['{"id": "111", "state": "processing", "credits": 1e400}', "[" * 100000,
                                  '{"id": 1e400, "state": "processing"}', '{"id": "111", "state": ["x"]}',
                                  '{"id": "111", "state": "processing", "progress": 1e400}'])
def test_a_signed_body_of_any_shape_changes_nothing_and_never_answers_500(hooks, running, data):
    # A field out of range (1e400) is read as absent: it is never stored, whatever else the body says.
    response = post(hooks, running, data)
    assert response.status_code == 200
    task = reload(running)
    assert task.state in (State.QUEUED, State.PROCESSING) and task.credits is None and task.progress is None
    assert task.upstream_id == "111" and not task.err_code


def test_a_callback_adopts_the_vidu_id_of_a_create_with_an_unknown_outcome(hooks, running):
    GenerationTask.objects.filter(pk=running.pk).update(state=State.SUBMITTING, upstream_id="",
                                                        err_code=OUTCOME_UNKNOWN)
    task = reload(running)
    assert post(hooks, task, body(task, upstream_id="222")).status_code == 200
    task = reload(task)
    assert task.state == State.QUEUED and task.upstream_id == "222" and task.err_code == ""


def test_a_callback_without_our_uuid_adopts_nothing(hooks, running):
    GenerationTask.objects.filter(pk=running.pk).update(state=State.SUBMITTING, upstream_id="",
                                                        err_code=OUTCOME_UNKNOWN)
    task = reload(running)
    assert post(hooks, task, body(task, upstream_id="222", payload="someone else")).status_code == 200
    task = reload(task)
    assert task.state == State.SUBMITTING and task.upstream_id == ""


def test_a_get_is_not_a_callback(hooks, running):
    assert hooks.get(running.callback_url().removeprefix("http://testserver")).status_code == 405


def test_callbacks_reconcile_a_lost_create_end_to_end(live_server, sandbox, settings, team_a, alice):
    """The create's answer is lost; Vidu's signed callback names the task; it finishes once."""
    settings.VIDU_CALLBACK_BASE_URL = live_server.url
    sandbox.configure(fault_rate=1.0, fault_kinds=["badjson"])
    task = text_task(team_a, alice)
    sandbox.configure(fault_rate=0.0)
    task = reload(task)
    assert task.state == State.SUBMITTING and task.err_code == OUTCOME_UNKNOWN
    sweep_until(lambda: state_of(task) == State.SUCCEEDED, timeout=20)
    assert sandbox.counts() == {str(task.uuid): 1}
    assert reload(task).upstream_id
