"""Helpers for the client and sandbox tests: a callback receiver, image data URIs, polling, raw API calls."""

from __future__ import annotations

import base64
import io
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from PIL import Image

from vidu_web.vidu import PRESETS, ViduClient

ERROR_KEYS = {"code", "reason", "message", "metadata"}


def unique_key() -> str:
    """A fresh API key: the sandbox counts concurrency per key, so tests don't share slots."""
    return f"test-key-{uuid.uuid4().hex[:12]}"


def client_for(sandbox, key: str | None = None, *, prefix: str = "/ent/v2", scheme: str = "Token",
               timeout=(2.0, 5.0), **overrides) -> ViduClient:
    provider = PRESETS["sandbox"].with_overrides(base_url=sandbox.url, path_prefix=prefix, auth_scheme=scheme, **overrides)
    return ViduClient(provider, key or unique_key(), timeout=timeout)


def api(sandbox, method: str, path: str, key: str | None = "k", scheme: str = "Token", **kwargs) -> requests.Response:
    """A raw request to the sandbox's API, for checks below the client library."""
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers.setdefault("Authorization", f"{scheme} {key}")
    return requests.request(method, sandbox.url + path, headers=headers, timeout=10, **kwargs)


def assert_error_body(response: requests.Response, status: int, reason: str | None = None) -> dict:
    """The answer is Vidu's error body with ``status`` (and ``reason`` when given)."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["metadata"]["trace_id"], str) and body["metadata"]["trace_id"]
    if reason is not None:
        assert body["reason"] == reason, body
    return body


def wait_for(check: Callable[[], object], timeout: float = 5.0, interval: float = 0.03, message: str = "condition"):
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message} (last result: {result!r})")
        time.sleep(interval)


def image_uri(width: int = 256, height: int = 256, fmt: str = "PNG", color=(200, 40, 90)) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, fmt)
    mime = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[fmt]
    return f"data:{mime};base64,{base64.b64encode(out.getvalue()).decode()}"


class CallbackReceiver:
    """A tiny HTTP server that records each POST and answers the next status from ``statuses``."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.statuses: list[int] = []  # consumed one per request; 200 once empty
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "at": time.time()})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def callback_receiver():
    """A running ``CallbackReceiver``, closed on exit."""
    receiver = CallbackReceiver()
    try:
        yield receiver
    finally:
        receiver.close()
