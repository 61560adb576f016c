"""The create page (with its estimate), the team page and the usage page run a fixed number of
queries, with 3 tasks or 300."""

import pytest

from tests.studio_helpers import make_task
from vidu_web.studio.models import State
from vidu_web.teams.models import Membership, Team


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def no_provider_account(monkeypatch):
    """The usage page asks the provider for its balance (cached a minute): not a query here."""
    monkeypatch.setattr("vidu_web.teams.views._provider_account", lambda: None)


def fill(team, users, n):
    """``n`` tasks of every kind that counts differently: finished, running, failed, deleted."""
    kinds = [dict(state=State.SUCCEEDED, credits=40), dict(state=State.PROCESSING, credits=None, estimate=30),
             dict(state=State.FAILED, credits=90, err_code="CreationPolicyViolation"),
             dict(state=State.SUCCEEDED, credits=20, with_video=False)]
    for i in range(n):
        make_task(team, users[i % len(users)], model=("viduq1", "viduq2")[i % 2], with_video=False,
                  **{k: v for k, v in kinds[i % len(kinds)].items() if k != "with_video"})


@pytest.fixture
def budgeted(team_a, bob):
    Team.objects.filter(pk=team_a.pk).update(credit_budget=100_000)
    Membership.objects.filter(team=team_a, user=bob).update(credit_cap=50_000)


@pytest.mark.parametrize("size", [3, 300])
def test_create_page_queries_with_the_estimate_are_fixed(bob_client, alice, bob, team_a, budgeted, size,
                                                         django_assert_num_queries):
    fill(team_a, [alice, bob], size)
    bob_client.get("/create/")
    # session, user, current membership, the header's team list, recent tasks, their creations,
    # the history for progress; the projects a new video may go in; the estimate (this team's
    # history, then the install's) and this month's spend per member (the budget and the cap)
    with django_assert_num_queries(11):
        html = bob_client.get("/create/?model=viduq2&duration=5&resolution=720p").content.decode()
    assert 'id="estimate"' in html
    with django_assert_num_queries(5):  # the estimate alone, on a change of settings
        bob_client.get("/create/estimate/?mode=text2video&model=viduq1")


@pytest.mark.parametrize("size", [3, 300])
def test_team_page_queries_are_fixed(alice_client, alice, bob, team_a, budgeted, size, django_assert_num_queries):
    fill(team_a, [alice, bob], size)
    alice_client.get("/team/")
    # session, user, current membership, the header's team list, the members, this month's spend,
    # the open invitations (the team's and the user's own)
    with django_assert_num_queries(7):
        assert alice_client.get("/team/").status_code == 200


@pytest.mark.parametrize("size", [3, 300])
def test_usage_page_queries_are_fixed(alice_client, alice, bob, team_a, budgeted, size, django_assert_num_queries):
    fill(team_a, [alice, bob], size)
    alice_client.get("/team/usage/")
    # session, user, current membership, the header's team list, the members, this month's spend,
    # credits per day by member, by model, tasks and failures per day
    with django_assert_num_queries(9):
        assert alice_client.get("/team/usage/").status_code == 200
