"""List pages and the progress fragment run a fixed number of queries, however many items."""

import re

import pytest

from tests.studio_helpers import HTMX, make_task
from vidu_web.studio.models import Favorite, State


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def fill(team, users, n):
    tasks = []
    for i in range(n):
        user = users[i % len(users)]
        tasks.append(make_task(team, user, state=State.SUCCEEDED))
        running = make_task(team, user, state=State.PROCESSING, model="viduq2", resolution="720p",
                            progress=None if i % 2 else 40)
        tasks.append(running)
    Favorite.objects.create(user=users[0], task=tasks[0])
    return tasks


@pytest.mark.parametrize("size", [3, 30])
def test_gallery_queries_are_fixed(alice_client, alice, bob, team_a, size, django_assert_num_queries):
    fill(team_a, [alice, bob], size)
    alice_client.get("/gallery/")  # warm the session
    # session, user, current membership, the header's team list, the page (with its files), the members,
    # the projects to filter by; a search adds one look in the indexes (studio/search.py: project names
    # and comments on PostgreSQL, prompts on SQLite)
    with django_assert_num_queries(8):
        response = alice_client.get("/gallery/?q=fox")
    assert response.status_code == 200
    with django_assert_num_queries(7):
        alice_client.get("/gallery/")
    # a filter change through htmx: no header, no member list
    with django_assert_num_queries(4):
        response = alice_client.get("/gallery/?mode=text2video", **HTMX)
    assert response.content.decode().count("<article") == min(size, 24)


@pytest.mark.parametrize("size", [3, 30])
def test_task_list_queries_are_fixed(alice_client, alice, team_a, size, django_assert_num_queries):
    fill(team_a, [alice], size)
    alice_client.get("/tasks/")
    # session, user, current membership, the header's team list, the page, its creations, the history
    with django_assert_num_queries(7):
        assert alice_client.get("/tasks/").status_code == 200


@pytest.mark.parametrize("size", [3, 30])
def test_progress_queries_are_fixed(alice_client, alice, team_a, size, django_assert_num_queries):
    tasks = fill(team_a, [alice], size)
    ids = ",".join(str(t.uuid) for t in tasks)
    alice_client.get("/tasks/")
    # session, user, membership, the tasks (with prompts), the finished ones' creations, the history
    with django_assert_num_queries(6):
        response = alice_client.get(f"/tasks/progress/?ids={ids}", **HTMX)
    html = response.content.decode()
    assert html.count("data-task-id=") == 2 * size
    # The next poll: the history is remembered (a minute per process); with the token the first
    # answer carried and nothing changed, 204 after session, user and one plain query.
    with django_assert_num_queries(5):
        alice_client.get(f"/tasks/progress/?ids={ids}", **HTMX)
    seen = re.search(r'data-seen="([^"]+)"', html).group(1)
    with django_assert_num_queries(3):
        assert alice_client.get(f"/tasks/progress/?ids={ids}", HTTP_X_PROGRESS_SEEN=seen, **HTMX).status_code == 204


@pytest.mark.parametrize("size", [3, 30])
def test_create_page_queries_are_fixed(alice_client, alice, team_a, size, django_assert_num_queries):
    fill(team_a, [alice], size)
    alice_client.get("/create/")
    # 7, the projects a new video may go in, the estimate (this team's history, then the install's)
    # and this month's spend
    with django_assert_num_queries(11):
        alice_client.get("/create/")
