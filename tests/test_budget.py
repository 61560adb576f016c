"""Budgets that hold: the estimate on the create form, the team's budget and members' caps
reserved at create, refusals that say why and make nothing, warnings from 80 %."""

import threading
from html import unescape

import pytest
from django.db import connection
from pipeline_helpers import text_task

from tests.studio_helpers import HTMX, csrf_post, make_task
from vidu_web.studio import services
from vidu_web.studio.models import GenerationTask, Prompt, State
from vidu_web.teams import spend
from vidu_web.teams.models import AuditEvent, Membership, Team

TEXT = {"mode": "text2video", "prompt": "a fox in the snow", "model": "viduq2", "duration": "5", "resolution": "720p"}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def priced(team, user, credits, **fields):
    """A finished viduq2 5 s 720p video that cost ``credits``: the history estimates come from."""
    return make_task(team, user, model="viduq2", duration=5, resolution="720p", credits=credits,
                     params={"audio": False, "off_peak": False}, **fields)


def set_budget(team, credits):
    Team.objects.filter(pk=team.pk).update(credit_budget=credits)


def set_cap(team, user, credits):
    Membership.objects.filter(team=team, user=user).update(credit_cap=credits)


# --- the estimate -------------------------------------------------------------------------------


def test_the_estimate_is_this_teams_history_first_then_the_installs(team_a, alice, charlie):
    assert spend.estimate(team_a, "viduq2", 5, "720p", {}) == spend.Estimate(None)
    priced(charlie.teams.get(), charlie, 150)
    assert spend.estimate(team_a, "viduq2", 5, "720p", {}) == spend.Estimate(150, "install")
    priced(team_a, alice, 130)
    assert spend.estimate(team_a, "viduq2", 5, "720p", {}) == spend.Estimate(130, "team")


def test_the_estimate_tells_settings_apart(team_a, alice):
    priced(team_a, alice, 130)
    make_task(team_a, alice, model="viduq2", duration=5, resolution="720p", credits=65, params={"off_peak": True})
    make_task(team_a, alice, model="viduq2", duration=5, resolution="720p", credits=160, params={"audio": True})
    make_task(team_a, alice, state=State.FAILED, model="viduq2", duration=5, resolution="1080p", credits=260)
    assert spend.estimate(team_a, "viduq2", 5, "720p", {"off_peak": True}).credits == 65
    assert spend.estimate(team_a, "viduq2", 5, "720p", {"audio": True}).credits == 160
    assert spend.estimate(team_a, "viduq2", 5, "720p", {"is_rec": True}).credits == 140  # 6b: +10
    assert not spend.estimate(team_a, "viduq2", 5, "1080p", {}).known  # a failed task prices nothing


def test_the_create_form_shows_the_estimate(alice_client, team_a, alice):
    priced(team_a, alice, 130)
    html = alice_client.get("/create/?model=viduq2&duration=5&resolution=720p").content.decode()
    assert 'data-estimate="130"' in html and "about 130 credits" in html


def test_the_estimate_follows_the_settings(alice_client, team_a, alice):
    priced(team_a, alice, 130)
    response = alice_client.get("/create/estimate/?mode=text2video&model=viduq2&duration=5&resolution=1080p", **HTMX)
    assert 'data-estimate=""' in response.content.decode() and "unknown" in response.content.decode()
    response = alice_client.get("/create/estimate/?mode=text2video&model=viduq2&duration=5&resolution=720p", **HTMX)
    assert 'data-estimate="130"' in response.content.decode()


def test_the_estimate_endpoint_takes_nonsense_calmly(alice_client):
    response = alice_client.get("/create/estimate/?mode=%00&model=nope&duration=-1&resolution=9999p&audio=x")
    assert response.status_code == 200 and 'id="estimate"' in response.content.decode()


def test_an_outsider_is_estimated_from_the_install_not_told_whose(charlie_client, team_a, alice):
    priced(team_a, alice, 130)
    html = charlie_client.get("/create/estimate/?mode=text2video&model=viduq2&duration=5&resolution=720p").content.decode()
    assert 'data-estimate="130"' in html and "this install" in html and "alice" not in html


# --- refusals -------------------------------------------------------------------------------------


def test_a_create_past_the_budget_is_refused_with_the_figures_and_makes_nothing(vidu_settings, sandbox, alice_client, team_a, alice, bob):
    priced(team_a, bob, 130)
    make_task(team_a, bob, state=State.PROCESSING, credits=None, estimate=50)
    set_budget(team_a, 250)
    tasks, prompts = GenerationTask.objects.count(), Prompt.objects.count()
    response = csrf_post(alice_client, "/create/", TEXT, **HTMX)
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "the team's monthly budget of 250 credits" in html and "about 130 credits" in html
    assert "130 spent and 50 reserved" in html
    assert (GenerationTask.objects.count(), Prompt.objects.count()) == (tasks, prompts)
    assert sandbox.total_creates() == 0


def test_a_create_past_the_members_cap_is_refused(alice_client, bob_client, team_a, alice, bob):
    priced(team_a, bob, 130)
    set_cap(team_a, bob, 200)
    response = csrf_post(bob_client, "/create/", TEXT, **HTMX)
    assert "your monthly cap of 200 credits" in unescape(response.content.decode())
    assert GenerationTask.objects.filter(creator=bob).count() == 1
    # Alice has no cap, and the team no budget: she goes ahead.
    csrf_post(alice_client, "/create/", TEXT, **HTMX)
    assert GenerationTask.objects.filter(creator=alice).count() == 1


def test_refunded_work_gives_the_budget_back(alice_client, team_a, alice):
    priced(team_a, alice, 130)
    make_task(team_a, alice, state=State.FAILED, credits=500, err_code="CreationPolicyViolation")
    set_budget(team_a, 300)
    csrf_post(alice_client, "/create/", TEXT, **HTMX)
    assert GenerationTask.objects.get(state=State.PENDING).estimate == 130


def test_an_unknown_price_is_refused_only_once_nothing_is_left(team_a, alice):
    set_budget(team_a, 100)
    text_task(team_a, alice, model="viduq1", duration=5, resolution="1080p")  # no history: unknown
    make_task(team_a, alice, credits=100)
    with pytest.raises(services.TaskRejected) as refused:
        text_task(team_a, alice)
    assert "a video of unknown cost" in refused.value.errors["budget"]


@pytest.mark.django_db(transaction=True)
def test_two_members_cant_both_take_the_last_credits(team_a, alice, bob):
    """Two creates at once with credits left for one: the team row's lock lets one through."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (make test uses it)")
    priced(team_a, alice, 130)
    set_budget(team_a, 300)  # 130 spent: room for one more of 130, not two
    barrier, outcomes = threading.Barrier(2), []

    def create(user):
        try:
            barrier.wait()
            services.create_task(team_a, user, "text2video", {"model": "viduq2", "prompt": "race", "duration": 5,
                                                              "resolution": "720p"}, [])
            outcomes.append("made")
        except services.TaskRejected:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(user,)) for user in (alice, bob)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["made", "refused"]
    assert GenerationTask.objects.filter(state=State.PENDING).count() == 1


# --- warnings -------------------------------------------------------------------------------------


def test_the_form_and_the_team_page_warn_from_80_percent(alice_client, team_a, alice):
    priced(team_a, alice, 79)
    set_budget(team_a, 100)
    assert "data-limit-warning" not in alice_client.get("/team/").content.decode()
    priced(team_a, alice, 1)
    team = alice_client.get("/team/").content.decode()
    assert 'data-limit-warning="budget"' in team and "80 % of its monthly budget" in team
    form = alice_client.get("/create/").content.decode()
    assert 'data-limit-warning="budget"' in form and "The team has used 80 % of its monthly budget" in form


def test_the_form_says_before_generate_when_a_video_would_be_refused(bob_client, team_a, bob):
    priced(team_a, bob, 130)
    set_cap(team_a, bob, 250)
    html = unescape(bob_client.get("/create/?model=viduq2&duration=5&resolution=720p").content.decode())
    assert 'data-limit-warning="cap"' in html and "won't start" in html


# --- budget and caps: who may set them, and bad input ---------------------------------------------


def test_an_owner_sets_the_budget(alice_client, team_a):
    response = csrf_post(alice_client, "/team/budget/", {"credit_budget": "5000"}, page="/team/")
    assert response.status_code == 302 and Team.objects.get(pk=team_a.pk).credit_budget == 5000
    assert 'data-budget="5000"' in alice_client.get("/team/").content.decode()


def test_a_member_cant_set_the_budget(bob_client, team_a):
    response = csrf_post(bob_client, "/team/budget/", {"credit_budget": "1"}, page="/team/")
    assert response.status_code == 403 and Team.objects.get(pk=team_a.pk).credit_budget == 0


def test_an_outsider_sets_only_his_own_teams_budget(charlie_client, charlie, team_a):
    csrf_post(charlie_client, "/team/budget/", {"credit_budget": "7"}, page="/team/")
    assert Team.objects.get(pk=team_a.pk).credit_budget == 0 and charlie.teams.get().credit_budget == 7


@pytest.mark.parametrize("value, message", [
    ("-1", "can't be negative"), (str(2**31), "at most 2147483647"), ("lots", "whole number"), ("", "Type a number"),
])
def test_a_budget_out_of_range_gets_a_message_and_changes_nothing(alice_client, team_a, value, message):
    set_budget(team_a, 10)
    response = csrf_post(alice_client, "/team/budget/", {"credit_budget": value}, page="/team/")
    assert response.status_code == 200 and message in unescape(response.content.decode())
    assert Team.objects.get(pk=team_a.pk).credit_budget == 10


def test_an_owner_sets_a_members_cap(alice_client, team_a, bob):
    member = Membership.objects.get(team=team_a, user=bob)
    response = csrf_post(alice_client, f"/team/members/{member.pk}/cap/", {"credit_cap": "400"}, page="/team/", **HTMX)
    assert response.status_code == 200 and 'data-cap="400"' in response.content.decode()
    assert Membership.objects.get(pk=member.pk).credit_cap == 400


def test_a_member_cant_set_caps(bob_client, team_a, bob):
    member = Membership.objects.get(team=team_a, user=bob)
    response = csrf_post(bob_client, f"/team/members/{member.pk}/cap/", {"credit_cap": "0"}, page="/team/")
    assert response.status_code == 403


def test_an_outsider_cant_reach_a_members_cap(charlie_client, team_a, bob):
    member = Membership.objects.get(team=team_a, user=bob)
    response = csrf_post(charlie_client, f"/team/members/{member.pk}/cap/", {"credit_cap": "1"}, page="/team/")
    assert response.status_code == 404 and Membership.objects.get(pk=member.pk).credit_cap == 0


@pytest.mark.parametrize("value", ["-5", str(2**31), "1e3", "🙂"])
def test_a_cap_out_of_range_gets_a_message_and_changes_nothing(alice_client, team_a, bob, value):
    member = Membership.objects.get(team=team_a, user=bob)
    set_cap(team_a, bob, 9)
    response = csrf_post(alice_client, f"/team/members/{member.pk}/cap/", {"credit_cap": value}, page="/team/", **HTMX)
    html = unescape(response.content.decode())
    assert response.status_code == 200 and f'id="cap-{member.pk}-error"' in html
    assert Membership.objects.get(pk=member.pk).credit_cap == 9
    assert not AuditEvent.objects.filter(action="cap-changed").exists()


# --- try again ------------------------------------------------------------------------------------


def test_trying_a_teammates_failed_task_again_spends_in_the_clickers_name(alice_client, team_a, alice, bob):
    failed = make_task(team_a, bob, state=State.FAILED, credits=None, err_code="BadRequest", upstream_id="")
    response = csrf_post(alice_client, f"/tasks/{failed.uuid}/retry/", {"next": "/tasks/"}, page="/tasks/")
    assert response.status_code == 302
    new = GenerationTask.objects.get(retry_of=failed)
    assert new.creator == alice and GenerationTask.objects.get(pk=failed.pk).state == State.FAILED
    note = [str(m) for m in response.wsgi_request._messages]
    assert any("in your name" in m and "not bob's" in m for m in note)


def test_trying_again_is_refused_past_the_budget(alice_client, team_a, alice):
    priced(team_a, alice, 130)
    failed = make_task(team_a, alice, model="viduq2", duration=5, resolution="720p", state=State.FAILED,
                       credits=None, err_code="BadRequest", upstream_id="")
    set_budget(team_a, 200)
    response = csrf_post(alice_client, f"/tasks/{failed.uuid}/retry/", {"next": "/tasks/"}, page="/tasks/")
    assert response.status_code == 302
    assert GenerationTask.objects.get(pk=failed.pk).state == State.FAILED
    assert any("monthly budget" in str(m) for m in response.wsgi_request._messages)
