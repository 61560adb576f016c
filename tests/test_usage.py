"""/team/usage/ (charts, members against their caps, the provider's balance) and
/team/usage.csv (one row per task; owners and admins get everyone's, others their own)."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.cache import cache

from tests.studio_helpers import make_task
from vidu_web.studio.models import State
from vidu_web.teams import usage
from vidu_web.teams.models import Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def fresh_cache(db):
    cache.clear()
    yield
    cache.clear()


def rows_of(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_page_charts_credits_by_member_and_model_and_tasks(bob_client, alice, bob, team_a):
    make_task(team_a, alice, credits=40, model="viduq1")
    make_task(team_a, bob, credits=25, model="viduq2", resolution="720p")
    make_task(team_a, bob, state=State.FAILED, credits=99, err_code="CreationPolicyViolation")
    response = bob_client.get("/team/usage/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="chart"') == 3
    assert "alice, " in html and ": 40 credits" in html and "viduq2" in html
    assert 'data-tasks="3" data-failed="1"' in html and "(33 %)" in html
    assert 'data-usage-member="alice"' in html and 'data-usage-member="bob"' in html


def test_the_member_table_shows_spend_against_the_cap(alice_client, alice, bob, team_a):
    Membership.objects.filter(team=team_a, user=bob).update(credit_cap=50)
    make_task(team_a, bob, credits=45)
    make_task(team_a, bob, state=State.PROCESSING, credits=None, estimate=5)
    html = alice_client.get("/team/usage/").content.decode()
    assert "50 of 50 (100 %)" in html


def test_an_outsider_sees_only_his_own_team(charlie_client, alice, charlie, team_a):
    make_task(team_a, alice, credits=40, prompt="studio a's secret")
    html = charlie_client.get("/team/usage/").content.decode()
    assert 'data-usage-member="alice"' not in html and 'data-spent="0"' in html


def test_the_providers_balance_shows_when_it_answers(vidu_settings, sandbox, alice_client, alice):
    html = alice_client.get("/team/usage/").content.decode()
    assert f'data-account-remain="{sandbox.config()["credit_balance"]}"' in html
    assert "0 of 5 running at once" in html


def test_nothing_about_the_balance_when_the_provider_has_no_such_call(vidu_settings, sandbox, settings, alice_client, alice):
    settings.VIDU_BASE_URL = sandbox.url + "/nothing-here"  # answers 404, as a gateway without it would
    html = alice_client.get("/team/usage/").content.decode()
    assert "data-account-remain" not in html and "test-key" not in html


def test_nothing_about_the_balance_when_the_provider_is_down(vidu_settings, settings, alice_client, alice):
    settings.VIDU_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    response = alice_client.get("/team/usage/")
    assert response.status_code == 200 and "data-account-remain" not in response.content.decode()


def test_another_month_and_a_bad_month(alice_client, alice, team_a):
    last = usage.month_of().start - timedelta(days=3)
    make_task(team_a, alice, credits=70, created_at=last)
    assert 'data-spent="70"' in alice_client.get(f"/team/usage/?month={last:%Y-%m}").content.decode()
    assert 'data-spent="0"' in alice_client.get("/team/usage/").content.decode()
    for bad in ("2024-13", "0-1", "x", "99999-01", "%00"):
        assert alice_client.get(f"/team/usage/?month={bad}").status_code == 200


def test_the_csv_has_a_header_and_a_row_per_task_for_owners(alice_client, alice, bob, team_a):
    make_task(team_a, alice, credits=40)
    make_task(team_a, bob, state=State.FAILED, credits=99, err_code="CreationPolicyViolation")
    make_task(team_a, bob, credits=10, deleted_at=make_task(team_a, bob).created_at)
    response = alice_client.get("/team/usage.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = rows_of(response)
    assert list(rows[0]) == list(usage.CSV_HEADER)
    assert len(rows) == 4
    failed = next(r for r in rows if r["state"] == "failed")
    assert (failed["credits"], failed["counted"]) == ("99", "0")
    assert any(r["deleted"] and r["counted"] == "10" for r in rows)


def test_a_member_gets_only_their_own_rows(bob_client, alice, bob, team_a):
    make_task(team_a, alice, credits=40)
    make_task(team_a, bob, credits=5)
    assert [r["creator"] for r in rows_of(bob_client.get("/team/usage.csv"))] == ["bob"]


def test_an_outsider_gets_none_of_another_teams_rows(charlie_client, alice, charlie, team_a):
    make_task(team_a, alice, credits=40)
    assert rows_of(charlie_client.get("/team/usage.csv")) == []


def test_a_prompt_cant_become_a_spreadsheet_formula(alice_client, alice, team_a):
    make_task(team_a, alice, prompt="=HYPERLINK(\"http://evil\")")
    assert rows_of(alice_client.get("/team/usage.csv"))[0]["prompt"].startswith("'=")


def test_the_csv_for_one_month(alice_client, alice, team_a):
    make_task(team_a, alice, credits=40, created_at=usage.month_of().start - timedelta(days=3))
    make_task(team_a, alice, credits=5)
    assert len(rows_of(alice_client.get("/team/usage.csv"))) == 2
    assert len(rows_of(alice_client.get(f"/team/usage.csv?month={usage.month_of().start:%Y-%m}"))) == 1


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for url in ("/team/usage/", "/team/usage.csv", "/team/audit/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_days_bar_is_as_high_as_its_tasks_failed_ones_included():
    from datetime import date

    from vidu_web.teams.usage import Series, stacked_bars

    days = [date(2026, 11, 1)]
    svg = stacked_bars([Series("not failed", [2], "#111"), Series("failed", [2], "#222")], days, "t", "tasks")
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]
    tops = re.findall(r'class="tick">(\d+)</text>', svg)
    assert tops[:3] == ["0", "2", "4"]  # an even top: the middle label is where its line is
    assert abs(sum(heights) - max(heights) * 2) < 0.2  # two equal halves, together the full plot height


def test_tasks_and_failures_stack_to_the_days_count(alice, team_a):
    from tests.studio_helpers import make_task
    from vidu_web.studio.models import State
    from vidu_web.teams import usage

    for state in (State.SUCCEEDED, State.SUCCEEDED, State.FAILED, State.FAILED):
        make_task(team_a, alice, state=state)
    series, made, failed = usage.tasks_and_failures(team_a, usage.month_of())
    assert (made, failed) == (4, 2)
    assert sum(sum(s.values) for s in series) == 4
