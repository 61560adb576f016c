"""The provider seam: a second family of video API, defined here, goes through the whole pipeline.

``Minimal`` speaks a small OpenAI-style video API (``POST /videos``, ``GET /videos/<id>`` with
``status`` queued / in_progress / completed / failed and ``progress``, ``POST /videos/<id>/cancel``,
``GET /videos/<id>/content``), served over real HTTP by ``MinimalServer``. Nothing in the
pipeline knows about it except through ``providers.register``: that is the seam.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.core.files.storage import default_storage
from pipeline_helpers import pipeline, reload, state_of, sweep_until, text_task  # noqa: F401

from vidu_web.studio import providers, services
from vidu_web.studio.models import GenerationTask, State
from vidu_web.studio.providers import base

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("pipeline")]

CLIP = (Path(__file__).resolve().parent.parent / "vidu_web" / "sandbox" / "media" / "clip1.mp4").read_bytes()


class MinimalServer(BaseHTTPRequestHandler):
    """Each query moves a job on one step: queued, in_progress (50 %), completed."""

    jobs: dict = {}
    creates: list = []

    def log_message(self, *args):
        pass

    def _answer(self, status, data=None, body=None, kind="application/json"):
        payload = body if body is not None else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        parts = self.path.strip("/").split("/")[1:]  # below /v1
        if parts == ["videos"]:
            job_id = f"video_{len(self.jobs) + 1}"
            self.creates.append(body)
            self.jobs[job_id] = {"id": job_id, "status": "queued", "progress": 0, "metadata": body.get("metadata")}
            return self._answer(200, self.jobs[job_id])
        if len(parts) == 3 and parts[2] == "cancel" and parts[1] in self.jobs:
            job = self.jobs[parts[1]]
            if job["status"] != "queued":
                return self._answer(409, {"error": {"code": "too_late", "message": "already started"}})
            job["status"] = "cancelled"
            return self._answer(200, job)
        return self._answer(404, {"error": {"code": "not_found"}})

    def do_GET(self):
        parts = self.path.strip("/").split("/")[1:]  # below /v1
        job = self.jobs.get(parts[1]) if len(parts) >= 2 else None
        if job is None:
            return self._answer(404, {"error": {"code": "not_found"}})
        if len(parts) == 3 and parts[2] == "content":
            return self._answer(200, body=CLIP, kind="video/mp4")
        steps = {"queued": ("in_progress", 50), "in_progress": ("completed", 100)}
        if job["status"] in steps:
            job["status"], job["progress"] = steps[job["status"]]
        return self._answer(200, job)


class Minimal(base.Adapter):
    """The whole of a second family's adapter: what ``providers/<family>.py`` would hold."""

    family = "minimal"
    STATES = {"queued": base.QUEUED, "in_progress": base.PROCESSING, "completed": base.SUCCEEDED,
              "failed": base.FAILED, "cancelled": base.CANCELLED}

    def __init__(self, name, endpoint, api_key, timeout, auth_scheme=""):
        super().__init__(name, endpoint, api_key, timeout)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def _call(self, method, path, body=None):
        try:
            response = self.session.request(method, f"{self.endpoint}/{path}", json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise base.ProviderError(0, "ConnectionError", type(exc).__name__, friendly="Couldn't reach it.",
                                     retryable=True, outcome_unknown=method == "POST") from None
        data = response.json()
        if response.status_code >= 400:
            code = data.get("error", {}).get("code", "error")
            raise base.ProviderError(response.status_code, code, friendly=f"It said {code}.",
                                     retryable=response.status_code >= 500, not_cancellable=code == "too_late")
        return data

    def build_request(self, task, images, callback_url):
        return {"model": task.model, "prompt": task.prompt.text, "seconds": task.duration,
                "metadata": {"ours": str(task.uuid)}}

    def create(self, mode, body):
        data = self._call("POST", "videos", body)
        return base.Created(id=data["id"], upstream_state=data["status"])

    def query(self, upstream_id):
        data = self._call("GET", f"videos/{upstream_id}")
        outputs = ()
        if data["status"] == "completed":
            outputs = (base.Output(id=data["id"], url=f"{self.endpoint}/videos/{data['id']}/content"),)
        return base.Answer(id=data["id"], state=self.STATES[data["status"]], upstream_state=data["status"],
                           progress=data.get("progress"), payload=data["metadata"]["ours"], outputs=outputs)

    def cancel(self, upstream_id):
        self._call("POST", f"videos/{upstream_id}/cancel")


@pytest.fixture
def minimal(settings):
    MinimalServer.jobs, MinimalServer.creates = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), MinimalServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    providers.register("minimal", Minimal)
    settings.VIDU_PROVIDER = "minimal"
    settings.VIDU_BASE_URL = f"http://127.0.0.1:{server.server_port}/v1"
    try:
        yield server
    finally:
        providers.FAMILIES.pop("minimal", None)
        server.shutdown()
        server.server_close()


def test_a_second_family_takes_a_task_to_an_archived_video(minimal, team_a, alice):
    task = reload(text_task(team_a, alice, prompt="a paper boat on a pond"))
    assert (task.provider, task.state, task.upstream_id) == ("minimal", State.QUEUED, "video_1")
    assert MinimalServer.creates == [{"model": "viduq2", "prompt": "a paper boat on a pond", "seconds": 5,
                                      "metadata": {"ours": str(task.uuid)}}]
    sweep_until(lambda: reload(task).progress == 50)
    assert state_of(task) == State.PROCESSING
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    creation = reload(task).creations.get()
    with default_storage.open(creation.video.name) as f:
        assert f.read() == CLIP
    assert reload(task).api_calls == 3  # the create and two queries


def test_a_second_family_cancels_through_its_own_api(minimal, team_a, alice):
    task = reload(text_task(team_a, alice))
    assert services.cancel_task(task) == "Cancelled; Vidu refunds its credits."
    assert MinimalServer.jobs["video_1"]["status"] == "cancelled"
    assert state_of(task) == State.CANCELLED


def test_a_refused_cancel_is_reported_in_words(minimal, team_a, alice):
    task = reload(text_task(team_a, alice))
    MinimalServer.jobs["video_1"]["status"] = "in_progress"
    assert "can no longer be cancelled" in services.cancel_task(task)
    assert state_of(task) == State.QUEUED


def test_a_running_task_stays_with_the_provider_it_was_created_with(sandbox, vidu_settings, settings, team_a, alice):
    task = reload(text_task(team_a, alice))
    assert task.provider == "sandbox" and task.endpoint.startswith(sandbox.url)
    # The operator moves the install to another endpoint while the task runs.
    settings.VIDU_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    assert sandbox.counts() == {str(task.uuid): 1}
    # New tasks go to the new endpoint.
    assert services.create_task(team_a, alice, "text2video", {"model": "viduq2", "prompt": "p"}, []).endpoint \
        == "http://127.0.0.1:9/ent/v2"


def test_a_task_of_a_provider_this_install_no_longer_knows_fails_in_words(team_a, alice, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.submit", lambda task_id: None)
        task = text_task(team_a, alice)
    GenerationTask.objects.filter(pk=task.pk).update(provider="gone")
    from vidu_web.studio import submission

    submission.submit(task.pk)
    task = reload(task)
    assert task.state == State.FAILED and "no longer knows" in task.error
