"""Projects: /projects/, /projects/<uuid>/, moving videos in and out, /create/'s project and the
gallery's ?project= filter."""

import re

import pytest

from tests.studio_helpers import csrf_post, make_task
from vidu_web.studio.models import GenerationTask, Project, ShareLink, State
from vidu_web.teams.models import Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def victor(db, team_a, django_user_model):
    """A viewer in Studio A."""
    user = django_user_model.objects.create_user("victor", "victor@example.org", "password-victor")
    Membership.objects.create(team=team_a, user=user, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def victor_client(victor):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(victor)
    return client


@pytest.fixture
def trailer(team_a, alice):
    return Project.objects.create(team=team_a, creator=alice, name="Trailer")


def tile_ids(html):
    return re.findall(r'<article class="tile [^"]*" data-task-id="([0-9a-f-]{36})"', html)


# --- /projects/ ---------------------------------------------------------------------------------


def test_it_lists_the_teams_projects_and_my_private_ones(alice_client, bob_client, alice, bob, team_a, trailer):
    Project.objects.create(team=team_a, creator=bob, name="Bob's secret", is_private=True)
    html = bob_client.get("/projects/").content.decode()
    assert "Trailer" in html and "Bob&#x27;s secret" in html
    html = alice_client.get("/projects/").content.decode()
    assert "Trailer" in html and "secret" not in html


def test_it_makes_a_project(bob_client, bob, team_a):
    response = csrf_post(bob_client, "/projects/", {"name": "  Spring campaign ", "private": "1"}, page="/projects/")
    project = Project.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.uuid}/"
    assert (project.name, project.team, project.creator, project.is_private) == ("Spring campaign", team_a, bob, True)


@pytest.mark.parametrize("name, words", [
    ("trailer", "already has a project named"),  # case aside
    ("Trailer", "already has a project named"),
    ("", "Give the project a name"),
    ("   ", "Give the project a name"),
    ("x" * 101, "at most 100 characters"),
])
def test_a_name_used_in_the_team_or_empty_is_a_message_and_makes_nothing(alice_client, trailer, name, words):
    response = csrf_post(alice_client, "/projects/", {"name": name}, page="/projects/")
    assert response.status_code == 400
    assert words in response.content.decode()
    assert list(Project.objects.values_list("name", flat=True)) == ["Trailer"]


def test_the_same_name_in_another_team_is_fine(charlie_client, charlie, trailer):
    response = csrf_post(charlie_client, "/projects/", {"name": "Trailer"}, page="/projects/")
    assert response.status_code == 302
    assert Project.objects.filter(name="Trailer").count() == 2


def test_viewers_can_see_projects_but_not_make_them(victor_client, trailer):
    assert "Trailer" in victor_client.get("/projects/").content.decode()
    assert csrf_post(victor_client, "/projects/", {"name": "Mine"}, page="/projects/").status_code == 403
    assert Project.objects.count() == 1


def test_the_project_list_runs_a_fixed_number_of_queries(alice_client, alice, bob, team_a, django_assert_num_queries):
    for n in range(5):
        project = Project.objects.create(team=team_a, creator=alice, name=f"P{n}")
        make_task(team_a, bob, project=project)
    alice_client.get("/projects/")
    # session, user, current membership, the header's team list, the projects with their figures
    with django_assert_num_queries(5):
        assert alice_client.get("/projects/").status_code == 200


# --- /projects/<uuid>/ -------------------------------------------------------------------------


def test_a_project_page_shows_its_videos_who_worked_on_it_and_the_cost(alice_client, alice, bob, team_a, trailer):
    a1 = make_task(team_a, alice, project=trailer, credits=40)
    b1 = make_task(team_a, bob, project=trailer, credits=20)
    make_task(team_a, bob, project=trailer, state=State.PROCESSING, credits=20)  # being made: counted, no tile
    make_task(team_a, bob, project=trailer, state=State.FAILED, credits=20)  # refunded: not counted
    make_task(team_a, bob, project=trailer, is_private=True, credits=99)  # Bob's private: not Alice's business
    make_task(team_a, alice, credits=500)  # no project
    html = alice_client.get(f"/projects/{trailer.uuid}/").content.decode()
    assert sorted(tile_ids(html)) == sorted([str(a1.uuid), str(b1.uuid)])
    assert 'data-project-spent="80"' in html
    people = dict(re.findall(r'data-contributor="(\w+)"><td class="who">\w+</td><td class="num">(\d+)</td>', html))
    assert people == {"alice": "1", "bob": "2"}


def test_a_project_page_runs_a_fixed_number_of_queries(alice_client, alice, bob, team_a, trailer,
                                                       django_assert_num_queries):
    for _ in range(30):
        make_task(team_a, bob, project=trailer)
    for _ in range(3):
        ShareLink.make_for_project(trailer, bob)
    alice_client.get(f"/projects/{trailer.uuid}/")
    # session, user, current membership, the header's team list, the project, its videos, who worked
    # on it, the user's role in its team, its live share links (with their makers)
    with django_assert_num_queries(9):
        html = alice_client.get(f"/projects/{trailer.uuid}/").content.decode()
    assert len(tile_ids(html)) == 24 and 'hx-trigger="revealed"' in html


def test_a_project_page_loads_more_through_the_gallery(alice_client, alice, team_a, trailer):
    for _ in range(30):
        make_task(team_a, alice, project=trailer)
    make_task(team_a, alice)  # not in it
    html = alice_client.get(f"/projects/{trailer.uuid}/").content.decode()
    more = re.search(r'hx-get="(/gallery/\?[^"]+)"', html)[1].replace("&amp;", "&")
    rest = tile_ids(alice_client.get(more, HTTP_HX_REQUEST="true").content.decode())
    assert len(rest) == 6 and not set(rest) & set(tile_ids(html))


# --- every new URL x Alice / Bob / Charlie / anonymous -----------------------------------------


@pytest.fixture
def private_trailer(team_a, alice):
    return Project.objects.create(team=team_a, creator=alice, name="Alice's own", is_private=True)


@pytest.mark.parametrize("who, shared, private", [
    ("alice", 200, 200),
    ("bob", 200, 404),  # a private project is its creator's
    ("charlie", 404, 404),  # another team's: nothing says it exists
])
def test_who_sees_a_project_page(request, who, shared, private, trailer, private_trailer):
    client = request.getfixturevalue(f"{who}_client")
    assert client.get(f"/projects/{trailer.uuid}/").status_code == shared
    assert client.get(f"/projects/{private_trailer.uuid}/").status_code == private


def test_signed_out_visitors_are_sent_to_sign_in(client, trailer, alice, team_a):
    task = make_task(team_a, alice)
    for url in ("/projects/", f"/projects/{trailer.uuid}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for url in ("/projects/", "/gallery/project/", f"/videos/{task.uuid}/project/"):
        response = client.post(url, {"name": "x", "project": str(trailer.uuid), "tasks": [str(task.uuid)]})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert Project.objects.count() == 1 and GenerationTask.objects.get().project_id is None


def test_charlie_can_list_only_his_own_teams_projects(charlie_client, trailer):
    assert "Trailer" not in charlie_client.get("/projects/").content.decode()


# --- moving videos -----------------------------------------------------------------------------


def test_a_member_moves_a_video_into_a_project_and_out(bob_client, alice, team_a, trailer):
    task = make_task(team_a, alice)
    response = csrf_post(bob_client, f"/videos/{task.uuid}/project/", {"project": str(trailer.uuid)}, page="/gallery/")
    assert response.status_code == 302 and response["Location"] == f"/videos/{task.uuid}/"
    task.refresh_from_db()
    assert task.project == trailer
    html = bob_client.get(f"/videos/{task.uuid}/").content.decode()
    assert f'data-project="{trailer.uuid}"' in html
    csrf_post(bob_client, f"/videos/{task.uuid}/project/", {"project": ""})
    task.refresh_from_db()
    assert task.project is None


def test_a_video_is_in_one_project_at_a_time(alice_client, alice, team_a, trailer):
    other = Project.objects.create(team=team_a, creator=alice, name="Teaser")
    task = make_task(team_a, alice, project=trailer)
    csrf_post(alice_client, f"/videos/{task.uuid}/project/", {"project": str(other.uuid)}, page="/gallery/")
    assert GenerationTask.objects.get(pk=task.pk).project == other
    assert not trailer.tasks.exists()


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "charlies", "private"])
def test_moving_to_a_project_one_cant_see_is_a_message_and_moves_nothing(bob_client, alice, charlie, team_a, trailer,
                                                                          private_trailer, value):
    charlies = Project.objects.create(team=charlie.teams.get(), creator=charlie, name="Theirs")
    value = {"charlies": str(charlies.uuid), "private": str(private_trailer.uuid)}.get(value, value)
    task = make_task(team_a, alice, project=trailer)
    response = csrf_post(bob_client, f"/videos/{task.uuid}/project/", {"project": value}, page="/gallery/")
    assert response.status_code == 302
    assert GenerationTask.objects.get(pk=task.pk).project == trailer
    html = bob_client.get(response["Location"]).content.decode()
    assert "nothing was moved" in html


def test_outsiders_and_viewers_cant_move_videos(charlie_client, victor_client, alice, team_a, trailer):
    task = make_task(team_a, alice)
    assert csrf_post(charlie_client, f"/videos/{task.uuid}/project/", {"project": str(trailer.uuid)},
                     page="/gallery/").status_code == 404
    assert csrf_post(victor_client, f"/videos/{task.uuid}/project/", {"project": str(trailer.uuid)},
                     page="/gallery/").status_code == 403
    assert csrf_post(victor_client, "/gallery/project/", {"project": str(trailer.uuid), "tasks": [str(task.uuid)]},
                     page="/gallery/").status_code == 403
    assert GenerationTask.objects.get(pk=task.pk).project is None


def test_many_selected_in_the_gallery_move_together_leaving_out_what_one_cant_see(
        bob_client, alice, bob, charlie, team_a, trailer):
    mine, alices = make_task(team_a, bob), make_task(team_a, alice)
    alices_private = make_task(team_a, alice, is_private=True)
    charlies = make_task(charlie.teams.get(), charlie)
    html = bob_client.get("/gallery/").content.decode()
    assert f'name="tasks" value="{mine.uuid}" form="selection"' in html and 'id="selection"' in html
    response = csrf_post(bob_client, "/gallery/project/", {
        "project": str(trailer.uuid), "next": "/gallery/?mode=text2video",
        "tasks": [str(mine.uuid), str(alices.uuid), str(alices_private.uuid), str(charlies.uuid), "junk"],
    }, page="/gallery/")
    assert response.status_code == 302 and response["Location"] == "/gallery/?mode=text2video"
    assert set(trailer.tasks.all()) == {mine, alices}
    assert "Moved 2 videos" in bob_client.get("/gallery/").content.decode()


def test_moving_none_selected_is_a_message(bob_client, team_a, trailer):
    response = csrf_post(bob_client, "/gallery/project/", {"project": str(trailer.uuid)}, page="/gallery/")
    assert response.status_code == 302
    assert "Select the videos" in bob_client.get("/gallery/").content.decode()


def test_charlie_moving_studio_a_videos_changes_nothing(charlie_client, alice, team_a, trailer):
    task = make_task(team_a, alice)
    response = csrf_post(charlie_client, "/gallery/project/", {"project": str(trailer.uuid), "tasks": [str(task.uuid)]},
                         page="/gallery/")
    assert response.status_code == 302  # his own team has no such project: a message, nothing moved
    assert GenerationTask.objects.get(pk=task.pk).project is None


# --- /create/ and /gallery/?project= -----------------------------------------------------------


def test_a_new_video_goes_in_the_project_chosen(bob_client, team_a, trailer):
    html = bob_client.get(f"/create/?project={trailer.uuid}").content.decode()
    assert f'<option value="{trailer.uuid}" selected>Trailer</option>' in html
    response = csrf_post(bob_client, "/create/", {"mode": "text2video", "prompt": "a fox", "model": "viduq1",
                                                  "project": str(trailer.uuid)})
    assert response.status_code == 302 and response["Location"] == f"/create/?project={trailer.uuid}"
    assert GenerationTask.objects.get().project == trailer


@pytest.mark.parametrize("value", ["junk", "00000000-0000-0000-0000-000000000000", "private", "charlies"])
def test_creating_into_a_project_one_cant_use_is_a_message_and_creates_nothing(bob_client, charlie, trailer,
                                                                               private_trailer, value):
    charlies = Project.objects.create(team=charlie.teams.get(), creator=charlie, name="Theirs")
    value = {"charlies": str(charlies.uuid), "private": str(private_trailer.uuid)}.get(value, value)
    response = csrf_post(bob_client, "/create/", {"mode": "text2video", "prompt": "a fox", "model": "viduq1",
                                                  "project": value})
    assert response.status_code == 200
    assert "isn&#x27;t one of this team&#x27;s" in response.content.decode()
    assert not GenerationTask.objects.exists()


def test_the_gallery_filters_by_project(alice_client, bob_client, alice, bob, team_a, trailer, private_trailer):
    inside, outside = make_task(team_a, bob, project=trailer), make_task(team_a, bob)
    secret = make_task(team_a, bob, project=private_trailer)
    html = alice_client.get(f"/gallery/?project={trailer.uuid}").content.decode()
    assert tile_ids(html) == [str(inside.uuid)]
    assert f'<option value="{trailer.uuid}" selected>Trailer</option>' in html
    assert tile_ids(alice_client.get(f"/gallery/?project={private_trailer.uuid}").content.decode()) == [str(secret.uuid)]
    # Bob sees the video, but not through Alice's private project: that filter shows nothing.
    html = bob_client.get(f"/gallery/?project={private_trailer.uuid}").content.decode()
    assert tile_ids(html) == [] and "No videos match" in html
    # A malformed value is ignored like any junk filter.
    assert len(tile_ids(alice_client.get("/gallery/?project=junk%00").content.decode())) == 3
    assert outside


def test_the_gallery_with_a_project_runs_a_fixed_number_of_queries(alice_client, alice, team_a, trailer,
                                                                   django_assert_num_queries):
    for _ in range(30):
        make_task(team_a, alice, project=trailer)
    alice_client.get("/gallery/")
    with django_assert_num_queries(7):
        html = alice_client.get(f"/gallery/?project={trailer.uuid}&review=draft&fold=1").content.decode()
    assert len(tile_ids(html)) == 24
