"""The seed's DataEyes example (tests/fixtures/dataeyes_query_success.json) drives a task to an archived video.

A small stand-in for the DataEyes gateway answers the create and then, for the query, the
fixture exactly as DataEyes documented it (its S3 host pointed at the stand-in, which also
serves the video and cover). The fixture's URLs expired long ago, so this also exercises the
"expired: ask again, then copy" path.
"""

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from pipeline_helpers import pipeline, reload, state_of, sweep_until, text_task  # noqa: F401

from vidu_web.studio.models import Creation, State

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("pipeline")]

FIXTURE = Path(__file__).parent / "fixtures" / "dataeyes_query_success.json"
S3 = "https://prod-ss-vidu.s3.cn-northwest-1.amazonaws.com.cn"
CLIP = Path(__file__).resolve().parent.parent / "vidu_web" / "sandbox" / "media" / "clip1.mp4"
TASK_ID = "895579439721627648"


class Gateway(BaseHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        pass

    def _send(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.requests.append(("POST", self.path, self.headers.get("Authorization")))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Authorization") != "Bearer sk-seed":
            return self._send(401, b'{"code":401,"reason":"Unauthorized","message":"bad key"}')
        body = {"task_id": TASK_ID, "state": "created", "credits": 130, "created_at": "2025-12-08T11:47:09Z"}
        self._send(200, json.dumps(body).encode())

    def do_GET(self):
        self.requests.append(("GET", self.path, self.headers.get("Authorization")))
        if self.path == f"/v2/tasks/{TASK_ID}/creations":
            text = FIXTURE.read_text().replace(S3, f"http://127.0.0.1:{self.server.server_port}")
            return self._send(200, text.encode())
        if self.path.startswith("/infer/tasks/") and "/video.mp4?" in self.path:
            return self._send(200, CLIP.read_bytes(), "video/mp4")
        if self.path.startswith("/infer/tasks/") and "/cover.jpeg?" in self.path:
            return self._send(200, b"\xff\xd8\xff\xe0" + bytes(1000), "image/jpeg")
        self._send(404, b'{"code":404,"reason":"TaskNotFound","message":"no"}')


@pytest.fixture
def gateway(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.VIDU_PROVIDER = "dataeyes"
    settings.VIDU_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    settings.VIDU_PATH_PREFIX = ""
    settings.VIDU_AUTH_SCHEME = ""
    settings.VIDU_API_KEY = "sk-seed"
    Gateway.requests = []
    yield Gateway
    server.shutdown()
    server.server_close()


def test_the_seed_fixture_drives_a_success_end_to_end(gateway, team_a, alice):
    task = text_task(team_a, alice)
    sweep_until(lambda: state_of(task) in (State.SUCCEEDED, State.FAILED))
    task = reload(task)
    assert task.state == State.SUCCEEDED, task.error
    assert task.upstream_id == TASK_ID and task.credits == 130 and task.progress == 100
    assert task.upstream_state == "success"
    creation = Creation.objects.get(task=task)
    assert creation.upstream_id == "895580013615669248"
    assert creation.width is None and creation.duration == 0  # resolution null, duration unknown
    # The cover's link lived an hour from its X-Amz-Date: the earlier of the two expiries.
    assert creation.urls_expire_at == datetime(2025, 12, 8, 12, 50, 13, tzinfo=UTC)
    assert default_storage.open(creation.video.name).read() == CLIP.read_bytes()
    assert default_storage.open(creation.cover.name).read(3) == b"\xff\xd8\xff"
    posts = [r for r in gateway.requests if r[0] == "POST"]
    assert posts == [("POST", "/v2/text2video", "Bearer sk-seed")]
