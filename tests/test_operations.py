"""The operator page in the admin: queue depth, tasks by state, the sweep's heartbeat age and
provider errors by reason over the last hour; staff only, linked from the admin's index."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.studio_helpers import make_task
from vidu_web.studio import jobs
from vidu_web.studio.models import State, SweepSlot, TaskEvent

URL = "/admin/operations/"


def cell(html, attr, value):
    """The text of the row (or element) marked ``attr="value"``, tags stripped."""
    match = re.search(rf'<(\w+)[^>]*{attr}="{re.escape(value)}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no {attr}={value!r}"
    return " ".join(re.sub(r"<[^>]+>", " ", match[2]).split())


@pytest.fixture
def busy(team_a, alice):
    now = timezone.now()
    for state in (State.QUEUED, State.QUEUED, State.PROCESSING, State.SUCCEEDED):
        make_task(team_a, alice, state=state)
    failed = make_task(team_a, alice, state=State.FAILED)
    for note, state, ago in [
        ("CreationPolicyViolation: The prompt was refused.", State.FAILED, 5),
        ("CreationPolicyViolation: The prompt was refused.", State.FAILED, 50),
        ("InternalServiceFailure: We lost contact with the provider about this task (ReadTimeout).", State.FAILED, 10),
        ("429 QuotaExceeded: too many requests", State.PENDING, 1),
        ("no answer Timeout: POST text2video got no answer in time", State.PENDING, 2),
        ("CreditInsufficient: Not enough credits.", State.FAILED, 61),  # over an hour ago: not counted
        ("retried by alice", State.PENDING, 3),  # not an error
        ("its worker stopped before sending", State.PENDING, 3),
    ]:
        TaskEvent.objects.create(task=failed, state=state, note=note, at=now - timedelta(minutes=ago))
    SweepSlot.objects.create(slot=1, owner="vidu_web@host-a", beat_at=now - timedelta(seconds=4))
    SweepSlot.objects.create(slot=2, owner="vidu_web@host-b", beat_at=now - timedelta(minutes=10))


def test_it_shows_queue_states_sweep_and_errors(admin_client, busy, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        jobs.archive(1)
        jobs.archive(2)
    html = admin_client.get(URL).content.decode()
    assert 'data-queue-depth="2"' in html and "2 jobs waiting" in html
    assert cell(html, "data-state-count", "queued").endswith("2")
    assert cell(html, "data-state-count", "processing").endswith("1")
    assert cell(html, "data-state-count", "cancelled").endswith("0")
    assert 'data-sweep-slot="1" data-heartbeat-age="4" data-stale="0"' in html
    assert 'data-sweep-slot="2" data-heartbeat-age="600" data-stale="1"' in html
    assert cell(html, "data-error-reason", "CreationPolicyViolation") == "CreationPolicyViolation 2 0"
    assert cell(html, "data-error-reason", "InternalServiceFailure") == "InternalServiceFailure 1 0"
    assert cell(html, "data-error-reason", "QuotaExceeded (429)") == "QuotaExceeded (429) 0 1"
    assert cell(html, "data-error-reason", "Timeout (no answer)") == "Timeout (no answer) 0 1"
    assert "CreditInsufficient" not in html and "retried by" not in html and "worker stopped" not in html


def test_with_nothing_yet_it_says_so(admin_client, db):
    html = admin_client.get(URL).content.decode()
    assert 'data-queue-depth="0"' in html and 'data-error-reason="none"' in html
    assert "No sweep has ever run" in html


def test_its_queries_do_not_grow_with_history(admin_client, busy, team_a, alice, django_assert_num_queries):
    admin_client.get(URL)  # warm the session and the admin's caches
    with django_assert_num_queries(6) as counted:
        admin_client.get(URL)
    for state in State.values:
        make_task(team_a, alice, state=state)
    with django_assert_num_queries(len(counted.captured_queries)):
        admin_client.get(URL)


def test_the_admin_index_links_to_it(admin_client, db):
    assert f'href="{URL}"' in admin_client.get("/admin/").content.decode()


def test_it_is_for_staff_only(alice_client, client, db):
    for who, login in ((alice_client, "/admin/login/"), (client, "/accounts/login/")):
        response = who.get(URL)
        assert response.status_code == 302 and response["Location"].startswith(login)
