"""Black-box contract tests of the local Vidu sandbox, over HTTP only.

Written against ``docs/vidu-api.md`` (§1-§7) and nothing else: the only thing imported from the
project is ``running_sandbox`` (the entry point that starts the server and steers its test-only
controls). Every request goes through ``requests``; the callback signature is checked by an
implementation of §5 written here, not the project's.

A test that fails here is a disagreement between the server and the document.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import threading
import time
import uuid
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from PIL import Image

from vidu_web.sandbox.testing import running_sandbox

# --------------------------------------------------------------------------------------------
# The contract, as data (§2, §3, §6)
# --------------------------------------------------------------------------------------------

PREFIXES = ("/ent/v2", "/v2")
SCHEMES = ("Token", "Bearer")
FLAVORS = [("/ent/v2", "Token"), ("/v2", "Bearer")]  # the two documented spellings
ALL_FLAVORS = [(p, s) for p in PREFIXES for s in SCHEMES]

ENDPOINTS = ("text2video", "img2video", "start-end2video", "reference2video")
IMAGE_COUNT = {"text2video": 0, "img2video": 1, "start-end2video": 2, "reference2video": 1}

# model -> endpoints, default duration, default resolution (§2 model table)
MODELS = {
    "viduq3-pro": (("text2video", "img2video", "start-end2video"), 5, "720p"),
    "viduq3-turbo": (("text2video", "img2video", "start-end2video"), 5, "720p"),
    "viduq2": (("text2video", "reference2video"), 5, "720p"),
    "viduq2-pro": (("img2video", "start-end2video"), 5, "720p"),
    "viduq2-turbo": (("img2video", "start-end2video"), 5, "720p"),
    "viduq1": (("text2video", "img2video", "start-end2video", "reference2video"), 5, "1080p"),
    "vidu2.0": (("img2video", "start-end2video", "reference2video"), 4, "360p"),
}
MODEL_ENDPOINTS = [(m, e) for m, (eps, _, _) in MODELS.items() for e in eps]

STATES = ("created", "queueing", "processing", "success", "failed")
STATE_RANK = {"created": 0, "queueing": 1, "processing": 2, "success": 3, "failed": 3}
FINAL = ("success", "failed")

REASONS = {
    400: {"BadRequest", "FieldLacking", "FieldUnwanted", "FieldInvalid", "FieldItemCountOutOfRange",
          "ImageFormatInvalid", "ImageDownloadFailure", "CreditInsufficient", "CreationPolicyViolation",
          "TaskPromptPolicyViolation", "AuditSubmitIllegal", "ModelUnavailable", "OperationInProcess"},
    401: {"Unauthorized"},
    403: {"Forbidden"},
    404: {"TaskNotFound", "CreationNotFound"},
    409: {"Conflict"},
    429: {"QuotaExceeded", "TooManyRequests", "SystemThrottling"},
    500: {"InternalServiceFailure"},
}
STATUS_OF_REASON = {reason: status for status, reasons in REASONS.items() for reason in reasons}

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
CANCEL_REFUSED = "task state is scheduled, can not cancel"
STEP = 0.2


# --------------------------------------------------------------------------------------------
# Images (Pillow, real bytes)
# --------------------------------------------------------------------------------------------


@cache
def image_uri(width: int = 256, height: int = 256, fmt: str = "PNG") -> str:
    image = Image.new("RGB", (width, height))
    pixels = image.load()
    for x in range(0, width, 4):
        for y in range(0, height, 4):
            pixels[x, y] = (x * 255 // width, y * 255 // height, 128)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    mime = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif"}[fmt]
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode()


def png(width: int = 256, height: int = 256) -> str:
    return image_uri(width, height, "PNG")


def jpeg(width: int = 256, height: int = 256) -> str:
    return image_uri(width, height, "JPEG")


HTTPS_IMAGES = ["https://example.com/frames/a.png", "https://cdn.example.org/frames/b.jpg",
                "https://example.com/frames/c.webp"]


def images_of(kind: str, count: int) -> list[str]:
    if kind == "https":
        return [HTTPS_IMAGES[i % len(HTTPS_IMAGES)] for i in range(count)]
    if kind == "jpeg":
        return [jpeg() for _ in range(count)]
    if kind == "webp":
        return [image_uri(256, 256, "WEBP") for _ in range(count)]
    return [png() for _ in range(count)]


def body_for(endpoint: str, model: str, kind: str = "png", **extra: object) -> dict:
    body: dict = {"model": model}
    if endpoint in ("text2video", "reference2video"):
        body["prompt"] = "a red fox running through fresh snow, cinematic"
    count = IMAGE_COUNT[endpoint]
    if count:
        body["images"] = images_of(kind, count)
    body.update(extra)
    return body


# --------------------------------------------------------------------------------------------
# HTTP client for the contract
# --------------------------------------------------------------------------------------------


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # talk to 127.0.0.1 directly, whatever proxy the environment names
    return session


HTTP = _session()


class Api:
    def __init__(self, base: str, prefix: str = "/ent/v2", scheme: str = "Token", key: str | None = None):
        self.base = base
        self.prefix = prefix
        self.scheme = scheme
        self.key = key or f"key-{uuid.uuid4().hex[:12]}"

    def __repr__(self) -> str:
        return f"<Api {self.prefix} {self.scheme}>"

    def headers(self) -> dict:
        return {"Authorization": f"{self.scheme} {self.key}", "Content-Type": "application/json"}

    def url(self, path: str) -> str:
        return f"{self.base}{self.prefix}/{path}"

    def post_raw(self, path: str, data: bytes | str, headers: dict | None = None, timeout: float = 20) -> requests.Response:
        return HTTP.post(self.url(path), data=data, headers=self.headers() if headers is None else headers,
                         timeout=timeout)

    def create(self, endpoint: str, body: object, timeout: float = 10) -> requests.Response:
        return self.post_raw(endpoint, json.dumps(body), timeout=timeout)

    def created(self, endpoint: str, body: dict) -> dict:
        answer = self.create(endpoint, body)
        assert answer.status_code == 200, f"{endpoint} {body.get('model')}: {answer.status_code} {answer.text[:400]}"
        return answer.json()

    def query(self, task_id: str, timeout: float = 10) -> requests.Response:
        return HTTP.get(self.url(f"tasks/{task_id}/creations"), headers=self.headers(), timeout=timeout)

    def state(self, task_id: str) -> dict:
        answer = self.query(task_id)
        assert answer.status_code == 200, f"query {task_id}: {answer.status_code} {answer.text[:400]}"
        return answer.json()

    def cancel(self, task_id: str, body: object = None) -> requests.Response:
        payload = {"id": task_id} if body is None else body
        return self.post_raw(f"tasks/{task_id}/cancel", json.dumps(payload))


def poll(api: Api, task_id: str, until, timeout: float = 10.0, interval: float = 0.05) -> list[dict]:
    """Query until ``until(body)`` holds; return every body seen (each checked against §3)."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        body = api.state(task_id)
        check_query_body(body, task_id)
        seen.append(body)
        if until(body):
            return seen
        assert time.monotonic() < deadline, f"task {task_id} stuck: last {body.get('state')} after {timeout}s"
        time.sleep(interval)


def until_final(body: dict) -> bool:
    return body.get("state") in FINAL


def assert_never_backwards(bodies: list[dict]) -> None:
    ranks = [STATE_RANK[b["state"]] for b in bodies]
    assert ranks == sorted(ranks), f"state went backwards: {[b['state'] for b in bodies]}"


# --------------------------------------------------------------------------------------------
# Shape checks
# --------------------------------------------------------------------------------------------


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_error(answer: requests.Response, status: int, reasons: set[str] | None = None) -> dict:
    """§6: ``{"code": <http status>, "reason", "message", "metadata": {"trace_id"}}``."""
    assert answer.status_code != 500 or status == 500, f"500 outside fault mode: {answer.text[:400]}"
    assert answer.status_code == status, f"expected {status}, got {answer.status_code}: {answer.text[:400]}"
    try:
        body = answer.json()
    except ValueError:
        pytest.fail(f"error body is not JSON: {answer.text[:300]!r}")
    assert isinstance(body, dict), body
    assert body.get("code") == status and is_int(body.get("code")), body
    assert isinstance(body.get("reason"), str) and body["reason"], body
    assert isinstance(body.get("message"), str), body
    metadata = body.get("metadata")
    assert isinstance(metadata, dict), body
    assert isinstance(metadata.get("trace_id"), str) and metadata["trace_id"], body
    allowed = reasons if reasons is not None else REASONS.get(status)
    if allowed:
        assert body["reason"] in allowed, f"reason {body['reason']!r} is not one of §6's for {status}: {body}"
    return body


def check_create_body(body: dict, sent: dict) -> None:
    """§2: task_id (string of digits), state created, echoed params, seed int, credits int, created_at."""
    assert isinstance(body.get("task_id"), str) and body["task_id"].isdigit(), body
    assert body.get("state") == "created", body
    assert is_int(body.get("seed")), body
    assert is_int(body.get("credits")) and body["credits"] >= 0, body
    created_at = body.get("created_at")
    assert isinstance(created_at, str) and RFC3339.match(created_at), f"created_at not RFC 3339: {created_at!r}"
    datetime.fromisoformat(created_at.replace("Z", "+00:00").replace("z", "+00:00"))
    for field in ("model", "prompt", "duration", "resolution", "aspect_ratio", "payload", "off_peak", "watermark",
                  "bgm", "audio", "movement_amplitude", "style"):
        if field in sent:
            assert body.get(field) == sent[field], f"{field} not echoed: sent {sent[field]!r}, got {body.get(field)!r}"
    if sent.get("seed"):
        assert body["seed"] == sent["seed"], body
    else:
        assert body["seed"] != 0, "the seed used (random) must be carried back, not 0"


def check_creation(creation: dict) -> None:
    assert isinstance(creation, dict), creation
    assert isinstance(creation.get("id"), str) and creation["id"], creation
    for field in ("url", "cover_url"):
        assert isinstance(creation.get(field), str) and creation[field].startswith(("http://", "https://")), creation
    assert isinstance(creation.get("watermarked_url"), str), creation
    assert isinstance(creation.get("moderation_url"), list), creation
    video = creation.get("video")
    assert isinstance(video, dict), creation
    assert is_number(video.get("duration")) and video["duration"] >= 0, video
    assert is_number(video.get("fps")) and video["fps"] >= 0, video
    resolution = video.get("resolution", "missing")
    assert resolution is None or (
        isinstance(resolution, dict) and is_int(resolution.get("width")) and is_int(resolution.get("height"))
    ), video


def check_query_body(body: dict, task_id: str | None = None, key: str = "state") -> None:
    """§3 fields and types."""
    assert isinstance(body, dict), body
    assert isinstance(body.get("id"), str) and body["id"].isdigit(), body
    if task_id is not None:
        assert body["id"] == task_id, body
    assert body.get(key) in STATES, f"unknown state {body.get(key)!r}"
    assert isinstance(body.get("err_code"), str), body
    if body[key] != "failed":
        assert body["err_code"] == "", f"err_code must be empty unless failed: {body}"
    else:
        assert body["err_code"], f"a failed task names its err_code: {body}"
    assert is_int(body.get("credits")), body
    assert isinstance(body.get("payload"), str), body
    for flag in ("bgm", "audio", "off_peak"):
        assert isinstance(body.get(flag), bool), f"{flag}: {body.get(flag)!r}"
    assert isinstance(body.get("creations"), list), body
    if "progress" in body:
        assert is_number(body["progress"]) and 0 <= body["progress"] <= 100, body["progress"]
    if "cus_priority" in body:
        assert is_int(body["cus_priority"]), body
    if body[key] == "success":
        assert body["creations"], "a successful task has creations"
    for creation in body["creations"]:
        check_creation(creation)


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sb():
    with running_sandbox(step=STEP) as handle:
        yield handle


@pytest.fixture
def sandbox(sb):
    """The module's sandbox, with options put back after a test that changed them."""
    yield sb
    sb.configure(fault_rate=0.0, url_ttl=86400, cover_ttl=3600)


@pytest.fixture(params=FLAVORS, ids=lambda f: f"{f[0]}-{f[1]}")
def api(request, sb) -> Api:
    prefix, scheme = request.param
    return Api(sb.url, prefix, scheme)


# --------------------------------------------------------------------------------------------
# §1 + §2 + §3: the whole lifecycle, on each prefix with each auth scheme
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "scheme"), ALL_FLAVORS)
def test_lifecycle_create_query_success_and_files(sb, prefix, scheme):
    api = Api(sb.url, prefix, scheme)
    payload = f"ours-{uuid.uuid4()}"
    sent = {"model": "viduq3-turbo", "prompt": "a lighthouse at dusk", "duration": 5, "resolution": "720p",
            "payload": payload, "watermark": True, "seed": 42}
    created = api.created("text2video", sent)
    check_create_body(created, sent)
    task_id = created["task_id"]

    started = time.monotonic()
    bodies = poll(api, task_id, until_final, timeout=10)
    assert time.monotonic() - started < 10
    assert_never_backwards(bodies)
    for body in bodies:
        assert body["payload"] == payload
        assert body["audio"] is True, "q3 defaults audio to true"
        assert body["bgm"] is False and body["off_peak"] is False
    final = bodies[-1]
    assert final["state"] == "success", final
    assert final["err_code"] == ""
    # Stages of 0.2 s polled every 0.05 s: a task that skips processing (or the whole timeline) is wrong.
    assert "processing" in {b["state"] for b in bodies}, [b["state"] for b in bodies]
    if "progress" in final:
        assert final["progress"] == 100

    # a few more polls: a final state stays final
    for _ in range(3):
        again = api.state(task_id)
        check_query_body(again, task_id)
        assert again["state"] == "success"

    creation = final["creations"][0]
    video = HTTP.get(creation["url"], timeout=10)
    assert video.status_code == 200, video.status_code
    assert video.content[4:8] == b"ftyp", video.content[:16]
    cover = HTTP.get(creation["cover_url"], timeout=10)
    assert cover.status_code == 200, cover.status_code
    assert cover.content[:2] == b"\xff\xd8", cover.content[:16]
    assert creation["watermarked_url"], "watermark=true returns a watermarked_url beside url"
    marked = HTTP.get(creation["watermarked_url"], timeout=10)
    assert marked.status_code == 200 and marked.content[4:8] == b"ftyp"


# --------------------------------------------------------------------------------------------
# §2: every create endpoint with every model of the table accepts a valid body
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "endpoint"), MODEL_ENDPOINTS)
def test_create_accepts_each_model_endpoint_with_defaults(api, model, endpoint):
    sent = body_for(endpoint, model, kind=["png", "jpeg", "https"][len(model) % 3], payload="p")
    created = api.created(endpoint, sent)
    check_create_body(created, sent)
    _, duration, resolution = MODELS[model]
    assert created.get("duration") == duration, f"default duration of {model} is {duration}: {created}"
    assert created.get("resolution") == resolution, f"default resolution of {model} is {resolution}: {created}"
    assert created.get("audio") is model.startswith("viduq3"), f"audio default: {created.get('audio')!r}"


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp", "https"])
@pytest.mark.parametrize(("endpoint", "model"), [("img2video", "viduq2-turbo"), ("start-end2video", "viduq3-pro"),
                                                 ("reference2video", "viduq2")])
def test_create_accepts_images_as_data_uris_and_urls(api, endpoint, model, kind):
    api.created(endpoint, body_for(endpoint, model, kind=kind))


def test_every_endpoint_reaches_success_in_bounded_time(sb):
    tasks = []
    for index, (endpoint, model) in enumerate([("text2video", "viduq2"), ("img2video", "viduq2-pro"),
                                               ("start-end2video", "vidu2.0"), ("reference2video", "viduq1")]):
        api = Api(sb.url, *FLAVORS[index % 2])
        tasks.append((api, api.created(endpoint, body_for(endpoint, model, kind=("png", "https")[index % 2]))))
    deadline = time.monotonic() + 10
    pending = {created["task_id"]: (api, []) for api, created in tasks}
    while pending:
        assert time.monotonic() < deadline, f"not final in 10 s: {list(pending)}"
        for task_id, (api, seen) in list(pending.items()):
            body = api.state(task_id)
            check_query_body(body, task_id)
            seen.append(body)
            assert_never_backwards(seen)
            if body["state"] in FINAL:
                assert body["state"] == "success", body
                del pending[task_id]
        time.sleep(0.05)


@pytest.mark.parametrize(("endpoint", "model", "duration", "resolution"), [
    ("text2video", "viduq3-pro", 1, "540p"),
    ("text2video", "viduq3-pro", 16, "1080p"),
    ("img2video", "viduq3-turbo", 16, "720p"),
    ("start-end2video", "viduq3-turbo", 1, "1080p"),
    ("text2video", "viduq2", 1, "540p"),
    ("text2video", "viduq2", 10, "1080p"),
    ("reference2video", "viduq2", 10, "720p"),
    ("img2video", "viduq2-pro", 1, "540p"),
    ("img2video", "viduq2-pro", 10, "1080p"),
    ("img2video", "viduq2-turbo", 10, "720p"),
    ("start-end2video", "viduq2-pro", 8, "720p"),
    ("start-end2video", "viduq2-turbo", 8, "1080p"),
    ("text2video", "viduq1", 5, "1080p"),
    ("reference2video", "viduq1", 5, "1080p"),
    ("img2video", "vidu2.0", 4, "360p"),
    ("img2video", "vidu2.0", 4, "720p"),
    ("start-end2video", "vidu2.0", 4, "1080p"),
    ("reference2video", "vidu2.0", 8, "720p"),
    ("img2video", "vidu2.0", 8, "720p"),
])
def test_create_accepts_durations_and_resolutions_inside_the_table(api, endpoint, model, duration, resolution):
    sent = body_for(endpoint, model, duration=duration, resolution=resolution)
    check_create_body(api.created(endpoint, sent), sent)


def test_create_echoes_optional_fields(api):
    sent = body_for("text2video", "viduq2", aspect_ratio="9:16", movement_amplitude="large", style="anime",
                    bgm=True, off_peak=False, watermark=False, payload="x" * 1000, seed=7)
    check_create_body(api.created("text2video", sent), sent)
    sent = body_for("reference2video", "viduq2", aspect_ratio="1:1")
    check_create_body(api.created("reference2video", sent), sent)
    for ratio in ("16:9", "9:16", "1:1", "3:4", "4:3"):
        api.created("text2video", body_for("text2video", "viduq3-pro", aspect_ratio=ratio))
    for amplitude in ("auto", "small", "medium", "large"):
        api.created("img2video", body_for("img2video", "viduq1", movement_amplitude=amplitude))


@pytest.mark.parametrize("endpoint", ["img2video", "start-end2video"])
def test_vidu20_eight_seconds_without_resolution_gets_a_valid_one(api, endpoint):
    created = api.created(endpoint, body_for(endpoint, "vidu2.0", duration=8))
    assert created["resolution"] == "720p", "8 s on vidu2.0 is 720p only"


def test_seed_zero_means_random_and_the_used_seed_comes_back(api):
    sent = body_for("text2video", "viduq3-pro", seed=0)
    check_create_body(api.created("text2video", sent), sent)


def test_prompt_at_2000_chars_and_optional_prompt_on_image_endpoints(api):
    api.created("text2video", body_for("text2video", "viduq3-pro", prompt="y" * 2000))
    body = body_for("img2video", "viduq2-pro")
    assert "prompt" not in body
    api.created("img2video", body)
    api.created("start-end2video", body_for("start-end2video", "viduq1"))


def test_image_edges_accepted(api):
    api.created("img2video", body_for("img2video", "viduq3-pro", images=[png(128, 128)]))
    api.created("img2video", body_for("img2video", "viduq3-pro", images=[png(128, 512)]))
    api.created("img2video", body_for("img2video", "viduq3-pro", images=[png(512, 128)]))
    api.created("reference2video", body_for("reference2video", "viduq2", images=[png(128, 128)] * 7))
    api.created("reference2video", body_for("reference2video", "vidu2.0", images=[png(128, 128)] * 3))
    api.created("start-end2video", body_for("start-end2video", "viduq2-pro", images=[png(256, 256), png(300, 256)]))


def test_start_end_ratio_edges_accepted(api):
    for last in (png(320, 256), png(256, 320)):  # 1.0 vs 1.25 and 1.0 vs 0.8: inside 0.8-1.25
        api.created("start-end2video", body_for("start-end2video", "viduq3-pro", images=[png(256, 256), last]))


def test_prompt_length_counts_characters_not_bytes(api):
    api.created("text2video", body_for("text2video", "viduq2", prompt="\u72d0" * 2000))
    assert_error(api.create("text2video", body_for("text2video", "viduq2", prompt="\u72d0" * 2001)), 400)


def test_payload_of_one_mib_is_echoed(api):
    payload = "p" * (1024 * 1024)
    created = api.created("text2video", body_for("text2video", "viduq2", payload=payload))
    assert created["payload"] == payload
    assert api.state(created["task_id"])["payload"] == payload


def test_counts_per_payload(sb):
    api = Api(sb.url)
    payload = f"count-{uuid.uuid4()}"
    assert sb.counts().get(payload, 0) == 0
    api.created("text2video", body_for("text2video", "viduq2", payload=payload))
    assert sb.counts().get(payload) == 1
    api.created("text2video", body_for("text2video", "viduq2", payload=payload))
    assert sb.counts().get(payload) == 2


# --------------------------------------------------------------------------------------------
# §2 + §6: validation, each answered 400 with the error body
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "model"), [
    ("text2video", "viduq2-pro"), ("text2video", "viduq2-turbo"), ("text2video", "vidu2.0"),
    ("img2video", "viduq2"), ("start-end2video", "viduq2"),
    ("reference2video", "viduq3-pro"), ("reference2video", "viduq3-turbo"),
    ("text2video", "vidu9000"), ("img2video", ""),
])
def test_model_endpoint_mismatch_is_400(api, endpoint, model):
    assert_error(api.create(endpoint, {**body_for(endpoint, "viduq1"), "model": model}), 400)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_model_missing_is_400(api, endpoint):
    body = body_for(endpoint, "viduq1")
    del body["model"]
    assert_error(api.create(endpoint, body), 400)


@pytest.mark.parametrize(("endpoint", "model", "duration", "resolution"), [
    ("text2video", "viduq3-pro", 0, None),
    ("text2video", "viduq3-pro", 17, None),
    ("img2video", "viduq3-turbo", 17, None),
    ("start-end2video", "viduq3-turbo", 0, None),
    ("text2video", "viduq3-pro", 5, "360p"),
    ("text2video", "viduq2", 11, None),
    ("text2video", "viduq2", 0, None),
    ("reference2video", "viduq2", 11, None),
    ("text2video", "viduq2", 5, "360p"),
    ("img2video", "viduq2-pro", 11, None),
    ("img2video", "viduq2-turbo", 11, None),
    ("img2video", "viduq2-pro", 0, None),
    ("start-end2video", "viduq2-pro", 9, None),
    ("start-end2video", "viduq2-turbo", 9, None),
    ("img2video", "viduq2-pro", 5, "360p"),
    ("text2video", "viduq1", 4, None),
    ("text2video", "viduq1", 6, None),
    ("img2video", "viduq1", 5, "720p"),
    ("reference2video", "viduq1", 5, "540p"),
    ("img2video", "vidu2.0", 6, None),
    ("img2video", "vidu2.0", 5, None),
    ("img2video", "vidu2.0", 8, "1080p"),
    ("start-end2video", "vidu2.0", 8, "1080p"),
    ("reference2video", "vidu2.0", 8, "360p"),
    ("img2video", "vidu2.0", 4, "540p"),
    ("text2video", "viduq3-pro", 5, "4k"),
])
def test_duration_and_resolution_outside_the_table_are_400(api, endpoint, model, duration, resolution):
    body = body_for(endpoint, model, duration=duration)
    if resolution is not None:
        body["resolution"] = resolution
    assert_error(api.create(endpoint, body), 400)


@pytest.mark.parametrize(("endpoint", "model", "count"), [
    ("img2video", "viduq3-pro", 0), ("img2video", "viduq3-pro", 2),
    ("start-end2video", "viduq3-pro", 1), ("start-end2video", "viduq3-pro", 3),
    ("reference2video", "viduq2", 0), ("reference2video", "viduq2", 8),
    ("reference2video", "vidu2.0", 4),
])
def test_image_count_out_of_range_is_400(api, endpoint, model, count):
    assert_error(api.create(endpoint, body_for(endpoint, model, images=[png(160, 160)] * count)), 400)


@pytest.mark.parametrize("endpoint", ["img2video", "start-end2video", "reference2video"])
def test_images_missing_is_400(api, endpoint):
    body = body_for(endpoint, "viduq1")
    del body["images"]
    assert_error(api.create(endpoint, body), 400)


def test_images_on_text2video_is_400_or_ignored(api):
    answer = api.create("text2video", body_for("text2video", "viduq2", images=[png()]))
    if answer.status_code != 200:
        assert_error(answer, 400)


NOT_AN_IMAGE = "data:image/png;base64," + base64.b64encode(b"this is plainly not a png file" * 20).decode()


@pytest.mark.parametrize(("label", "image"), [
    ("127x127", lambda: png(127, 127)),
    ("128x127", lambda: png(128, 127)),
    ("100x400", lambda: png(100, 400)),
    ("ratio 1:5", lambda: png(128, 640)),
    ("ratio 5:1", lambda: png(640, 128)),
    ("ratio just past 1:4", lambda: png(128, 520)),
    ("not an image", lambda: NOT_AN_IMAGE),
    ("broken base64", lambda: "data:image/png;base64,@@@not-base64@@@"),
    ("gif", lambda: image_uri(256, 256, "GIF")),
    ("not a URL", lambda: "just some words"),
    ("empty string", lambda: ""),
    ("ftp URL", lambda: "ftp://example.com/a.png"),
])
def test_bad_image_is_400(api, label, image):
    assert_error(api.create("img2video", body_for("img2video", "viduq3-pro", images=[image()])), 400)


def test_bad_image_among_references_is_400(api):
    images = [png(200, 200), png(200, 200), png(64, 64)]
    assert_error(api.create("reference2video", body_for("reference2video", "viduq2", images=images)), 400)


def test_start_end_frames_of_different_ratio_are_400(api):
    images = [png(256, 256), png(512, 256)]  # ratio 1.0 vs 2.0
    assert_error(api.create("start-end2video", body_for("start-end2video", "viduq3-pro", images=images)), 400)
    images = [png(256, 256), png(324, 256)]  # 1.0 vs 1.27, just past 1.25
    assert_error(api.create("start-end2video", body_for("start-end2video", "viduq3-pro", images=images)), 400)
    images = [png(256, 256), png(256, 400)]  # 1.0 vs 0.64
    assert_error(api.create("start-end2video", body_for("start-end2video", "viduq2-pro", images=images)), 400)


@pytest.mark.parametrize("endpoint", ["text2video", "reference2video"])
def test_prompt_missing_is_400(api, endpoint):
    body = body_for(endpoint, "viduq1")
    del body["prompt"]
    assert_error(api.create(endpoint, body), 400)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_prompt_over_2000_chars_is_400(api, endpoint):
    assert_error(api.create(endpoint, body_for(endpoint, "viduq1", prompt="z" * 2001)), 400)


@pytest.mark.parametrize("endpoint", ["img2video", "start-end2video"])
def test_aspect_ratio_on_image_endpoints_is_400(api, endpoint):
    assert_error(api.create(endpoint, body_for(endpoint, "viduq3-pro", aspect_ratio="16:9")), 400)


@pytest.mark.parametrize(("field", "value"), [
    ("duration", "5"), ("duration", 5.5), ("duration", True), ("duration", -5),
    ("bgm", "yes"), ("bgm", 1), ("audio", "true"), ("off_peak", "no"), ("watermark", 0),
    ("seed", -1), ("seed", "42"), ("seed", 1.5),
    ("resolution", 720), ("resolution", "720"), ("resolution", "4K"),
    ("aspect_ratio", "2:1"), ("aspect_ratio", 1.77),
    ("movement_amplitude", "huge"), ("style", "cartoon"),
    ("prompt", 123), ("prompt", ["a", "b"]),
    ("model", 1), ("model", ["viduq2"]),
    ("images", "data:image/png;base64,xx"),
    ("payload", 12), ("payload", "p" * (1024 * 1024 + 1)),
    ("callback_url", 5), ("callback_url", "not a url"),
])
def test_bad_field_type_or_value_is_400(api, field, value):
    assert_error(api.create("text2video", {**body_for("text2video", "viduq2"), field: value}), 400)


@pytest.mark.parametrize(("label", "data"), [
    ("not JSON", "model=viduq2&prompt=cat"),
    ("truncated JSON", '{"model": "viduq2", "prompt": '),
    ("empty", ""),
    ("JSON array", json.dumps([{"model": "viduq2", "prompt": "cat"}])),
    ("empty array", "[]"),
    ("JSON string", '"viduq2"'),
    ("JSON number", "5"),
    ("JSON null", "null"),
    ("binary", b"\xff\xfe\x00garbage"),
])
def test_unparseable_or_non_object_body_is_400(api, label, data):
    assert_error(api.post_raw("text2video", data), 400)


def test_body_over_20_mb_is_400(api):
    filler = "A" * (21 * 1024 * 1024)
    data = '{"model": "viduq3-pro", "images": ["data:image/png;base64,' + filler + '"]}'
    assert_error(api.post_raw("img2video", data, timeout=60), 400)


# --------------------------------------------------------------------------------------------
# §6: 401 without credentials, 404 for unknown tasks, never 500 outside fault mode
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("authorization", [None, "", "k", "Basic a2V5OnNlY3JldA==", "Token", "Bearer ", "Token  "])
def test_missing_or_malformed_authorization_is_401(sb, prefix, authorization):
    owner = Api(sb.url, prefix)
    task_id = owner.created("text2video", body_for("text2video", "viduq2"))["task_id"]
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = json.dumps(body_for("text2video", "viduq2"))
    for endpoint in ENDPOINTS:
        assert_error(HTTP.post(owner.url(endpoint), data=body, headers=headers, timeout=10), 401)
    assert_error(HTTP.get(owner.url(f"tasks/{task_id}/creations"), headers=headers, timeout=10), 401)
    assert_error(HTTP.post(owner.url(f"tasks/{task_id}/cancel"), data=json.dumps({"id": task_id}),
                           headers=headers, timeout=10), 401)


@pytest.mark.parametrize("task_id", ["123", "999999999999999999", "000"])
def test_unknown_task_is_404(api, task_id):
    assert_error(api.query(task_id), 404)
    assert_error(api.cancel(task_id), 404)


NASTY_BODIES = [
    {"model": None, "prompt": None},
    {"model": "viduq2", "prompt": "cat", "images": [None]},
    {"model": "viduq2", "prompt": "cat", "images": [123, {"a": 1}]},
    {"model": "viduq2", "prompt": "cat", "images": None},
    {"model": "viduq2", "prompt": "cat", "duration": 10 ** 30},
    {"model": "viduq2", "prompt": "cat", "duration": 1e308},
    {"model": "viduq2", "prompt": "cat", "seed": 2 ** 80},
    {"model": "viduq2", "prompt": "cat", "resolution": {"width": 1}},
    {"model": {"name": "viduq2"}, "prompt": {"text": "cat"}},
    {"model": "viduq2", "prompt": "\u0000\ud7ff\U0001f98a" * 10},
    {"model": "vidu2.0", "images": ["data:image/png;base64,"], "duration": 8},
    {"model": "viduq1", "images": ["data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0" + b"0" * 64).decode()]},
    {"model": "viduq1", "images": ["data:;base64,AAAA"]},
    {"model": "viduq1", "images": ["data:image/png,rawdata"]},
    {"model": "viduq1", "images": ["https://"]},
    {"model": "viduq1", "images": ["http://[::1"]},
    {},
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_500_outside_fault_mode(api, endpoint):
    for body in NASTY_BODIES:
        answer = api.create(endpoint, body)
        assert answer.status_code < 500, f"{body!r:.200} -> {answer.status_code} {answer.text[:300]}"
        if answer.status_code != 200:
            assert_error(answer, answer.status_code)
    for path in ("tasks/abc/creations", "tasks/%00/creations", "tasks/-1/creations", "tasks//creations"):
        answer = HTTP.get(api.url(path), headers=api.headers(), timeout=10)
        assert answer.status_code < 500, f"{path} -> {answer.status_code} {answer.text[:300]}"
    for method, path in (("GET", endpoint), ("PUT", endpoint), ("POST", "tasks/123/creations"),
                         ("GET", "tasks/123/cancel"), ("GET", "no-such-endpoint")):
        answer = HTTP.request(method, api.url(path), headers=api.headers(), data="{}", timeout=10)
        assert 400 <= answer.status_code < 500, f"{method} {path} -> {answer.status_code} {answer.text[:300]}"
        assert_error(answer, answer.status_code, reasons=set())  # the §6 shape, whatever the reason
    for cancel_body in ("not json", "[]", '{"id": 5}', "{}"):
        answer = api.post_raw("tasks/123/cancel", cancel_body)
        assert answer.status_code < 500, f"cancel {cancel_body} -> {answer.status_code} {answer.text[:300]}"
        assert_error(answer, answer.status_code)


# --------------------------------------------------------------------------------------------
# Prompt markers: [reject:Reason] answers that error (status per §6), [fail:Reason] ends failed
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["CreditInsufficient", "TaskPromptPolicyViolation", "Unauthorized", "Forbidden",
                                    "TaskNotFound", "Conflict", "QuotaExceeded", "TooManyRequests",
                                    "SystemThrottling", "InternalServiceFailure"])
def test_reject_marker_answers_the_reason_with_its_status(api, reason):
    answer = api.create("text2video", body_for("text2video", "viduq2", prompt=f"a cat [reject:{reason}]"))
    body = assert_error(answer, STATUS_OF_REASON[reason], {reason})
    assert body["reason"] == reason
    if answer.status_code == 429 and "Retry-After" in answer.headers:
        assert_retry_after(answer.headers["Retry-After"])


@pytest.mark.parametrize("reason", ["CreationPolicyViolation", "AuditSubmitIllegal", "InternalServiceFailure"])
def test_fail_marker_ends_failed_with_that_err_code(api, reason):
    task_id = api.created("img2video", body_for("img2video", "viduq2-turbo", prompt=f"go [fail:{reason}]"))["task_id"]
    bodies = poll(api, task_id, until_final)
    assert_never_backwards(bodies)
    assert bodies[-1]["state"] == "failed", bodies[-1]
    assert bodies[-1]["err_code"] == reason
    assert bodies[-1]["creations"] == []


# --------------------------------------------------------------------------------------------
# §6 + §7: at most 5 processing per key, the rest queueing, keys independent
# --------------------------------------------------------------------------------------------


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, end in intervals if start <= end]
                    + [(end, -1) for start, end in intervals if start <= end], key=lambda e: (e[0], -e[1]))
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def test_at_most_five_processing_per_key_and_keys_are_independent(sb):
    """Polls are sequential, so a "snapshot" is not atomic. A task seen processing by a query answered
    at r1 and again by one sent at s2 was processing throughout [r1, s2] (states never go back):
    more than 5 such intervals of one key overlapping is a certain breach of the limit."""
    alpha = Api(sb.url, "/ent/v2", "Token")
    beta = Api(sb.url, "/v2", "Bearer")
    alpha_ids = [alpha.created("text2video", body_for("text2video", "viduq2"))["task_id"] for _ in range(8)]
    beta_ids = [beta.created("text2video", body_for("text2video", "viduq2"))["task_id"] for _ in range(2)]
    history: dict[str, list[dict]] = {task_id: [] for task_id in alpha_ids + beta_ids}
    seen_processing: dict[str, list[tuple[float, float]]] = {task_id: [] for task_id in history}
    saw_full_with_queue = saw_beta_running_while_alpha_full = False
    deadline = time.monotonic() + 15
    while True:
        snapshot = {}
        for api, ids in ((alpha, alpha_ids), (beta, beta_ids)):
            for task_id in ids:
                sent = time.monotonic()
                body = api.state(task_id)
                answered = time.monotonic()
                check_query_body(body, task_id)
                history[task_id].append(body)
                snapshot[task_id] = body["state"]
                if body["state"] == "processing":
                    seen_processing[task_id].append((sent, answered))
        alpha_states = [snapshot[t] for t in alpha_ids]
        beta_states = [snapshot[t] for t in beta_ids]
        if alpha_states.count("processing") == 5 and "queueing" in alpha_states:
            saw_full_with_queue = True
            if "processing" in beta_states:
                saw_beta_running_while_alpha_full = True
        if all(state in FINAL for state in snapshot.values()):
            break
        assert time.monotonic() < deadline, snapshot
        time.sleep(0.03)
    for bodies in history.values():
        assert_never_backwards(bodies)
        assert bodies[-1]["state"] == "success"
    surely_processing = [(seen[0][1], seen[-1][0]) for t in alpha_ids if (seen := seen_processing[t])]
    assert _max_overlap(surely_processing) <= 5, f"more than 5 tasks of one key processing at once: {surely_processing}"
    assert saw_full_with_queue, "never saw 5 processing with the rest queueing"
    assert saw_beta_running_while_alpha_full, "another key's task must run while the first key has 5 running"
    # the 3 extra tasks of alpha really waited in queueing
    waited = [t for t in alpha_ids if any(b["state"] == "queueing" for b in history[t])]
    assert len(waited) >= 3


# --------------------------------------------------------------------------------------------
# §4: cancel
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "scheme"), FLAVORS)
def test_cancel_before_scheduling_then_refused_later(sb, prefix, scheme):
    api = Api(sb.url, prefix, scheme)
    running = [api.created("text2video", body_for("text2video", "viduq3-pro"))["task_id"] for _ in range(5)]
    waiting = api.created("text2video", body_for("text2video", "viduq3-pro"))["task_id"]
    answer = api.cancel(waiting)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {}
    bodies = poll(api, waiting, until_final)
    assert_never_backwards(bodies)
    assert bodies[-1]["state"] == "failed" and bodies[-1]["err_code"] == "UserCancelled", bodies[-1]
    assert "processing" not in {b["state"] for b in bodies}, "a cancelled task never runs"

    poll(api, running[0], lambda b: b["state"] in ("processing", *FINAL))
    state = api.state(running[0])["state"]
    assert state == "processing", f"expected processing, got {state}"
    refused = assert_error(api.cancel(running[0]), 400)
    assert refused["message"] == CANCEL_REFUSED
    assert api.state(running[0])["state"] != "failed", "a refused cancel leaves the task alone"

    final = poll(api, running[0], until_final)[-1]
    assert final["state"] == "success"
    refused = assert_error(api.cancel(running[0]), 400)
    assert refused["message"] == CANCEL_REFUSED


def test_cancel_while_queueing_sends_failed_callback(sb):
    api = Api(sb.url, "/ent/v2", "Token")
    with Receiver() as receiver:
        callback_url = receiver.url("/cancelled")
        for _ in range(5):
            api.created("text2video", body_for("text2video", "viduq2"))
        task_id = api.created("text2video", body_for("text2video", "viduq2", callback_url=callback_url))["task_id"]
        poll(api, task_id, lambda b: b["state"] != "created", timeout=3, interval=0.02)
        assert api.state(task_id)["state"] == "queueing", "the 6th task of a key waits in queueing"
        answer = api.cancel(task_id)
        assert answer.status_code == 200 and answer.json() == {}, answer.text
        final = poll(api, task_id, until_final)[-1]
        assert final["state"] == "failed" and final["err_code"] == "UserCancelled", final
        failed = receiver.wait(task_id, "failed", timeout=4)
        assert failed[0]["body"]["err_code"] == "UserCancelled"
        check_callback(failed[0], task_id, api.key, callback_url)
        assert not receiver.of(task_id, "processing"), "a cancelled task never reports processing"


def test_cancel_off_peak_task(sb):
    api = Api(sb.url, "/v2", "Bearer")
    sent = body_for("text2video", "viduq2", off_peak=True)
    created = api.created("text2video", sent)
    check_create_body(created, sent)
    task_id = created["task_id"]
    time.sleep(STEP * 1.5)
    body = api.state(task_id)
    assert body["off_peak"] is True
    assert body["state"] in ("created", "queueing"), body
    answer = api.cancel(task_id)
    assert answer.status_code == 200 and answer.json() == {}, answer.text
    final = poll(api, task_id, until_final)[-1]
    assert final["state"] == "failed" and final["err_code"] == "UserCancelled", final


def test_cancel_twice_does_not_500(sb):
    api = Api(sb.url)
    for _ in range(5):
        api.created("text2video", body_for("text2video", "viduq2"))
    task_id = api.created("text2video", body_for("text2video", "viduq2"))["task_id"]
    assert api.cancel(task_id).status_code == 200
    second = api.cancel(task_id)
    assert second.status_code < 500, f"a second cancel -> {second.status_code} {second.text[:300]}"
    if second.status_code != 200:
        assert_error(second, second.status_code)


# --------------------------------------------------------------------------------------------
# §3 + §7: presigned URLs expire and can't be tampered with
# --------------------------------------------------------------------------------------------


def _finished_creation(api: Api) -> tuple[str, dict]:
    task_id = api.created("text2video", body_for("text2video", "viduq3-turbo"))["task_id"]
    return task_id, poll(api, task_id, until_final)[-1]["creations"][0]


def _with_param(url: str, match: str, new_value) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [name for name, _ in query if match in name.lower()]
    assert names, f"no query parameter like {match!r} in {url}"
    changed = [(name, new_value(value) if name == names[0] else value) for name, value in query]
    changed = [(name, value) for name, value in changed if value is not None]
    return urlunsplit(parts._replace(query=urlencode(changed)))


def _flip(value: str) -> str:
    return value[:-1] + ("0" if value[-1:] != "0" else "1")


def _refused(url: str) -> None:
    answer = HTTP.get(url, timeout=10)
    assert 400 <= answer.status_code < 500, f"{url} -> {answer.status_code}"
    assert answer.content[4:8] != b"ftyp" and answer.content[:2] != b"\xff\xd8"


def _expires(url: str) -> list[str]:
    return [value for name, value in parse_qsl(urlsplit(url).query) if "expires" in name.lower()]


def test_urls_expire_and_ttls_are_separate(sandbox):
    api = Api(sandbox.url)
    task_id, _ = _finished_creation(api)
    sandbox.configure(url_ttl=2, cover_ttl=2)
    short = api.state(task_id)["creations"][0]
    issued = time.monotonic()
    sandbox.configure(url_ttl=86400, cover_ttl=2)
    mixed = api.state(task_id)["creations"][0]
    assert _expires(short["url"]) == ["2"] and _expires(mixed["url"]) == ["86400"], (short, mixed)
    for url in (short["url"], short["cover_url"], mixed["url"], mixed["cover_url"]):
        assert HTTP.get(url, timeout=10).status_code == 200, url
    time.sleep(max(0.0, 3.3 - (time.monotonic() - issued)))
    _refused(short["url"])
    _refused(short["cover_url"])
    _refused(mixed["cover_url"])
    assert HTTP.get(mixed["url"], timeout=10).content[4:8] == b"ftyp", "the video's own TTL still runs"
    # re-querying gives fresh URLs that work again (§3)
    sandbox.configure(url_ttl=86400, cover_ttl=3600)
    fresh = api.state(task_id)["creations"][0]
    assert HTTP.get(fresh["url"], timeout=10).content[4:8] == b"ftyp"
    assert HTTP.get(fresh["cover_url"], timeout=10).content[:2] == b"\xff\xd8"


def test_tampered_urls_are_refused(sb):
    api = Api(sb.url, "/v2", "Bearer")
    _, creation = _finished_creation(api)
    for field in ("url", "cover_url"):
        url = creation[field]
        assert HTTP.get(url, timeout=10).status_code == 200
        _refused(_with_param(url, "signature", _flip))
        _refused(_with_param(url, "signature", lambda v: None))
        _refused(_with_param(url, "expires", lambda v: str(int(v) * 10 + 7)))
        _refused(_with_param(url, "date", lambda v: v.replace(v[:4], str(int(v[:4]) + 1), 1)))
        other = "video.mp4" if field == "cover_url" else "cover.jpeg"
        path = urlsplit(url).path
        swapped = url.replace(path, path.rsplit("/", 1)[0] + "/" + other)
        if swapped != url:
            _refused(swapped)


# --------------------------------------------------------------------------------------------
# §5: callbacks, signed, retried
# --------------------------------------------------------------------------------------------


def vidu_signature(key: str, registered_url: str, headers) -> str:
    """§5, implemented here from the text: base64(HMAC-SHA256(key, signing string))."""
    parts = urlsplit(registered_url)
    lines = ["POST", parts.path or "/", parts.query, "vidu", headers["Date"]]
    for name in headers["X-HMAC-SIGNED-HEADERS"].split(";"):
        name = name.strip()
        if name:
            lines.append(f"{name}:{headers[name]}")
    signing_string = "".join(line + "\n" for line in lines)
    digest = hmac.new(key.encode(), signing_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Receiver:
    """A tiny callback receiver on a free port; ``fail_states`` are answered 500."""

    def __init__(self, fail_states: tuple[str, ...] = ()):
        self.calls: list[dict] = []
        self.fail_states = fail_states
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's spelling)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                state = (body.get("state") or body.get("status")) if isinstance(body, dict) else None
                with receiver.lock:
                    receiver.calls.append({"path": self.path, "headers": self.headers, "body": body,
                                           "state": state, "at": time.time()})
                self.send_response(500 if state in receiver.fail_states else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hooks/vidu?team=7&x=a%20b") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of(self, task_id: str, state: str | None = None) -> list[dict]:
        with self.lock:
            return [c for c in self.calls if isinstance(c["body"], dict) and c["body"].get("id") == task_id
                    and (state is None or c["state"] == state)]

    def wait(self, task_id: str, state: str, count: int = 1, timeout: float = 8.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.of(task_id, state)) < count:
            assert time.monotonic() < deadline, f"{count}x {state} callback for {task_id} not received: {self.calls}"
            time.sleep(0.05)
        return self.of(task_id, state)


def check_callback(call: dict, task_id: str, key: str, registered_url: str, signed: bool = True) -> None:
    """Body as the query (§3); signature headers and signature as §5 (required from official Vidu only)."""
    body = call["body"]
    check_query_body(body, task_id, key="state" if "state" in body else "status")
    headers = call["headers"]
    if not signed and not headers.get("X-HMAC-SIGNATURE"):
        return
    for name in ("Date", "x-request-nonce", "X-HMAC-SIGNED-HEADERS", "X-HMAC-SIGNATURE", "X-HMAC-ALGORITHM",
                 "X-HMAC-ACCESS-KEY"):
        assert headers.get(name), f"callback header {name} missing: {dict(headers)}"
    assert headers["X-HMAC-ALGORITHM"] == "hmac-sha256"
    assert headers["X-HMAC-ACCESS-KEY"] == "vidu"
    sent_at = parsedate_to_datetime(headers["Date"])
    assert abs(time.time() - sent_at.timestamp()) < 60, f"stale Date {headers['Date']}"
    expected = vidu_signature(key, registered_url, headers)
    assert hmac.compare_digest(expected, headers["X-HMAC-SIGNATURE"]), "signature does not verify"
    parts = urlsplit(registered_url)
    assert (parts.path or "/") + ("?" + parts.query if parts.query else "") == call["path"], call["path"]
    wrong = vidu_signature(key + "x", registered_url, headers)
    assert not hmac.compare_digest(wrong, headers["X-HMAC-SIGNATURE"])


@pytest.mark.parametrize(("prefix", "scheme"), FLAVORS)
def test_callbacks_processing_and_success_signed(sb, prefix, scheme):
    api = Api(sb.url, prefix, scheme)
    with Receiver() as receiver:
        callback_url = receiver.url()
        payload = f"cb-{uuid.uuid4()}"
        created = api.created("img2video", body_for("img2video", "viduq3-pro", callback_url=callback_url,
                                                     payload=payload))
        task_id = created["task_id"]
        success = receiver.wait(task_id, "success")
        time.sleep(0.6)  # a 200 answered: no retry expected
        calls = receiver.of(task_id)
        states = [c["state"] for c in calls]
        assert "processing" in states, states
        assert states.index("processing") < states.index("success"), states
        assert states.count("success") == 1, f"success delivered once when answered 200: {states}"
        for call in calls:
            check_callback(call, task_id, api.key, callback_url, signed=prefix == "/ent/v2")
            assert call["body"]["payload"] == payload
        creation = success[0]["body"]["creations"][0]
        assert HTTP.get(creation["url"], timeout=10).content[4:8] == b"ftyp"
        nonces = [c["headers"]["x-request-nonce"] for c in calls if c["headers"].get("x-request-nonce")]
        assert len(set(nonces)) == len(nonces), "nonces are never reused"


def test_callback_failed_state_signed(sb):
    api = Api(sb.url, "/ent/v2", "Token")
    with Receiver() as receiver:
        callback_url = receiver.url("")
        task_id = api.created("text2video", body_for("text2video", "viduq2", prompt="x [fail:CreationPolicyViolation]",
                                                     callback_url=callback_url))["task_id"]
        failed = receiver.wait(task_id, "failed")
        assert failed[0]["body"]["err_code"] == "CreationPolicyViolation"
        for call in receiver.of(task_id):
            check_callback(call, task_id, api.key, callback_url)
        assert vidu_signature(api.key, callback_url, failed[0]["headers"]) == vidu_signature(
            api.key, callback_url + "/", failed[0]["headers"]), "an empty path signs as '/'"


def test_unusable_callback_url_does_not_stop_other_callbacks():
    """A callback URL that can't be reached (or parsed) is refused at create, or fails alone:
    later tasks with a good callback_url still get their POSTs (§5)."""
    with running_sandbox(step=STEP) as own, Receiver() as receiver:
        api = Api(own.url)
        bad_tasks = []
        for bad in ("http://[::1", "http://[::1/x", "http://127.0.0.1:1/refused", "http://[::1]:99999/x"):
            for _ in range(2):
                answer = api.create("img2video", body_for("img2video", "viduq1", callback_url=bad))
                if answer.status_code == 200:
                    bad_tasks.append(answer.json()["task_id"])
                else:
                    assert_error(answer, 400)
        for task_id in bad_tasks:
            poll(api, task_id, until_final)
        time.sleep(0.5)
        good = Api(own.url, "/ent/v2", "Token")
        callback_url = receiver.url("/after-bad-urls")
        task_id = good.created("text2video", body_for("text2video", "viduq2", callback_url=callback_url))["task_id"]
        poll(good, task_id, until_final)
        deadline = time.monotonic() + 3
        while not receiver.of(task_id, "success") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.of(task_id, "success"), (
            f"no callback at all for a good callback_url after {len(bad_tasks)} tasks with unusable callback URLs "
            "were accepted: the sandbox's callback delivery stopped for everyone")
        for call in receiver.of(task_id):
            check_callback(call, task_id, good.key, callback_url)


def test_failed_final_delivery_is_retried(sb):
    api = Api(sb.url, "/v2", "Bearer")
    with Receiver(fail_states=("success",)) as receiver:
        callback_url = receiver.url("/retry")
        task_id = api.created("text2video", body_for("text2video", "viduq2", callback_url=callback_url))["task_id"]
        receiver.wait(task_id, "success", count=2, timeout=8)
        time.sleep(1.0)
        attempts = receiver.of(task_id, "success")
        assert 2 <= len(attempts) <= 4, f"retried up to 3 times: {len(attempts)} deliveries"
        for call in attempts:
            check_callback(call, task_id, api.key, callback_url, signed=False)
        nonces = [c["headers"]["x-request-nonce"] for c in attempts if c["headers"].get("x-request-nonce")]
        assert len(set(nonces)) == len(nonces), "each retry carries a fresh nonce"
        assert len(receiver.of(task_id, "processing")) == 1


# --------------------------------------------------------------------------------------------
# §6 + §7: fault mode
# --------------------------------------------------------------------------------------------


def assert_retry_after(value: str) -> None:
    if value.strip().isdigit():
        return
    parsedate_to_datetime(value)  # an HTTP date otherwise


@pytest.mark.parametrize(("prefix", "scheme"), FLAVORS)
def test_faults_each_kind(sandbox, prefix, scheme):
    api = Api(sandbox.url, prefix, scheme)
    task_id = api.created("text2video", body_for("text2video", "viduq2"))["task_id"]
    try:
        sandbox.configure(fault_rate=1.0, fault_kinds=["429"])
        for answer in (api.query(task_id), api.create("text2video", body_for("text2video", "viduq2"))):
            assert_error(answer, 429)
            if "Retry-After" in answer.headers:
                assert_retry_after(answer.headers["Retry-After"])

        sandbox.configure(fault_rate=1.0, fault_kinds=["500"])
        for answer in (api.query(task_id), api.cancel(task_id)):
            assert answer.status_code >= 500
            assert_error(answer, answer.status_code, {"InternalServiceFailure"})

        sandbox.configure(fault_rate=1.0, fault_kinds=["hang"], hang_seconds=1.5)
        started = time.monotonic()
        with pytest.raises(requests.exceptions.Timeout):
            api.query(task_id, timeout=0.4)
        assert time.monotonic() - started < 1.4

        sandbox.configure(fault_rate=1.0, fault_kinds=["badjson"])
        answer = api.query(task_id)
        with pytest.raises(ValueError):
            json.loads(answer.text)
    finally:
        sandbox.configure(fault_rate=0.0)
    body = api.state(task_id)
    check_query_body(body, task_id)


def test_fault_rate_zero_never_faults(sandbox):
    sandbox.configure(fault_rate=0.0, fault_kinds=["429", "500", "hang", "badjson"])
    api = Api(sandbox.url)
    task_id = api.created("text2video", body_for("text2video", "viduq2"))["task_id"]
    for _ in range(20):
        body = api.state(task_id)
        check_query_body(body, task_id)
