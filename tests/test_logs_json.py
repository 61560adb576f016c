"""LOG_FORMAT=json: one JSON object a line, the request id on every line a request logs (and in
its X-Request-ID), the process named after its host, and still no secret or signed URL."""

import json
import socket
import subprocess
import sys

import pytest
from prod_fixtures import ROOT, production_env

from vidu_web.logs import worker_name

SIGNED = "https://prod-ss-vidu.s3.amazonaws.com/infer/v.mp4?X-Amz-Signature=5d33293d94f4abbddd1c42ec&X-Amz-Expires=86400"
HOOK_SECRET = "Xq3_vErY-s3cret-callback-0123456789"
# /healthz logs a WARNING per failing check inside the request (its 503 is not logged again); a
# POST to it is refused and Django logs that 405 itself, after the middleware chain; then a line
# outside any request.
PROBE = f"""
import django, json, logging, uuid; django.setup()
from django.test import Client
r = Client().get("/healthz", HTTP_HOST="127.0.0.1", HTTP_X_REQUEST_ID="nginx-made-0123456789")
refused = Client().post("/healthz", HTTP_HOST="127.0.0.1")
print(json.dumps({{"status": r.status_code, "id": r["X-Request-ID"], "refused": refused.status_code,
                  "refused_id": refused["X-Request-ID"]}}))
logging.getLogger("vidu_web.studio.archive").warning("copying %s for /hooks/vidu/%s/{HOOK_SECRET}/", "{SIGNED}", uuid.uuid4())
"""


def run_probe(**env):
    # No database to reach: its check (and the broker's, on the ORM) fail at once, each a WARNING.
    env = production_env(LOG_FORMAT="json", DATABASE_URL="postgres://nobody@127.0.0.1:9/none?connect_timeout=1", **env)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON, or this raises
    return json.loads(result.stdout), lines


def test_every_line_of_a_request_carries_its_id_and_the_host():
    answer, lines = run_probe()
    assert answer["status"] == 503
    during = [line for line in lines if line["logger"] == "vidu_web.studio.health"]
    assert during and all(line["request_id"] == answer["id"] for line in during), during
    assert answer["refused"] == 405
    after = [line for line in lines if line["logger"] == "django.request"]  # logged after the middleware
    assert [(line["message"], line["request_id"]) for line in after] == [
        ("Method Not Allowed (POST): /healthz", answer["refused_id"])]
    assert answer["refused_id"] != answer["id"]
    assert answer["id"] != "nginx-made-0123456789"  # not behind a proxy: a client's id is not taken
    host = socket.gethostname()
    assert all(line["worker"] == f"web@{host}" and line["host"] == host and line["pid"] for line in lines)
    assert {"time", "level", "logger", "message"} <= set(lines[0])


def test_a_line_outside_a_request_has_no_request_id_and_hides_secrets():
    _, lines = run_probe()
    last = lines[-1]
    assert last["logger"] == "vidu_web.studio.archive" and "request_id" not in last
    assert "X-Amz-Signature" not in last["message"] and HOOK_SECRET not in last["message"]
    assert "https://prod-ss-vidu.s3.amazonaws.com/infer/v.mp4?[hidden]" in last["message"]


def test_behind_the_proxy_the_proxys_request_id_is_kept():
    answer, lines = run_probe(DJANGO_BEHIND_PROXY="1")
    assert answer["id"] == "nginx-made-0123456789"
    assert any(line.get("request_id") == "nginx-made-0123456789" for line in lines)


def test_a_junk_request_id_from_the_proxy_is_replaced(client, settings):
    settings.BEHIND_PROXY = True
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID='x" injected=1\nline')
    assert len(response["X-Request-ID"]) == 32 and "injected" not in response["X-Request-ID"]


def test_a_bad_log_format_stops_startup_naming_it():
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                            env=production_env(LOG_FORMAT="yaml"), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "LOG_FORMAT" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("argv, name", [
    (["manage.py", "qcluster"], "vidu_web@{host}"),
    (["/srv/vidu_web/.venv/bin/gunicorn", "--config", "deploy/gunicorn.conf.py"], "web@{host}"),
    (["manage.py", "runserver"], "web@{host}"),
    (["manage.py", "migrate"], "migrate@{host}"),
])
def test_each_process_is_named_after_its_host(argv, name):
    assert worker_name(argv) == name.format(host=socket.gethostname())
