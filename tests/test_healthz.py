"""GET /healthz: no sign-in, 200 naming every check when all pass, 503 naming the failing one.

Each failure is real: a stopped Redis (a private redis-server, never the shared one), a media
directory that isn't there, S3 buckets that don't exist or can't be reached, a database on a
port where nothing listens, a sweep whose heartbeat went stale.
"""

import json
import shutil
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prod_fixtures import ROOT, free_port, production_env, s3_media, s3_server  # noqa: F401

from vidu_web.studio.models import SweepSlot

CHECKS = {"database", "broker", "storage", "sweep"}


@pytest.fixture
def healthy(db, settings, tmp_path):
    """Everything a host needs: the ORM broker, a writable MEDIA_ROOT, a sweep that just beat."""
    settings.REDIS_URL = ""
    settings.Q_CLUSTER = {k: v for k, v in settings.Q_CLUSTER.items() if k != "redis"} | {"orm": "default"}
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media").mkdir()
    SweepSlot.objects.update_or_create(slot=0, defaults={"owner": "host-a:1:abc", "beat_at": timezone.now()})
    return settings


def get():
    response = Client().get("/healthz")  # anonymous: a load balancer has no session
    assert response["Content-Type"] == "application/json"
    return response, response.json()


def test_all_checks_pass_without_signing_in(healthy):
    response, body = get()
    assert response.status_code == 200
    assert body == {"status": "ok", "failing": [], "checks": dict.fromkeys(CHECKS, "ok")}
    assert "no-cache" in response["Cache-Control"]


def test_a_stale_sweep_fails_the_sweep_check(healthy):
    SweepSlot.objects.filter(slot=0).update(beat_at=timezone.now() - timedelta(minutes=10))
    response, body = get()
    assert response.status_code == 503
    assert body["failing"] == ["sweep"]
    assert "heartbeat is 6" in body["checks"]["sweep"] and "make worker" in body["checks"]["sweep"]
    assert {k for k, v in body["checks"].items() if v == "ok"} == CHECKS - {"sweep"}


def test_no_sweep_ever_fails_the_sweep_check(healthy):
    SweepSlot.objects.all().delete()
    response, body = get()
    assert response.status_code == 503 and body["failing"] == ["sweep"]


def test_a_missing_media_directory_fails_the_storage_check(healthy, tmp_path, caplog):
    healthy.MEDIA_ROOT = tmp_path / "nowhere"
    response, body = get()
    assert response.status_code == 503 and body["failing"] == ["storage"]
    assert body["checks"]["storage"] == "the media directory does not exist"
    assert "healthz: the storage check failed" in caplog.text


def test_a_503_is_logged_once_as_the_views_warning_not_as_djangos_error(healthy, caplog):
    """A load balancer polls /healthz every few seconds: a failing check is one WARNING naming it,
    not also Django's "Service Unavailable" ERROR per poll."""
    SweepSlot.objects.all().delete()
    with caplog.at_level("INFO"):
        assert get()[0].status_code == 503
    assert [(r.name, r.levelname) for r in caplog.records if r.levelno >= 30] == [
        ("vidu_web.studio.health", "WARNING")]


def test_another_5xx_still_reaches_djangos_error_log(caplog):
    import logging

    from django.http import HttpRequest

    request = HttpRequest()
    request.path = "/gallery/"
    with caplog.at_level("INFO"):
        logging.getLogger("django.request").error("Service Unavailable: %s", request.path,
                                                  extra={"status_code": 503, "request": request})
    assert [r.levelname for r in caplog.records if r.name == "django.request"] == ["ERROR"]


def test_a_bucket_that_does_not_exist_fails_the_storage_check(healthy, s3_media, s3_server):  # noqa: F811 (fixtures)
    assert get()[0].status_code == 200  # the bucket the fixture made
    s3_server.client().delete_bucket(Bucket=s3_media)
    response, body = get()
    assert response.status_code == 503 and body["failing"] == ["storage"]
    assert body["checks"]["storage"] == "ClientError (404)"


def test_an_unreachable_bucket_fails_the_storage_check_and_is_logged(healthy, s3_media, caplog):  # noqa: F811 (fixtures)
    from vidu_web.settings import s3_storage

    closed = free_port()
    healthy.STORAGES = {**healthy.STORAGES, "default": s3_storage(s3_media, f"http://127.0.0.1:{closed}", "us-east-1", "k", "s")}
    started = time.monotonic()
    response, body = get()
    assert time.monotonic() - started < 10  # bounded: a probe must get an answer
    assert response.status_code == 503 and body["failing"] == ["storage"]
    assert body["checks"]["storage"] == "EndpointConnectionError"
    assert str(closed) not in json.dumps(body)  # no endpoint or bucket address in the answer
    assert "the storage check failed: EndpointConnectionError" in caplog.text


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed (apt-get install redis-server)")
def test_a_redis_broker_that_goes_down_fails_the_broker_check(healthy, tmp_path):
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        healthy.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while get()[0].status_code != 200:
            assert time.monotonic() < deadline, get()[1]
            time.sleep(0.1)
    finally:
        redis.terminate()
        redis.wait(timeout=10)
    response, body = get()
    assert response.status_code == 503 and body["failing"] == ["broker"]
    assert body["checks"]["broker"] == "ConnectionError"


def test_a_database_that_cannot_be_reached_fails_the_database_check():
    """In production settings (DEBUG off, SSL redirect on) with nothing listening at DATABASE_URL."""
    probe = ("import django, json; django.setup(); from django.test import Client;"
             "r = Client().get('/healthz'); print(r.status_code); print(r.content.decode())")
    env = production_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2",
                         DJANGO_ALLOWED_HOSTS="testserver")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-2:]
    body = json.loads(body)
    assert status == "503"  # not a redirect to HTTPS, not a 500
    assert "database" in body["failing"] and body["checks"]["database"] == "OperationalError"
    assert "postgres://" not in result.stdout + result.stderr
