"""POST /gallery/download/: the selected videos the user may see, as one ZIP streamed as it is
built (readable names, metadata.csv), with memory flat however many videos."""

import csv
import io
import os
import tracemalloc
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from tests.studio_helpers import VIDEO_BYTES, csrf_post, make_task
from vidu_web.studio.models import State
from vidu_web.teams.models import Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def download(client, *tasks, extra=()):
    return csrf_post(client, "/gallery/download/", {"tasks": [str(t.uuid) for t in tasks] + list(extra)}, page="/gallery/")


def unzip(response):
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response.streaming  # sent as it is built, not assembled first
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None  # every CRC checks out
    return archive


def metadata(archive):
    return list(csv.DictReader(io.StringIO(archive.read("metadata.csv").decode())))


def test_the_zip_holds_each_video_under_a_readable_name_and_a_metadata_csv(alice_client, alice, bob, team_a):
    fox = make_task(team_a, alice, prompt="A red fox trots through the snow", params={"seed": 7}, seed_used=7, credits=40)
    owl = make_task(team_a, bob, prompt="An owl at night", mode="img2video", model="viduq2", duration=4,
                    resolution="720p", credits=None)
    response = download(alice_client, fox, owl)
    assert response["Content-Disposition"].startswith('attachment; filename="studio-a-videos-')
    archive = unzip(response)
    day = fox.created_at.date().isoformat()
    fox_name, owl_name = f"red-fox-trots-through-snow-{day}.mp4", f"owl-night-{owl.created_at.date().isoformat()}.mp4"
    assert sorted(archive.namelist()) == sorted([fox_name, owl_name, "metadata.csv"])
    assert archive.read(fox_name) == VIDEO_BYTES
    rows = {row["file"]: row for row in metadata(archive)}
    assert list(rows[fox_name]) == ["file", "prompt", "seed", "model", "mode", "duration", "resolution", "credits",
                                    "creator", "created"]
    assert {k: v for k, v in rows[fox_name].items() if k != "created"} == {
        "file": fox_name, "prompt": "A red fox trots through the snow", "seed": "7", "model": "viduq1",
        "mode": "text2video", "duration": "5", "resolution": "1080p", "credits": "40", "creator": "alice"}
    assert rows[owl_name]["creator"] == "bob" and rows[owl_name]["credits"] == "" and rows[owl_name]["mode"] == "img2video"
    assert rows[owl_name]["created"].startswith(owl.created_at.date().isoformat())


def test_videos_the_user_cant_see_are_left_out(alice_client, alice, bob, charlie, team_a):
    mine = make_task(team_a, alice)
    bobs_private = make_task(team_a, bob, is_private=True, prompt="secret plan")
    deleted = make_task(team_a, alice, deleted_at=mine.created_at, prompt="gone")
    outsider = make_task(charlie.teams.get(), charlie, prompt="charlies own")
    running = make_task(team_a, alice, state=State.PROCESSING, prompt="not yet")
    archive = unzip(download(alice_client, mine, bobs_private, deleted, outsider, running, extra=["nope", "\x00"]))
    assert len(archive.namelist()) == 2
    assert [row["prompt"] for row in metadata(archive)] == ["a fox in the snow"]


def test_names_that_clash_are_numbered(alice_client, alice, team_a):
    a, b = make_task(team_a, alice, prompt="same words"), make_task(team_a, alice, prompt="same words")
    names = unzip(download(alice_client, a, b)).namelist()
    day = a.created_at.date().isoformat()
    assert sorted(names) == sorted([f"same-words-{day}.mp4", f"same-words-{day}-2.mp4", "metadata.csv"])


def test_a_prompt_that_looks_like_a_formula_is_quoted_in_the_csv(alice_client, alice, team_a):
    task = make_task(team_a, alice, prompt='=HYPERLINK("http://evil.example","click")')
    assert metadata(unzip(download(alice_client, task)))[0]["prompt"].startswith("'=HYPERLINK")


def test_viewers_may_download(bob, bob_client, alice, team_a):
    Membership.objects.filter(user=bob).update(role=Membership.Role.VIEWER)
    assert len(unzip(download(bob_client, make_task(team_a, alice))).namelist()) == 2


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_nothing_downloadable_selected_gets_a_message(who, alice_client, charlie_client, alice, team_a):
    client = {"alice": alice_client, "charlie": charlie_client}[who]
    response = download(client, make_task(team_a, alice, state=State.FAILED)) if who == "alice" else download(
        client, make_task(team_a, alice))  # charlie: another team's video is nothing to him
    assert response.status_code == 302 and response["Location"] == "/gallery/"
    assert "Select one or more finished videos to download." in client.get("/gallery/").content.decode()


def test_an_empty_or_oversized_selection_gets_a_message(alice_client):
    response = csrf_post(alice_client, "/gallery/download/", {}, page="/gallery/")
    assert response.status_code == 302 and response["Location"] == "/gallery/"
    many = [f"00000000-0000-0000-0000-{n:012d}" for n in range(501)]
    response = csrf_post(alice_client, "/gallery/download/", {"tasks": many}, page="/gallery/")
    assert response.status_code == 302
    assert "At most 500 videos at a time" in alice_client.get("/gallery/").content.decode()


def test_signed_out_visitors_and_gets_are_refused(client, alice_client, alice, team_a):
    task = make_task(team_a, alice)
    response = client.post("/gallery/download/", {"tasks": [str(task.uuid)]})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert alice_client.get(f"/gallery/download/?tasks={task.uuid}").status_code == 405
    no_token = Client(enforce_csrf_checks=True)
    no_token.force_login(alice)
    assert no_token.post("/gallery/download/", {"tasks": [str(task.uuid)]}).status_code == 403


@pytest.mark.parametrize("who", ["alice", "viewer"])
def test_the_gallery_offers_the_selection(who, alice_client, alice, bob, bob_client, team_a):
    # One checkbox per tile, in the form "selection": "Download selected" posts it to the ZIP view
    # (for everyone, viewers too), "Move" to a project (members and up).
    from vidu_web.teams.models import Membership

    task = make_task(team_a, alice)
    client = alice_client
    if who == "viewer":
        Membership.objects.filter(user=bob).update(role=Membership.Role.VIEWER)
        client = bob_client
    html = client.get("/gallery/").content.decode()
    assert 'form="selection" formaction="/gallery/download/"' in html
    assert html.count(f'value="{task.uuid}" form="selection"') == 1
    assert ('Move selected to' in html) == (who == "alice")


def _peak_while_streaming(client, tasks):
    response = download(client, *tasks)
    tracemalloc.start()
    try:
        size = sum(len(piece) for piece in response.streaming_content)
        return size, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_however_many_videos(alice_client, alice, team_a):
    tasks = []
    for n in range(12):
        task = make_task(team_a, alice, prompt=f"clip {n}")
        creation = task.creations.get()
        creation.video.save(f"big-{n}.mp4", ContentFile(os.urandom(3 * 1024 * 1024)), save=True)
        tasks.append(task)
    few_size, few_peak = _peak_while_streaming(alice_client, tasks[:2])
    many_size, many_peak = _peak_while_streaming(alice_client, tasks)
    assert many_size > 36 * 1024 * 1024 > few_size
    # A few chunks' worth, whether 6 MB or 36 MB went out: nothing is held beyond the chunk in hand.
    assert many_peak < 2 * 1024 * 1024, many_peak
    assert many_peak < few_peak + 512 * 1024, (few_peak, many_peak)
