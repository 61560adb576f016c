"""The few request and response helpers the sandbox's WSGI app needs, including Vidu's error body."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus

READ_CHUNK = 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    too_large: bool  # the body was longer than the limit; ``body`` holds only its start
    base_url: str  # scheme://host:port as the client reached us

    @classmethod
    def from_environ(cls, environ: dict, limit: int) -> Request:
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        body, too_large = _read_body(environ, limit)
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO", "") or "/",
            query=environ.get("QUERY_STRING", ""),
            headers=headers,
            body=body,
            too_large=too_large,
            base_url=f"{environ.get('wsgi.url_scheme', 'http')}://{host}",
        )


def _read_body(environ: dict, limit: int) -> tuple[bytes, bool]:
    """Read the whole body (so a kept-alive connection stays in step) but keep at most ``limit`` bytes."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if not length or stream is None:
        return b"", False
    kept, kept_size, remaining = [], 0, length
    while remaining > 0:
        chunk = stream.read(min(READ_CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
        if kept_size <= limit:
            kept.append(chunk)
            kept_size += len(chunk)
    body = b"".join(kept)
    return body[: limit + 1], length > limit


@dataclass
class Response:
    status: int
    body: Iterable[bytes] = (b"",)
    headers: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, start_response) -> Iterable[bytes]:
        phrase = HTTPStatus(self.status).phrase if self.status in HTTPStatus._value2member_map_ else "Unknown"
        start_response(f"{self.status} {phrase}", self.headers)
        return self.body


def json_response(data: object, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return raw_json_response(json.dumps(data).encode(), status, headers)


def raw_json_response(body: bytes, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, [body], [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])


def error_response(status: int, reason: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """Vidu's error body (vidu-api.md §6), with a fresh trace id like the real API."""
    body = {"code": status, "reason": reason, "message": message, "metadata": {"trace_id": uuid.uuid4().hex}}
    return json_response(body, status, headers)
