"""The API key is checked once when a worker starts: one query for a task that can't exist.
A 404 means the key was accepted; 401/403 make one ERROR line; no answer, one WARNING."""

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cluster import running_cluster, wait_for

from vidu_web.studio.keycheck import ACCEPTED, REFUSED, UNKNOWN, check_key

WRONG_KEY = "vda_wrong-key-0123456789abcdef"


class Refusing(BaseHTTPRequestHandler):
    """Answers every request as Vidu answers a key it doesn't know."""

    status = 401
    seen = []

    def do_GET(self):
        Refusing.seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps({"code": self.status, "reason": "Unauthorized" if self.status == 401 else "Forbidden",
                           "message": "invalid token", "metadata": {"trace_id": "t"}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_vidu(settings):
    Refusing.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.VIDU_PROVIDER, settings.VIDU_API_KEY = "vidu", WRONG_KEY
    settings.VIDU_BASE_URL, settings.VIDU_PATH_PREFIX, settings.VIDU_AUTH_SCHEME = f"http://127.0.0.1:{server.server_port}", "", ""
    yield server
    server.shutdown()
    server.server_close()


def errors(caplog):
    return [r for r in caplog.records if r.name == "vidu_web.studio.keycheck" and r.levelno >= logging.WARNING]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_one_error_line(refusing_vidu, caplog, status, monkeypatch):
    monkeypatch.setattr(Refusing, "status", status)
    assert check_key() == REFUSED
    lines = errors(caplog)
    assert [r.levelname for r in lines] == ["ERROR"] and "VIDU_API_KEY" in lines[0].getMessage()
    assert WRONG_KEY not in caplog.text
    assert [path for path, _ in Refusing.seen] == ["/ent/v2/tasks/0/creations"]  # one query, for no real task


def test_a_key_the_provider_accepts_logs_no_warning(vidu_settings, caplog):
    caplog.set_level(logging.INFO)
    assert check_key() == ACCEPTED  # the sandbox answers 404 TaskNotFound: it read the key
    assert errors(caplog) == [] and "accepted" in caplog.text


def test_a_provider_that_does_not_answer_is_one_warning(settings, caplog):
    settings.VIDU_PROVIDER, settings.VIDU_BASE_URL, settings.VIDU_API_KEY = "vidu", "http://127.0.0.1:9", WRONG_KEY
    assert check_key() == UNKNOWN
    assert [r.levelname for r in errors(caplog)] == ["WARNING"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.cluster
def test_a_worker_says_at_start_that_its_key_is_refused(cluster_settings, refusing_vidu):
    with running_cluster(env={"LOG_FORMAT": "json"}) as cluster:
        wait_for(lambda: "was refused" in cluster.log(), 20, message="the key check's line")
        wait_for(lambda: "Q Cluster" in cluster.log(), 20, message="the cluster's start line")
        log = cluster.log()
    refused = [json.loads(line) for line in log.splitlines() if "was refused" in line]
    assert len(refused) == 1 and refused[0]["level"] == "ERROR", log[-2000:]
    assert refused[0]["worker"] == f"vidu_web@{socket.gethostname()}"
    assert WRONG_KEY not in log
    assert [auth for _, auth in Refusing.seen] == [f"Token {WRONG_KEY}"]  # checked once, with the key
