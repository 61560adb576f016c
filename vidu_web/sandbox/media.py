"""The sandbox's files: sample clips, S3-style presigned URLs that expire, and byte streaming with ranges.

A URL carries ``X-Amz-Date``, ``X-Amz-Expires`` and an HMAC of the path and both values, so a
client that keeps a URL too long or edits it gets the 403 that S3 would give. Big files
(``[bigvideo:N]``) are a real clip followed by zeros, generated chunk by chunk on the fly.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlencode

MEDIA_DIR = Path(__file__).parent / "media"
CHUNK = 64 * 1024
_ZEROS = bytes(CHUNK)
AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Clip:
    name: str
    aspect_ratio: str
    width: int
    height: int
    duration: float
    fps: float

    @property
    def video_path(self) -> Path:
        return MEDIA_DIR / f"{self.name}.mp4"

    @property
    def cover_path(self) -> Path:
        return MEDIA_DIR / f"{self.name.replace('clip', 'cover')}.jpeg"


@cache
def clips() -> tuple[Clip, ...]:
    return tuple(Clip(**row) for row in json.loads((MEDIA_DIR / "clips.json").read_text()))


def pick_clip(seed: int, aspect_ratio: str = "16:9") -> Clip:
    """A clip of the task's shape, chosen by its seed so that different tasks look different."""
    matching = [c for c in clips() if c.aspect_ratio == aspect_ratio] or [c for c in clips() if c.aspect_ratio == "16:9"]
    return matching[seed % len(matching)]


@cache
def read_bytes(path: Path) -> bytes:
    """The small sample files live in memory once read: they are tens of KB."""
    return path.read_bytes()


# -- presigned URLs -------------------------------------------------------------------------


def _signature(secret: bytes, path: str, date: str, expires: str) -> str:
    return hmac.new(secret, f"{path}\n{date}\n{expires}".encode(), hashlib.sha256).hexdigest()


def presign(secret: bytes, base_url: str, path: str, ttl: int, now: float | None = None) -> str:
    """``base_url + path`` with an S3-like signed query that stops working after ``ttl`` seconds."""
    date = time.strftime(AMZ_DATE, time.gmtime(time.time() if now is None else now))
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Date": date,
        "X-Amz-Expires": str(ttl),
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Signature": _signature(secret, path, date, str(ttl)),
    }
    return f"{base_url.rstrip('/')}{path}?{urlencode(query)}"


def check_presigned(secret: bytes, path: str, query_string: str, now: float | None = None) -> tuple[str, str] | None:
    """None when the URL is valid; otherwise S3's (code, message) for a 403."""
    query = {k: v[0] for k, v in parse_qs(query_string).items()}
    date, expires, signature = (query.get(k, "") for k in ("X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"))
    if not (date and expires and signature):
        return "AccessDenied", "Query-string authentication requires the Signature, Expires and Date parameters"
    if not hmac.compare_digest(_signature(secret, path, date, expires), signature):
        return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
    try:
        signed_at = calendar.timegm(time.strptime(date, AMZ_DATE))
        lifetime = int(expires)
    except ValueError:
        return "AccessDenied", "X-Amz-Date or X-Amz-Expires is malformed"
    if (time.time() if now is None else now) > signed_at + lifetime:
        return "AccessDenied", "Request has expired"
    return None


def s3_error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()


# -- streaming ------------------------------------------------------------------------------


def parse_range(header: str, total: int) -> tuple[int, int] | None:
    """The inclusive (start, end) of a single ``bytes=`` range; None if unsatisfiable.

    Raises ``ValueError`` for a header we don't understand (then the whole file is sent).
    """
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        raise ValueError(header)
    first, _, last = spec.strip().partition("-")
    if not first:  # the last N bytes
        length = int(last)
        return (max(0, total - length), total - 1) if length > 0 and total else None
    start = int(first)
    end = min(int(last), total - 1) if last else total - 1
    return (start, end) if start <= end else None


def iter_bytes(head: bytes, total: int, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end`` (inclusive) of ``head`` padded with zeros to ``total``, in chunks."""
    position = start
    while position <= end:
        if position < len(head):
            chunk = head[position:min(len(head), end + 1, position + CHUNK)]
        else:
            chunk = _ZEROS[:min(CHUNK, end + 1 - position)]
        position += len(chunk)
        yield chunk
