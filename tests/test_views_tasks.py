"""/tasks/ and the one polling request: the user's tasks, live progress, cancel and try again."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pipeline_helpers import pipeline, text_task  # noqa: F401 (a fixture)
from sandbox_fixtures import client_for

from tests.studio_helpers import HTMX, csrf_post, make_task
from vidu_web.studio import services
from vidu_web.studio.models import GenerationTask, State


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def card_ids(html):
    return re.findall(r'data-task-id="([0-9a-f-]{36})"', html)


def test_it_lists_my_tasks_newest_first(alice_client, alice, bob, team_a):
    old = make_task(team_a, alice, created_at=timezone.now() - timedelta(hours=2))
    new = make_task(team_a, alice, state=State.PROCESSING)
    make_task(team_a, bob)  # a teammate's task is in the gallery, not in my task list
    html = alice_client.get("/tasks/").content.decode()
    assert card_ids(html) == [str(new.uuid), str(old.uuid)]
    assert 'data-state="processing"' in html and 'role="progressbar"' in html


def test_it_filters_by_state(alice_client, alice, team_a):
    failed = make_task(team_a, alice, state=State.FAILED, error="The prompt broke Vidu's content policy.")
    make_task(team_a, alice)
    html = alice_client.get("/tasks/?state=failed").content.decode()
    assert card_ids(html) == [str(failed.uuid)]
    assert "content policy" in html and "Try again" in html
    assert alice_client.get("/tasks/?state=nonsense&page=-4").status_code == 200


def test_it_paginates(alice_client, alice, team_a):
    for n in range(25):
        make_task(team_a, alice, created_at=timezone.now() - timedelta(minutes=n))
    first = card_ids(alice_client.get("/tasks/").content.decode())
    second = card_ids(alice_client.get("/tasks/?page=2").content.decode())
    assert len(first) == 20 and len(second) == 5 and not set(first) & set(second)
    assert alice_client.get("/tasks/?page=99").status_code == 200


def test_a_page_past_the_end_says_so_instead_of_no_tasks_yet(alice_client, alice, team_a):
    make_task(team_a, alice)
    html = alice_client.get("/tasks/?state=succeeded&page=99").content.decode()
    assert "No tasks" not in html and "Nothing on page 99" in html
    assert 'href="?state=succeeded">Back to the first page' in html
    assert "Page 99" not in html and 'rel="prev"' not in html  # no pager leading to more empty pages


def test_a_fresh_task_was_made_just_now_not_0_minutes_ago(alice_client, alice, team_a):
    make_task(team_a, alice, state=State.QUEUED, created_at=timezone.now())
    make_task(team_a, alice, created_at=timezone.now() - timedelta(minutes=3, seconds=5))
    html = alice_client.get("/tasks/").content.decode()
    assert "0 minutes" not in html and ">just now</time>" in html and ">3\xa0minutes ago</time>" in html


def test_progress_returns_every_asked_card_in_one_response(alice_client, alice, team_a):
    running = [make_task(team_a, alice, state=State.PROCESSING, progress=p) for p in (10, 50, 90)]
    done = make_task(team_a, alice)
    ids = ",".join(str(t.uuid) for t in [*running, done])
    html = alice_client.get(f"/tasks/progress/?ids={ids}", **HTMX).content.decode()
    assert sorted(card_ids(html)) == sorted(ids.split(","))
    assert html.count('hx-swap-oob="true"') == 4
    assert 'aria-valuenow="50"' in html
    assert 'id="poller"' in html and 'hx-trigger="vidu:poll"' in html  # static/js/app.js fires it every 2 s
    assert '<video src="/media/' in html  # the finished one is a playable thumbnail


def test_progress_stops_polling_when_nothing_runs(alice_client, alice, team_a):
    done = make_task(team_a, alice)
    html = alice_client.get(f"/tasks/progress/?ids={done.uuid}", **HTMX).content.decode()
    assert 'id="poller"' in html and "hx-trigger" not in html.split('id="poller"')[1].split(">")[0]


def test_progress_ignores_other_peoples_tasks_and_junk(alice_client, alice, bob, team_a, charlie):
    bobs = make_task(team_a, bob, state=State.PROCESSING)
    mine = make_task(team_a, alice, state=State.PROCESSING)
    response = alice_client.get(f"/tasks/progress/?ids={bobs.uuid},nope,{mine.uuid},,%00", **HTMX)
    assert response.status_code == 200
    assert card_ids(response.content.decode()) == [str(mine.uuid)]  # hers only, the junk skipped


def test_the_page_polls_only_while_something_runs(alice_client, alice, team_a):
    make_task(team_a, alice)
    assert "hx-get=\"/tasks/progress/\"" not in alice_client.get("/tasks/").content.decode()
    make_task(team_a, alice, state=State.QUEUED)
    assert "hx-get=\"/tasks/progress/\"" in alice_client.get("/tasks/").content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("pipeline")
def test_cancel_stops_a_task_vidu_still_holds_in_its_queue(alice_client, alice, team_a, sandbox):
    sandbox.configure(step=30)  # it waits in Vidu's queue for the whole test
    task = text_task(team_a, alice)
    assert GenerationTask.objects.get(pk=task.pk).state == State.QUEUED
    response = csrf_post(alice_client, f"/tasks/{task.uuid}/cancel/", {"next": "/tasks/"})
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    task.refresh_from_db()
    assert (task.state, task.err_code) == (State.CANCELLED, "UserCancelled")
    at_vidu = client_for(sandbox, "test-key").query(task.upstream_id)
    assert (at_vidu.state, at_vidu.err_code) == ("failed", "UserCancelled")  # cancelled there, not only here


def test_cancel_is_refused_once_vidu_has_started(alice_client, alice, team_a, monkeypatch):
    task = make_task(team_a, alice, state=State.PROCESSING)
    monkeypatch.setattr(services, "cancel_task", lambda t: pytest.fail("must not be called"), raising=False)
    csrf_post(alice_client, f"/tasks/{task.uuid}/cancel/")
    assert "can&#x27;t be cancelled" in alice_client.get("/tasks/").content.decode()
    assert GenerationTask.objects.get(pk=task.pk).state == State.PROCESSING


def test_a_teammate_cant_cancel_my_task(bob_client, alice, team_a, monkeypatch):
    task = make_task(team_a, alice, state=State.QUEUED)
    monkeypatch.setattr(services, "cancel_task", lambda t: pytest.fail("must not be called"), raising=False)
    assert csrf_post(bob_client, f"/tasks/{task.uuid}/cancel/").status_code == 403
    assert GenerationTask.objects.get(pk=task.pk).state == State.QUEUED


def test_try_again_runs_a_task_vidu_failed_as_a_new_one(alice_client, alice, bob, team_a):
    task = make_task(team_a, bob, state=State.FAILED, upstream_id="123456789012345678",
                     err_code="CreationPolicyViolation", with_video=False)
    assert csrf_post(alice_client, f"/tasks/{task.uuid}/retry/").status_code == 302
    copy = GenerationTask.objects.get(retry_of=task)
    assert (copy.state, copy.creator, copy.prompt_id, copy.model) == (State.PENDING, alice, task.prompt_id, task.model)
    assert GenerationTask.objects.get(pk=task.pk).state == State.FAILED  # the failed one stays as it was


@pytest.mark.parametrize("next_url, lands_on", [
    ("/tasks/?state=failed&page=2", "/tasks/?from=failed"),  # the filter would hide the new task
    ("/tasks/?page=3", "/tasks/"),  # a later page too
    ("/create/", "/create/"),  # its Recent list shows it
    ("VIDEO_OF_FAILED", "VIDEO_OF_NEW"),  # the failed one's page would still show the failure
])
def test_try_again_lands_where_the_new_task_shows(alice_client, alice, team_a, monkeypatch, next_url, lands_on):
    task = make_task(team_a, alice, state=State.FAILED)
    new = make_task(team_a, alice, state=State.PENDING)
    monkeypatch.setattr(services, "retry_task", lambda t, user: new, raising=False)
    swap = {"VIDEO_OF_FAILED": f"/videos/{task.uuid}/", "VIDEO_OF_NEW": f"/videos/{new.uuid}/"}
    response = csrf_post(alice_client, f"/tasks/{task.uuid}/retry/", {"next": swap.get(next_url, next_url)})
    assert response.status_code == 302 and response["Location"] == swap.get(lands_on, lands_on)


def test_a_task_already_tried_again_links_to_its_retry_instead(alice_client, alice, team_a, django_assert_num_queries):
    failed = make_task(team_a, alice, state=State.FAILED, prompt="first go")
    retry = make_task(team_a, alice, state=State.PENDING, prompt="first go", retry_of=failed)
    fresh = make_task(team_a, alice, state=State.FAILED, prompt="never retried")
    alice_client.get("/tasks/")
    # session, user, membership, header teams, the cards (retries joined in), their files: none per card
    with django_assert_num_queries(6):
        html = alice_client.get("/tasks/?state=failed").content.decode()
    assert f'href="/videos/{retry.uuid}/" data-retried-as="{retry.uuid}"' in html
    assert f'action="/tasks/{failed.uuid}/retry/"' not in html
    assert f'action="/tasks/{fresh.uuid}/retry/"' in html  # the other one still offers it


def test_trying_again_twice_takes_you_to_the_retry_and_makes_nothing(alice_client, alice, team_a, monkeypatch):
    failed = make_task(team_a, alice, state=State.FAILED)
    retry = make_task(team_a, alice, state=State.PENDING, retry_of=failed)
    monkeypatch.setattr(services, "retry_task", lambda t, user: pytest.fail("must not be called"), raising=False)
    response = csrf_post(alice_client, f"/tasks/{failed.uuid}/retry/", {"next": f"/videos/{failed.uuid}/"})
    assert response.status_code == 302 and response["Location"] == f"/videos/{retry.uuid}/"
    page = alice_client.get(response["Location"]).content.decode()
    assert "already tried again" in page and "a new task is on its way" not in page
    assert GenerationTask.objects.count() == 2


def test_a_deleted_retry_offers_try_again_again(alice_client, alice, team_a):
    failed = make_task(team_a, alice, state=State.FAILED)
    make_task(team_a, alice, state=State.FAILED, retry_of=failed, deleted_at=timezone.now())
    html = alice_client.get("/tasks/").content.decode()
    assert f'action="/tasks/{failed.uuid}/retry/"' in html


def test_after_a_retry_from_a_filter_the_list_offers_the_way_back(alice_client, alice, team_a):
    make_task(team_a, alice, state=State.FAILED)
    html = alice_client.get("/tasks/?from=failed").content.decode()
    assert re.search(r'class="alert alert-info came-from">[^<]*<a href="\?state=failed">Back to Failed</a>', html)
    assert "came-from" not in alice_client.get("/tasks/?state=failed&from=failed").content.decode()
    assert "came-from" not in alice_client.get("/tasks/?from=%3Cscript%3E").content.decode()  # junk: nothing


def test_try_again_only_for_failed_tasks(alice_client, alice, team_a, monkeypatch):
    task = make_task(team_a, alice)
    monkeypatch.setattr(services, "retry_task", lambda t, user: pytest.fail("must not be called"), raising=False)
    csrf_post(alice_client, f"/tasks/{task.uuid}/retry/")
    assert GenerationTask.objects.count() == 1


def test_actions_need_post_and_csrf(alice_client, alice, team_a):
    task = make_task(team_a, alice, state=State.QUEUED)
    assert alice_client.get(f"/tasks/{task.uuid}/cancel/").status_code == 405
    assert alice_client.post(f"/tasks/{task.uuid}/cancel/").status_code == 403
