"""Extend, upscale and keyframes end to end: the pages, a real ``qcluster`` process and the sandbox.

Each action goes through its view (a CSRF-enforcing client), so the new task is submitted by the
cluster, followed, archived into our storage and linked to its source, as a creator would see it.
"""

import json

import pytest
from cluster import running_cluster, wait_for
from django.core.files.storage import default_storage
from pipeline_helpers import text_task

from tests.studio_helpers import csrf_post, png, upload
from vidu_web.studio.models import FINAL_STATES, Creation, GenerationTask, State
from vidu_web.vidu import images

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]


def finish(task, cluster, timeout=60):
    wait_for(lambda: GenerationTask.objects.filter(pk=task.pk, state__in=FINAL_STATES).exists(), timeout=timeout,
             message=f"task {task.mode} to finish; log:\n{cluster.log()[-3000:]}")
    task.refresh_from_db()
    return task


def archived(task) -> Creation:
    assert task.state == State.SUCCEEDED, (task.mode, task.err_code, task.error)
    creation = Creation.objects.get(task=task)
    with default_storage.open(creation.video.name) as f:
        assert f.read(8)[4:8] == b"ftyp"
    return creation


def newest():
    return GenerationTask.objects.order_by("-id").first()


def capture_creates(sandbox, monkeypatch) -> dict:
    """The JSON bodies the sandbox is sent to create tasks, by ``payload`` (our task's UUID).

    The sandbox runs in this process (the cluster is another), so its app is wrapped here."""
    bodies = {}
    create = sandbox.app.create

    def recording(request, key, mode):
        body = json.loads(request.body)
        bodies[body.get("payload", "")] = body
        return create(request, key, mode)

    monkeypatch.setattr(sandbox.app, "create", recording)
    return bodies


def test_extend_with_an_end_frame_from_the_gallery_makes_an_archived_linked_version(
        cluster_settings, sandbox, team_a, alice, alice_client, monkeypatch):
    bodies = capture_creates(sandbox, monkeypatch)
    with running_cluster() as cluster:
        source = text_task(team_a, alice, duration=5, resolution="720p")
        harbour = text_task(team_a, alice, prompt="a harbour at night", duration=5, resolution="720p")
        finish(source, cluster)
        poster = archived(finish(harbour, cluster)).cover
        page = f"/videos/{source.uuid}/"
        assert f'data-end-frame="{harbour.uuid}"' in alice_client.get(page).content.decode()
        response = csrf_post(alice_client, f"/videos/{source.uuid}/extend/",
                             {"duration": "3", "resolution": "540p", "prompt": "the fox looks back",
                              "end_frame_video": str(harbour.uuid)}, page=page)
        extension = newest()
        assert response.status_code == 302 and extension.source == source
        finish(extension, cluster)
    creation = archived(extension)
    assert creation.duration == 8, "the sandbox reports the source's 5 s plus the 3 s added"
    assert extension.credits and sandbox.counts()[str(extension.uuid)] == 1
    # What went upstream: the source by its creation id, and the harbour's poster as the end frame.
    sent = bodies[str(extension.uuid)]
    assert sent["video_creation_id"] == source.output().upstream_id and len(sent["images"]) == 1
    with poster.open("rb") as f:
        assert images.decode_data_uri(sent["images"][0]) == f.read()
    html = alice_client.get(f"/videos/{extension.uuid}/").content.decode()
    assert f'data-version-of="{source.uuid}"' in html and creation.video.url in html


def test_upscale_makes_an_archived_linked_version_and_a_400_is_told_in_words(cluster_settings, sandbox, team_a,
                                                                             alice, alice_client):
    with running_cluster() as cluster:
        source = finish(text_task(team_a, alice, resolution="720p"), cluster)
        sharp = finish(text_task(team_a, alice, prompt="a sharp fox", resolution="1080p"), cluster)
        # Both stored copies are the sandbox's 320×180 clips, so 1080p is offered for each; the
        # sandbox judges by the 1080p it made the second one at, and refuses (vidu-api.md 2b).
        assert archived(sharp).height == 180 and "1080p" in sharp.upscale_choices(sharp.output())
        csrf_post(alice_client, f"/videos/{source.uuid}/upscale/", {"upscale_resolution": "1080p"},
                  page=f"/videos/{source.uuid}/")
        upscaled = newest()
        csrf_post(alice_client, f"/videos/{sharp.uuid}/upscale/", {"upscale_resolution": "1080p"},
                  page=f"/videos/{sharp.uuid}/")
        refused = newest()
        finish(upscaled, cluster)
        finish(refused, cluster)
    archived(upscaled)
    assert (upscaled.source, upscaled.mode, upscaled.resolution) == (source, "upscale-new", "1080p")
    assert refused.state == State.FAILED and refused.err_code == "FieldInvalid" and refused.source == sharp
    assert "can't upscale this video to 1080p" in refused.error and "Pick a higher resolution" in refused.error
    html = alice_client.get(f"/videos/{refused.uuid}/").content.decode()
    assert "can&#x27;t upscale this video to 1080p" in html


def test_keyframes_from_the_create_page_become_an_archived_video(cluster_settings, sandbox, team_a, alice,
                                                                 alice_client):
    with running_cluster() as cluster:
        csrf_post(alice_client, "/create/", {
            "mode": "multiframe", "model": "viduq2-pro", "resolution": "720p", "start_image": upload(png(), "s.png"),
            "key_images": [upload(png(), "a.png"), upload(png(), "b.png")], "key_prompts": ["opens", "closes"],
            "key_durations": ["2", "5"]})
        task = newest()
        assert task.mode == "multiframe"
        finish(task, cluster)
    assert archived(task).duration == 7
    assert sandbox.counts()[str(task.uuid)] == 1


def test_is_rec_keeps_the_prompt_vidu_wrote(cluster_settings, sandbox, team_a, alice, alice_client):
    with running_cluster() as cluster:
        task = finish(text_task(team_a, alice, prompt="a fox", is_rec=True), cluster)
    archived(task)
    assert task.prompt_used.startswith("[sandbox]") and task.prompt.text == "a fox"
    assert "data-prompt-used" in alice_client.get(f"/videos/{task.uuid}/").content.decode()
