"""GET /projects/<uuid>/download/: a project's videos that the user may see, as one ZIP streamed as
it is built, with metadata.csv (the gallery's ZIP code, zips.py)."""

import csv
import io
import zipfile

import pytest

from tests.studio_helpers import VIDEO_BYTES, csrf_post, make_task
from vidu_web.studio import zips
from vidu_web.studio.library import Project
from vidu_web.studio.models import State


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def project(team_a, alice):
    return Project.objects.create(team=team_a, creator=alice, name="Spring Trailer")


@pytest.fixture
def videos(project, team_a, alice, bob):
    return {
        "alice": make_task(team_a, alice, prompt="A red fox trots", project=project),
        "bob": make_task(team_a, bob, prompt="A blue heron waits", project=project),
        "bob_private": make_task(team_a, bob, prompt="Bob secret draft", project=project, is_private=True),
        "deleted": make_task(team_a, alice, prompt="gone", project=project, deleted_at=project.created_at),
        "running": make_task(team_a, alice, prompt="not yet", project=project, state=State.PROCESSING),
        "outside": make_task(team_a, alice, prompt="Not in the project"),
    }


def unzip(response):
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return archive


def prompts(archive):
    return sorted(row["prompt"] for row in csv.DictReader(io.StringIO(archive.read("metadata.csv").decode())))


@pytest.mark.parametrize("who, expected", [
    ("alice", ["A blue heron waits", "A red fox trots"]),
    ("bob", ["A blue heron waits", "A red fox trots", "Bob secret draft"]),  # his own private one too
])
def test_the_zip_holds_the_projects_videos_the_user_can_see(who, expected, videos, project, alice_client, bob_client):
    client = {"alice": alice_client, "bob": bob_client}[who]
    response = client.get(f"/projects/{project.uuid}/download/")
    assert response["Content-Disposition"].startswith('attachment; filename="studio-a-spring-trailer-')
    assert response["Cache-Control"] == "private, no-store"
    archive = unzip(response)
    assert prompts(archive) == expected
    assert len(archive.namelist()) == len(expected) + 1
    day = videos["alice"].created_at.date().isoformat()
    assert archive.read(f"red-fox-trots-{day}.mp4") == VIDEO_BYTES


def test_outsiders_get_404_and_signed_out_visitors_the_sign_in(videos, project, charlie_client, client):
    assert charlie_client.get(f"/projects/{project.uuid}/download/").status_code == 404
    response = client.get(f"/projects/{project.uuid}/download/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_private_project_downloads_for_its_creator_only(team_a, alice, alice_client, bob_client):
    secret = Project.objects.create(team=team_a, creator=alice, name="Secret", is_private=True)
    make_task(team_a, alice, project=secret)
    assert bob_client.get(f"/projects/{secret.uuid}/download/").status_code == 404
    assert len(unzip(alice_client.get(f"/projects/{secret.uuid}/download/")).namelist()) == 2


def test_an_empty_project_gets_a_message(project, alice_client):
    response = alice_client.get(f"/projects/{project.uuid}/download/")
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.uuid}/"
    assert "no finished videos to download" in alice_client.get(response["Location"]).content.decode()


def test_a_project_over_the_limit_gets_a_message(videos, project, alice_client, monkeypatch):
    monkeypatch.setattr(zips, "MAX_VIDEOS", 1)
    response = alice_client.get(f"/projects/{project.uuid}/download/")
    assert response.status_code == 302
    assert "more than 1 videos" in alice_client.get(response["Location"]).content.decode()


def test_the_project_page_links_to_it(videos, project, alice_client):
    html = alice_client.get(f"/projects/{project.uuid}/").content.decode()
    assert f'href="/projects/{project.uuid}/download/"' in html


def test_post_is_refused(project, alice_client):
    assert csrf_post(alice_client, f"/projects/{project.uuid}/download/", {}, page="/projects/").status_code == 405
