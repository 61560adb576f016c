"""True spend (vidu-api.md 6b): what counts, the sandbox's charges and refunds, GET /credits."""

import pytest
import requests
from django.utils import timezone
from pipeline_helpers import pipeline, reload, sweep_until, text_task  # noqa: F401 (fixture)
from sandbox_fixtures import api, unique_key

from tests.studio_helpers import make_task
from vidu_web.studio import providers
from vidu_web.studio.models import OUTCOME_UNKNOWN, State
from vidu_web.teams import queries, spend


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def month(team):
    return spend.total(spend.by_creator(spend.month_tasks(team)))


# --- what counts --------------------------------------------------------------------------------


def test_failed_and_cancelled_tasks_count_nothing(team_a, alice):
    make_task(team_a, alice, state=State.FAILED, credits=200, err_code="CreationPolicyViolation")
    make_task(team_a, alice, state=State.CANCELLED, credits=100, err_code="UserCancelled")
    make_task(team_a, alice, credits=40)
    assert month(team_a) == spend.Totals(spent=40, reserved=0)


def test_a_deleted_video_still_counts(alice_client, team_a, alice):
    task = make_task(team_a, alice, credits=200)
    before = alice_client.get("/team/").context["spend"].total
    task.deleted_at = timezone.now()
    task.save()
    assert alice_client.get("/team/").context["spend"].total == before == 200


def test_an_unknown_create_outcome_counts_its_estimate_until_settled(team_a, alice):
    task = make_task(team_a, alice, state=State.FAILED, credits=None, estimate=130, err_code=OUTCOME_UNKNOWN)
    assert month(team_a) == spend.Totals(spent=0, reserved=130)
    # The provider's late answer named it and charged 120: settled at that.
    task.state, task.upstream_id, task.credits, task.err_code = State.QUEUED, "123", 120, ""
    task.save()
    assert month(team_a) == spend.Totals(spent=120, reserved=0)


def test_a_running_task_reserves_its_estimate_until_the_provider_prices_it(team_a, alice):
    task = make_task(team_a, alice, state=State.PENDING, credits=None, estimate=90)
    assert month(team_a) == spend.Totals(spent=0, reserved=90)
    task.state, task.credits = State.PROCESSING, 80
    task.save()
    assert month(team_a) == spend.Totals(spent=80, reserved=0)


def test_the_team_page_counts_reserved_credits_in_the_months_spend(alice_client, team_a, alice):
    make_task(team_a, alice, credits=40)
    make_task(team_a, alice, state=State.PROCESSING, credits=None, estimate=60)
    html = alice_client.get("/team/").content.decode()
    assert 'data-spent="100"' in html and "60 reserved" in html


# --- the pipeline and the sandbox charge and refund the same way ------------------------------


def account(sandbox, key="test-key"):
    response = api(sandbox, "GET", "/ent/v2/credits", key)
    assert response.status_code == 200
    return response.json()["remains"][0]


@pytest.mark.django_db(transaction=True)
def test_a_task_failed_upstream_is_refunded_there_and_counts_nothing_here(pipeline, sandbox, team_a, alice):  # noqa: F811
    start = account(sandbox)["credit_remain"]
    task = text_task(team_a, alice, prompt="a storm [fail:CreationPolicyViolation]")
    sweep_until(lambda: reload(task).state == State.FAILED)
    task = reload(task)
    assert task.credits > 0  # what it cost before the refund, as the provider reports it
    assert account(sandbox)["credit_remain"] == start
    assert month(team_a) == spend.Totals(0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_finished_task_is_charged_there_and_counted_here_at_the_providers_price(pipeline, sandbox, team_a, alice):  # noqa: F811
    start = account(sandbox)["credit_remain"]
    task = text_task(team_a, alice)
    sweep_until(lambda: reload(task).state == State.SUCCEEDED)
    charged = start - account(sandbox)["credit_remain"]
    assert charged == reload(task).credits > 0
    assert month(team_a) == spend.Totals(charged, 0)


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_task_is_refunded_there_and_counts_nothing_here(pipeline, sandbox, team_a, alice):  # noqa: F811
    from vidu_web.studio import services

    start = account(sandbox)["credit_remain"]
    task = text_task(team_a, alice, off_peak=True)  # waits long enough in the queue to cancel
    assert reload(task).state == State.QUEUED  # submitted inline at commit
    assert account(sandbox)["credit_remain"] < start
    assert "refunds" in services.cancel_task(reload(task))
    assert account(sandbox)["credit_remain"] == start
    assert reload(task).state == State.CANCELLED and month(team_a) == spend.Totals(0, 0)


def test_the_sandbox_answers_the_account_with_concurrency(sandbox):
    key = unique_key()
    fresh = account(sandbox, key)
    assert fresh["credit_remain"] == sandbox.config()["credit_balance"]
    assert (fresh["concurrency_limit"], fresh["current_concurrency"], fresh["queue_count"]) == (5, 0, 0)
    api(sandbox, "POST", "/ent/v2/text2video", key, json={"model": "viduq2", "prompt": "x"})
    after = account(sandbox, key)
    assert after["queue_count"] + after["current_concurrency"] == 1
    assert after["credit_remain"] < fresh["credit_remain"]
    assert account(sandbox, unique_key())["credit_remain"] == fresh["credit_remain"]  # per key


def test_the_sandbox_refuses_a_create_the_account_cant_pay(sandbox):
    key = unique_key()
    sandbox.configure(credit_balance=100)
    response = api(sandbox, "POST", "/ent/v2/text2video", key, json={"model": "viduq2", "prompt": "x"})
    assert (response.status_code, response.json()["reason"]) == (400, "CreditInsufficient")
    assert account(sandbox, key)["credit_remain"] == 100


def test_the_adapter_reads_the_account(vidu_settings, sandbox):
    answer = providers.adapter("sandbox", providers.current().endpoint).account()
    assert answer.credit_remain == sandbox.config()["credit_balance"] and answer.concurrency_limit == 5


def test_a_gateway_without_the_account_call_shows_nothing(vidu_settings, sandbox):
    # A path the sandbox doesn't serve answers 404, as a gateway without /credits would.
    adapter = providers.adapter("sandbox", providers.current().endpoint + "/nothing-here")
    assert adapter.account() is None


def test_the_account_endpoint_needs_a_key(sandbox):
    assert requests.get(f"{sandbox.url}/ent/v2/credits", timeout=5).status_code == 401


def test_month_bounds_stay_where_the_team_page_looks(team_a):
    assert queries.month_bounds() == spend.month_bounds()


def test_the_video_page_says_a_failed_tasks_credits_were_refunded(alice_client, team_a, alice):
    failed = make_task(team_a, alice, state=State.FAILED, credits=200, err_code="CreationPolicyViolation")
    done = make_task(team_a, alice, credits=40)
    assert "200 <span class=\"muted\">(refunded)</span>" in alice_client.get(f"/videos/{failed.uuid}/").content.decode()
    assert "(refunded)" not in alice_client.get(f"/videos/{done.uuid}/").content.decode()
