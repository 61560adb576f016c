"""``running_sandbox()``: the sandbox on a free port in a background thread, with a handle to steer it over HTTP."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from .server import SandboxApp
from .wsgi_server import SandboxServer

# The handle talks to the sandbox directly, whatever proxy the environment names.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SandboxHandle:
    """What a test holds: the base URL and the control endpoints (``/_sandbox/...``).

    ``app`` is the WSGI app itself, for the rare test that must look inside; prefer HTTP.
    """

    def __init__(self, server: SandboxServer) -> None:
        self.url = server.url
        self.port = server.port
        self.app: SandboxApp = server.app

    def __repr__(self) -> str:
        return f"<Sandbox {self.url}>"

    def counts(self) -> dict[str, int]:
        """Creates per ``payload`` so far (the empty string counts creates without one)."""
        return self._call("GET", "counts")["creates"]

    def total_creates(self) -> int:
        return self._call("GET", "counts")["total"]

    def configure(self, **options: object) -> dict:
        """Change options (``step``, ``fault_rate``, ``fault_kinds``, ``hang_seconds``, ``url_ttl`` ...)."""
        return self._call("POST", "config", options)

    def config(self) -> dict:
        return self._call("GET", "config")

    def reset(self) -> None:
        """Forget all tasks and counts and restore the options the sandbox started with."""
        self._call("POST", "reset", {})

    def callbacks(self) -> list[dict]:
        """The latest callback attempts: task_id, state, url, status, attempt."""
        return self._call("GET", "callbacks")

    def _call(self, method: str, name: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_sandbox/{name}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with _opener.open(request, timeout=10) as answer:
            return json.loads(answer.read())


@contextmanager
def running_sandbox(host: str = "127.0.0.1", port: int = 0, **options: object) -> Iterator[SandboxHandle]:
    """Start a sandbox (``options`` as in ``config.Config``), yield its handle, stop it on exit."""
    server = SandboxServer(SandboxApp(**options), host, port).start()
    try:
        yield SandboxHandle(server)
    finally:
        server.stop()
