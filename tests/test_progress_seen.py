"""The polling request's short answer: 204 No Content while none of the page's cards changed
(progress.py, "short answer"), a full answer as soon as one did, after REFRESH_SECONDS anyway,
and never anything about another user's or another team's tasks."""

import re
import time

import pytest

from tests.studio_helpers import HTMX, make_task
from vidu_web.studio import progress
from vidu_web.studio.models import GenerationTask, State
from vidu_web.teams.access import SESSION_KEY
from vidu_web.teams.models import Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    progress.forget()
    yield
    progress.forget()


def poll(client, tasks, seen=""):
    """(status, html, the token the answer carries) of one poll for ``tasks``, as app.js sends it."""
    ids = ",".join(str(t.uuid) for t in tasks)
    headers = {**HTMX, "HTTP_X_PROGRESS_SEEN": seen} if seen else HTMX
    response = client.get(f"/tasks/progress/?ids={ids}", **headers)
    html = response.content.decode()
    found = re.search(r'<div id="poller"[^>]* data-seen="([^"]+)"', html)
    return response.status_code, html, found.group(1) if found else ""


@pytest.fixture
def running(alice, team_a):
    return [make_task(team_a, alice, state=State.PROCESSING, progress=40),
            make_task(team_a, alice, state=State.QUEUED, model="viduq2", resolution="720p")]


def test_an_unchanged_page_gets_204_after_one_plain_query(alice_client, running, django_assert_num_queries):
    status, html, seen = poll(alice_client, running)
    assert status == 200 and seen and html.count("data-task-id=") == 2
    # session, user, and the tasks' fields the token covers (with the membership check): no render
    with django_assert_num_queries(3):
        status, html, _ = poll(alice_client, running, seen)
    assert (status, html) == (204, "")


@pytest.mark.parametrize("change", [
    {"progress": 55},  # Vidu's figure
    {"state": State.FAILED, "err_code": "CreationPolicyViolation"},  # ended (written around set_state too)
    {"deleted_at": "now"},  # deleted in another tab
])
def test_any_change_to_a_card_gets_the_full_answer(alice_client, running, change):
    _, _, seen = poll(alice_client, running)
    if change.get("deleted_at") == "now":
        from django.utils import timezone

        change = {"deleted_at": timezone.now()}
    GenerationTask.objects.filter(pk=running[0].pk).update(**change)  # no updated_at: not what is compared
    status, html, again = poll(alice_client, running, seen)
    assert status == 200 and again != seen
    if "progress" in change:
        assert 'aria-valuenow="55"' in html


def test_a_new_running_task_gets_the_full_answer(alice_client, alice, team_a, running):
    _, _, seen = poll(alice_client, running)
    make_task(team_a, alice, state=State.PENDING)
    assert poll(alice_client, running, seen)[0] == 200


def test_what_moves_with_time_is_redrawn_after_refresh_seconds(alice_client, running, monkeypatch):
    _, _, seen = poll(alice_client, running)
    team, at, digest = seen.split(":")
    older = f"{team}:{int(at) - progress.REFRESH_SECONDS}:{digest}"
    assert poll(alice_client, running, older)[0] == 200
    future = f"{team}:{int(at) + 60}:{digest}"  # made up: no news for a minute is not on offer
    assert poll(alice_client, running, future)[0] == 200
    assert poll(alice_client, running, f"{team}:{int(at) - progress.REFRESH_SECONDS + 2}:{digest}")[0] == 204


@pytest.mark.parametrize("token", ["", "junk", "1:2", "x:1:0123456789abcdef", "1:1:short", "1:99999999999999999999:0123456789abcdef",
                                   "9999999999999999999:{now}:0123456789abcdef", "-1:{now}:0123456789abcdef",
                                   # digits to str.isdigit(), not to int(): a 500 once
                                   "\u00b2:{now}:0123456789abcdef", "1:\u00b3{now}:0123456789abcdef"])
def test_a_malformed_token_gets_the_full_answer(alice_client, running, token):
    status, html, _ = poll(alice_client, running, token.format(now=int(time.time())))
    assert status == 200 and html.count("data-task-id=") == 2


def test_a_token_is_no_use_to_another_user(alice_client, bob_client, charlie_client, running):
    _, _, seen = poll(alice_client, running)
    # Bob (same team) and Charlie (another team) ask for Alice's tasks with her token: their own
    # sets differ (nothing of hers), so they get a full answer, which shows none of her cards.
    for client in (bob_client, charlie_client):
        status, html, _ = poll(client, running, seen)
        assert status == 200 and "data-task-id=" not in html


def test_a_member_who_left_the_team_gets_the_full_answer(alice, bob, bob_client, team_a):
    task = make_task(team_a, bob, state=State.PROCESSING, progress=40)
    _, _, seen = poll(bob_client, [task])
    Membership.objects.filter(user=bob, team=team_a).delete()
    status, html, _ = poll(bob_client, [task], seen)
    assert status == 200 and "data-task-id=" not in html  # now in a team of his own: nothing of team A


def test_switching_team_in_another_tab_gets_the_full_answer(alice, alice_client, running, charlie):
    _, _, seen = poll(alice_client, running)
    other = charlie.teams.first()
    Membership.objects.create(team=other, user=alice, role=Membership.Role.MEMBER)
    session = alice_client.session
    session[SESSION_KEY] = other.pk
    session.save()
    status, html, again = poll(alice_client, running, seen)
    assert status == 200 and "data-task-id=" not in html and not again  # nothing of hers runs there


def test_the_token_and_the_plain_query_agree_on_every_state(alice_client, alice, team_a, django_assert_num_queries):
    """Whatever the cards (finished with files, failed and retried, off-peak, held back), the
    full answer's digest is the plain query's, or no page would ever get a 204; and the full
    answer fetches what only some cards show once for all of them."""
    tasks = [make_task(team_a, alice, state=state, progress=p) for state, p in
             [(State.PENDING, None), (State.PROCESSING, None), (State.ARCHIVING, 100), (State.SUCCEEDED, 100)]]
    failed = [make_task(team_a, alice, state=State.FAILED, err_code="InternalServiceFailure", error="down")
              for _ in range(2)]
    retries = [make_task(team_a, alice, state=State.PENDING, retry_of=task) for task in failed]
    tasks += [*failed, make_task(team_a, alice, state=State.QUEUED, params={"off_peak": True})]
    alice_client.get("/tasks/")
    # session, user, membership, the tasks (with prompts), the finished one's files, the failed
    # ones' retries, the usual times
    with django_assert_num_queries(7):
        _, html, seen = poll(alice_client, tasks)
    assert html.count("data-task-id=") == 9  # the seven asked for and the two retries, which run
    assert html.count('<video src="/media/') == 1
    assert all(f'data-retried-as="{retry.uuid}"' in html for retry in retries)
    assert poll(alice_client, tasks, seen)[0] == 204


def test_the_poller_carries_its_token_only_while_something_runs(alice_client, alice, team_a):
    done = make_task(team_a, alice)
    status, html, seen = poll(alice_client, [done])
    assert status == 200 and not seen and 'data-polling="0"' in html
