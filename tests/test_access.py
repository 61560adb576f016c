"""One access check for everything: another team's user gets 404 for each of our URLs."""

import pytest
from django.core.files.base import ContentFile

from tests.studio_helpers import HTMX, csrf_post, make_task, png
from vidu_web.studio.models import Favorite, GenerationTask, State, TaskImage
from vidu_web.teams.models import Membership, Team


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def alices_task(alice, team_a):
    task = make_task(team_a, alice, mode="img2video", model="viduq1", state=State.FAILED)
    image = TaskImage(task=task, position=0, mime="image/png", width=256, height=256)
    image.file.save("in.png", ContentFile(png()), save=True)
    return task


@pytest.fixture
def alices_video(alice, team_a):
    return make_task(team_a, alice)


def get_urls(task, video):
    creation = video.creations.get()
    return [
        f"/videos/{video.uuid}/",
        f"/videos/{task.uuid}/",
        f"/create/?remix={video.uuid}",
        f"/videos/{video.uuid}/extend/estimate/",
        f"/videos/{video.uuid}/upscale/estimate/",
        creation.video.url,
        creation.cover.url,
        creation.video.url + "?download=1",
        task.images.get().file.url,
    ]


def post_urls(task, video):
    return [
        f"/tasks/{task.uuid}/cancel/",
        f"/tasks/{task.uuid}/retry/",
        f"/videos/{video.uuid}/favorite/",
        f"/videos/{video.uuid}/privacy/",
        f"/videos/{video.uuid}/delete/",
    ]


def test_every_url_is_404_for_another_team(charlie_client, alices_task, alices_video):
    for url in get_urls(alices_task, alices_video):
        assert charlie_client.get(url).status_code == 404, url
        assert charlie_client.get(url, **HTMX).status_code == 404, url
    for url in post_urls(alices_task, alices_video):
        assert csrf_post(charlie_client, url, {"private": "1"}, page="/gallery/").status_code == 404, url
        assert csrf_post(charlie_client, url, {"private": "1"}, **HTMX).status_code == 404, url
    alices_video.refresh_from_db()
    assert not alices_video.is_private and alices_video.deleted_at is None and not Favorite.objects.exists()
    assert GenerationTask.objects.count() == 2


def test_another_team_sees_none_of_it_in_lists(charlie_client, alices_task, alices_video):
    for url in ("/gallery/", "/tasks/", f"/tasks/progress/?ids={alices_task.uuid},{alices_video.uuid}", "/create/"):
        response = charlie_client.get(url, **HTMX)
        assert response.status_code == 200, url  # the page itself, not an error page that names nothing
        html = response.content.decode()
        assert str(alices_video.uuid) not in html and str(alices_task.uuid) not in html


def test_teammates_reach_the_same_urls(bob_client, alices_task, alices_video):
    for url in get_urls(alices_task, alices_video):
        assert bob_client.get(url).status_code == 200, url


def test_anonymous_users_are_sent_to_sign_in(client, alices_task, alices_video):
    for url in [*get_urls(alices_task, alices_video), "/tasks/", "/gallery/", "/tasks/progress/", "/create/params/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_the_login_page_and_callback_need_no_session(client, db):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/hooks/vidu/00000000-0000-0000-0000-000000000000/x/", content_type="application/json", data="{}")
    # Not sent to sign in: the callback checks its own secret, and refuses a wrong one.
    assert response.status_code == 403


def test_sign_in_and_out(client, alice):
    page = client.get("/accounts/login/")
    assert 'name="username"' in page.content.decode() and 'name="password"' in page.content.decode()
    response = client.post("/accounts/login/", {"username": "alice", "password": "password-alice"})
    assert response.status_code == 302 and response["Location"] == "/create/"
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/create/").status_code == 302


def test_the_password_change_page_renders(alice_client):
    assert "Change password" in alice_client.get("/accounts/password_change/").content.decode()


def test_team_switcher_changes_the_current_team(alice_client, alice, team_a, charlie):
    other = Team.objects.create(name="Zeta team")
    Membership.objects.create(team=other, user=alice, role=Membership.Role.MEMBER)
    video = make_task(team_a, alice)
    html = alice_client.get("/gallery/").content.decode()
    assert 'name="team"' in html and str(video.uuid) in html
    response = csrf_post(alice_client, "/teams/switch/", {"team": other.pk, "next": "/gallery/"})
    assert response.status_code == 302 and response["Location"] == "/gallery/"
    other_gallery = alice_client.get("/gallery/")
    assert other_gallery.status_code == 200 and f'value="{other.pk}" selected' in other_gallery.content.decode()
    assert str(video.uuid) not in other_gallery.content.decode()
    # a team she isn't in, or junk: 404, and the current team stays
    assert csrf_post(alice_client, "/teams/switch/", {"team": charlie.teams.get().pk}).status_code == 404
    assert csrf_post(alice_client, "/teams/switch/", {"team": "x"}).status_code == 404
    assert csrf_post(alice_client, "/teams/switch/", {"team": team_a.pk, "next": "https://evil.example/"})["Location"] == "/gallery/"


def test_ensure_demo_makes_the_demo_user_only_in_sandbox_debug(settings, client, db):
    from django.core.management import call_command

    settings.SANDBOX_MODE, settings.DEBUG = True, False
    call_command("ensure_demo")
    assert not client.login(username="demo", password="demo")
    settings.DEBUG = True
    call_command("ensure_demo")
    call_command("ensure_demo")  # idempotent
    assert client.login(username="demo", password="demo")
    membership = Membership.objects.get(user__username="demo")
    assert membership.team.name == "Demo studio" and membership.role == Membership.Role.OWNER
