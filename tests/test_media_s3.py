"""Media on S3-compatible storage (a real ``moto_server`` process) and handed to nginx on the filesystem.

The pipeline archives into the bucket through django-storages; the media view answers after the
access check with a short-lived presigned redirect, which the client follows to the bucket.
"""

import logging
import os
import re
import subprocess

import pytest
import requests
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from pipeline_helpers import pipeline, reload, state_of, sweep_until, text_task  # noqa: F401
from prod_fixtures import ROOT, free_port, s3_media, s3_server, serve, stop, wait_http  # noqa: F401
from studio_helpers import VIDEO_BYTES, make_task

from vidu_web.studio import archive
from vidu_web.studio.models import Creation, GenerationTask, State

SIGNED = "X-Amz-Signature="


def objects(server, bucket):
    return {o["Key"]: o["Size"] for o in server.client().list_objects_v2(Bucket=bucket).get("Contents", [])}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_archived_to_s3_is_served_by_a_presigned_redirect(pipeline, sandbox, s3_server, s3_media, team_a, alice,  # noqa: F811
                                                                 alice_client, charlie_client, caplog):
    caplog.set_level(logging.INFO)
    task = text_task(team_a, alice)
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    creation = Creation.objects.get(task=task)
    stored = objects(s3_server, s3_media)
    assert stored[creation.video.name] == creation.video_bytes > 0 and creation.cover.name in stored

    response = alice_client.get(f"/media/{creation.video.name}")
    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    link = response["Location"]
    assert link.startswith(f"{s3_server.url}/{s3_media}/") and SIGNED in link and "X-Amz-Expires=120" in link
    whole = requests.get(link, timeout=10)
    assert whole.status_code == 200 and whole.content[4:8] == b"ftyp" and whole.headers["Content-Type"] == "video/mp4"
    part = requests.get(link, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206 and part.content == whole.content[100:200]
    # (moto does not check signatures or expiry; a real bucket refuses a link past X-Amz-Expires.)

    download = alice_client.get(f"/media/{creation.video.name}?download=1")["Location"]
    assert requests.get(download, timeout=10).headers["Content-Disposition"].startswith("attachment;")

    assert charlie_client.get(f"/media/{creation.video.name}").status_code == 404  # the access check comes first
    assert SIGNED not in caplog.text  # never logged, by us or by a library at INFO


@pytest.mark.slow
@pytest.mark.django_db
def test_on_s3_pages_link_to_the_media_view_never_to_the_bucket(s3_server, s3_media, team_a, alice, alice_client):  # noqa: F811
    """A page's links go through the access check and outlive S3_URL_SECONDS; ``?download=1`` works.

    (Presigned links in the page skipped the check, went stale on a page left open, and had
    ``?download=1`` appended inside their signature, which a real bucket refuses.)"""
    task = make_task(team_a, alice)
    creation = task.creations.get()
    assert creation.video.name in objects(s3_server, s3_media)
    for path in (f"/videos/{task.uuid}/", "/gallery/", "/tasks/"):
        page = alice_client.get(path).content.decode()
        assert SIGNED not in page and s3_server.url not in page, path
        assert f"/media/{creation.video.name}" in page and f"/media/{creation.cover.name}" in page, path
    assert f'href="/media/{creation.video.name}?download=1"' in alice_client.get(f"/videos/{task.uuid}/").content.decode()

    download = alice_client.get(f"/media/{creation.video.name}?download=1")
    assert download.status_code == 302 and SIGNED in download["Location"]
    fetched = requests.get(download["Location"], timeout=10)
    assert fetched.content == VIDEO_BYTES and fetched.headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.slow
@pytest.mark.django_db
def test_an_unreachable_bucket_never_lets_a_task_succeed(pipeline, sandbox, s3_media, team_a, alice, settings,  # noqa: F811
                                                         monkeypatch, caplog):
    from vidu_web.settings import s3_storage

    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.archive", lambda task_id: None)
        task = text_task(team_a, alice)
        sweep_until(lambda: state_of(task) == State.ARCHIVING)
    good = settings.STORAGES["default"]
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(s3_media, f"http://127.0.0.1:{free_port()}", "us-east-1", "k", "s")}
    archive.archive(task.pk)
    task = reload(task)
    assert task.state == State.ARCHIVING and task.next_attempt_at > timezone.now()  # retried later, not succeeded
    creation = Creation.objects.get(task=task)
    assert not creation.video and creation.archived_at is None
    assert "EndpointConnectionError" in creation.archive_error
    assert "archive attempt 1 failed, will retry" in caplog.text

    settings.STORAGES = {**settings.STORAGES, "default": good}  # the bucket is back
    GenerationTask.objects.filter(pk=task.pk).update(next_attempt_at=timezone.now())
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    assert default_storage.exists(Creation.objects.get(task=task).video.name)


@pytest.mark.slow
@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_one_host_archives_into_the_bucket_and_another_serves_it(cluster_settings, sandbox, s3_server, s3_media,  # noqa: F811
                                                                 team_a, alice, alice_client, tmp_path):
    """The cluster (a separate process with its own MEDIA_ROOT) archives; this process serves."""
    from cluster import running_cluster, wait_for

    cluster_settings.MEDIA_ROOT = tmp_path / "web-host-media"  # nothing shared on disk
    with running_cluster(env={**s3_server.env(s3_media), "MEDIA_ROOT": str(tmp_path / "worker-host-media")}) as cluster:
        task = text_task(team_a, alice)
        wait_for(lambda: state_of(task) in (State.SUCCEEDED, State.FAILED), timeout=40,
                 message=f"the task to finish; log:\n{cluster.log()[-3000:]}")
        log = cluster.log()
    assert state_of(task) == State.SUCCEEDED, reload(task).error
    creation = Creation.objects.get(task=task)
    assert creation.video.name in objects(s3_server, s3_media)
    assert not (tmp_path / "worker-host-media").exists()  # the copy went to the bucket, not the worker's disk
    link = alice_client.get(f"/media/{creation.video.name}")["Location"]
    assert requests.get(link, timeout=10).content[4:8] == b"ftyp"
    assert SIGNED not in log


@pytest.mark.django_db
def test_on_the_filesystem_behind_nginx_the_file_is_handed_over(settings, tmp_path, team_a, alice, alice_client, charlie_client):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ACCEL_PREFIX = "/_media/"
    task = make_task(team_a, alice)
    name = task.creations.get().video.name
    response = alice_client.get(f"/media/{name}?download=1")
    assert response.status_code == 200 and response.content == b""  # nginx sends the bytes
    assert response["X-Accel-Redirect"] == f"/_media/{name}"
    assert response["Content-Type"] == "video/mp4" and response["Content-Disposition"].startswith("attachment;")
    assert charlie_client.get(f"/media/{name}").status_code == 404


@pytest.mark.django_db
def test_without_nginx_the_filesystem_file_is_streamed_with_ranges(settings, tmp_path, team_a, alice, alice_client):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ACCEL_PREFIX = ""
    name = make_task(team_a, alice).creations.get().video.name
    response = alice_client.get(f"/media/{name}", HTTP_RANGE="bytes=10-19")
    assert response.status_code == 206 and b"".join(response.streaming_content) == VIDEO_BYTES[10:20]
    assert "X-Accel-Redirect" not in response


def test_the_bucket_settings_give_short_lived_private_links():
    from vidu_web.settings import s3_storage

    options = s3_storage("media", "http://127.0.0.1:9000", "eu-west-1", "id", "secret", 900)["OPTIONS"]
    assert options["querystring_auth"] and options["querystring_expire"] == 900 and options["default_acl"] is None
    assert options["file_overwrite"] is False
    # Bounded, so an unreachable bucket fails a copy in seconds; SigV4 for X-Amz-Expires links.
    config = options["client_config"]
    assert config.connect_timeout <= 5 and config.retries["max_attempts"] <= 3 and config.signature_version == "s3v4"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_nginx_sends_the_file_after_the_access_check(settings, tmp_path, team_a, alice, charlie):
    """deploy/nginx.conf's internal media location in front of `make serve` (Django's live server
    would answer /media/ itself, without our view)."""
    settings.MEDIA_ROOT = media = tmp_path / "media"
    name = make_task(team_a, alice).creations.get().video.name
    block = re.search(r"location /_media/ \{.*?\}", (ROOT / "deploy" / "nginx.conf").read_text(), re.S)[0]
    block = block.replace("/srv/vidu_web/media/", f"{media}/")
    # The same key as this process: a session records a hash signed with it.
    server = serve(tmp_path, MEDIA_ROOT=str(media), MEDIA_ACCEL_PREFIX="/_media/", DJANGO_BEHIND_PROXY="1",
                   DJANGO_SECRET_KEY=settings.SECRET_KEY)
    port = free_port()
    (tmp_path / "nginx.conf").write_text(
        # As root, nginx's workers would run as nobody, who can't read pytest's private tmp_path.
        f"{'user root; ' if os.geteuid() == 0 else ''}pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; daemon off; events {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path}; fastcgi_temp_path {tmp_path};"
        f" uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path}; types {{ video/mp4 mp4; }}\n"
        f" server {{ listen 127.0.0.1:{port}; {block}\n"
        f"  location / {{ proxy_pass {server.url}; proxy_set_header Host $host; proxy_set_header X-Forwarded-Proto https; }} }} }}\n")
    nginx = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", process=nginx)
        signed_in = {}
        for user in (alice, charlie):
            client = Client()
            client.force_login(user)
            signed_in[user.username] = {"Cookie": f"sessionid={client.cookies['sessionid'].value}", "Host": "localhost"}
        whole = requests.get(f"{url}/media/{name}?download=1", headers=signed_in["alice"], timeout=10)
        assert whole.status_code == 200 and whole.content == VIDEO_BYTES and "X-Accel-Redirect" not in whole.headers
        assert whole.headers["Content-Disposition"].startswith("attachment;")
        part = requests.get(f"{url}/media/{name}", headers={**signed_in["alice"], "Range": "bytes=100-199"}, timeout=10)
        assert part.status_code == 206 and part.content == VIDEO_BYTES[100:200]
        assert requests.get(f"{url}/media/{name}", headers=signed_in["charlie"], timeout=10).status_code == 404
        assert requests.get(f"{url}/_media/{name}", headers=signed_in["alice"], timeout=10).status_code == 404  # internal
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        stop(server.process)
