"""The sandbox keeps the contract of vidu-api.md §2-§7: raw HTTP against it, no client library in between."""

import json
import time
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_fixtures import api, assert_error_body, callback_receiver, image_uri, unique_key, wait_for

from vidu_web.sandbox.config import Config
from vidu_web.sandbox.media import MEDIA_DIR
from vidu_web.sandbox.store import Task, TaskStore
from vidu_web.sandbox.testing import running_sandbox
from vidu_web.vidu import catalog
from vidu_web.vidu.signing import NonceCache, verify

TEXT = {"model": "viduq2", "prompt": "a fox in the snow"}


def create(sandbox, key, body=None, endpoint="text2video"):
    response = api(sandbox, "POST", f"/ent/v2/{endpoint}", key, json=body or TEXT)
    assert response.status_code == 200, response.text
    return response.json()


def query(sandbox, key, task_id):
    response = api(sandbox, "GET", f"/ent/v2/tasks/{task_id}/creations", key)
    assert response.status_code == 200, response.text
    return response.json()


def until_final(sandbox, key, task_id, timeout=5.0):
    return wait_for(lambda: (task := query(sandbox, key, task_id))["state"] in ("success", "failed") and task, timeout)


# -- progression -----------------------------------------------------------------------------


def test_a_task_goes_created_queueing_processing_success(sandbox):
    key = unique_key()
    task_id = create(sandbox, key)["task_id"]
    seen = []
    while not seen or seen[-1][0] != "success":
        task = query(sandbox, key, task_id)
        seen.append((task["state"], task["progress"]))
        time.sleep(0.02)
    states = [s for i, (s, _) in enumerate(seen) if i == 0 or seen[i - 1][0] != s]
    assert states == ["created", "queueing", "processing", "success"]
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and progress[-1] == 100
    assert any(0 < p < 100 for s, p in seen if s == "processing")
    assert all(p == 0 for s, p in seen if s in ("created", "queueing"))


def test_the_create_answer_echoes_the_request(sandbox):
    body = {"model": "viduq1", "prompt": "x", "duration": 5, "resolution": "1080p", "aspect_ratio": "1:1",
            "movement_amplitude": "large", "bgm": True, "audio": True, "off_peak": True, "payload": "ours", "seed": 77}
    answer = create(sandbox, unique_key(), body)
    assert answer["state"] == "created" and len(answer["task_id"]) == 18 and answer["task_id"].isdigit()
    assert {k: answer[k] for k in body} == body
    assert isinstance(answer["credits"], int) and answer["credits"] > 0
    assert answer["created_at"].endswith("Z")


def test_a_random_seed_is_picked_when_none_is_given(sandbox):
    seeds = {create(sandbox, unique_key(), {**TEXT, "seed": 0})["seed"] for _ in range(3)}
    assert 0 not in seeds and len(seeds) == 3


def test_different_seeds_get_different_clips(sandbox):
    key = unique_key()
    ids = [create(sandbox, key, {**TEXT, "seed": seed})["task_id"] for seed in (1, 2)]
    videos = [requests.get(until_final(sandbox, key, i)["creations"][0]["url"], timeout=5).content for i in ids]
    assert videos[0] != videos[1]


def test_off_peak_tasks_wait_longer_in_queueing(sandbox):
    key = unique_key()
    normal = create(sandbox, key)["task_id"]
    off_peak = create(sandbox, key, {**TEXT, "off_peak": True})["task_id"]
    wait_for(lambda: query(sandbox, key, normal)["state"] == "processing")
    assert query(sandbox, key, off_peak)["state"] == "queueing"


def test_at_most_five_run_per_key_and_the_rest_queue(sandbox):
    key, other = unique_key(), unique_key()
    ids = [create(sandbox, key)["task_id"] for _ in range(7)]
    outsider = create(sandbox, other)["task_id"]
    running_max, saw_full = 0, False
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        # Newest first: tasks start in creation order, so every task seen processing in one sweep
        # was processing when the sweep began, and the count can't overstate what ran at once.
        states = [query(sandbox, key, i)["state"] for i in reversed(ids)]
        running_max = max(running_max, states.count("processing"))
        saw_full |= states.count("processing") == 5 and states.count("queueing") == 2
        if all(s == "success" for s in states):
            break
        time.sleep(0.03)
    assert running_max == 5 and saw_full
    assert all(query(sandbox, key, i)["state"] == "success" for i in ids)
    assert query(sandbox, other, outsider)["state"] == "success"  # another key has its own five slots


def test_the_schedule_itself_never_runs_more_than_five():
    """The same rule on the in-memory store, at exact instants (no HTTP timing involved)."""
    store, config = TaskStore(), Config(step=1.0, processing_steps=3)
    tasks = [Task(id=str(n), key="k", mode="text2video", params={}, seed=1, credits=1, created_at=n * 0.1,
                  queued_at=n * 0.1 + 1, eligible_at=n * 0.1 + 2, processing_time=3.0) for n in range(12)]
    for task in tasks:
        store.add(task)
    for tenth in range(0, 200):
        now = tenth / 10
        store.advance_all(now, config)
        running = [t for t in tasks if t.state_at(now) == "processing"]
        assert len(running) <= 5, (now, running)
    starts = [t.started_at for t in tasks]
    assert starts == sorted(starts) and starts[5] == tasks[0].ends_at and all(t.state_at(20) == "success" for t in tasks)


# -- cancel ----------------------------------------------------------------------------------


def test_cancel_before_scheduling(sandbox):
    key = unique_key()
    created = create(sandbox, key)
    task_id = created["task_id"]
    response = api(sandbox, "POST", f"/ent/v2/tasks/{task_id}/cancel", key, json={"id": task_id})
    assert (response.status_code, response.json()) == (200, {})
    task = query(sandbox, key, task_id)
    # Refunded, and still reporting what it cost, as Vidu does (vidu-api.md 6b).
    assert (task["state"], task["err_code"], task["credits"], task["creations"]) == ("failed", "UserCancelled", created["credits"], [])
    time.sleep(1.2)  # long enough to have finished, had it not been cancelled
    assert query(sandbox, key, task_id)["state"] == "failed"


def test_a_cancelled_task_frees_its_queue_place(sandbox):
    # Stages of 1 s: a task may start 2 s after its create and runs for 3 s, so the sixth
    # would only start at about 5 s, when the first of five finished, unless the cancel freed a slot.
    sandbox.configure(step=1.0)
    key = unique_key()
    ids = [create(sandbox, key)["task_id"] for _ in range(6)]
    api(sandbox, "POST", f"/ent/v2/tasks/{ids[0]}/cancel", key, json={"id": ids[0]})
    wait_for(lambda: query(sandbox, key, ids[5])["state"] == "processing", timeout=4)
    # It took the cancelled task's place, not that of one which finished meanwhile.
    assert [query(sandbox, key, i)["state"] for i in ids] == ["failed"] + ["processing"] * 5


def test_cancel_after_scheduling_is_refused(sandbox):
    key = unique_key()
    task_id = create(sandbox, key)["task_id"]
    wait_for(lambda: query(sandbox, key, task_id)["state"] == "processing")
    response = api(sandbox, "POST", f"/v2/tasks/{task_id}/cancel", key, json={"id": task_id})
    body = assert_error_body(response, 400, "BadRequest")
    assert body["message"] == "task state is scheduled, can not cancel"
    assert until_final(sandbox, key, task_id)["state"] == "success"


def test_cancel_of_an_unknown_task(sandbox):
    response = api(sandbox, "POST", "/ent/v2/tasks/123456789012345678/cancel", json={"id": "123456789012345678"})
    assert_error_body(response, 404, "TaskNotFound")


def test_cancel_with_a_mismatched_id(sandbox):
    key = unique_key()
    task_id = create(sandbox, key)["task_id"]
    assert_error_body(api(sandbox, "POST", f"/ent/v2/tasks/{task_id}/cancel", key, json={"id": "1"}), 400)


# -- files -----------------------------------------------------------------------------------


def finished_creation(sandbox, body=None):
    """A task's creation once it succeeded, made quickly: these tests are about files, not the clock."""
    sandbox.configure(step=0.05)
    key = unique_key()
    task_id = create(sandbox, key, body)["task_id"]
    return until_final(sandbox, key, task_id)["creations"][0]


def test_files_are_the_real_clips_with_ranges(sandbox):
    creation = finished_creation(sandbox, {**TEXT, "watermark": True})
    video = requests.get(creation["url"], timeout=5)
    assert video.content in {p.read_bytes() for p in MEDIA_DIR.glob("clip*.mp4")}
    part = requests.get(creation["url"], headers={"Range": "bytes=4-7"}, timeout=5)
    assert (part.status_code, part.content, part.headers["Content-Range"]) == (206, b"ftyp", f"bytes 4-7/{len(video.content)}")
    assert requests.get(creation["watermarked_url"], timeout=5).status_code == 200
    assert requests.get(creation["url"], headers={"Range": "bytes=999999-"}, timeout=5).status_code == 416


def test_urls_expire(sandbox):
    sandbox.configure(url_ttl=1, cover_ttl=1)
    creation = finished_creation(sandbox)
    assert "X-Amz-Expires=1" in creation["url"] and "X-Amz-Expires=1" in creation["cover_url"]
    assert requests.get(creation["url"], timeout=5).status_code == 200
    time.sleep(2.1)
    for url in (creation["url"], creation["cover_url"]):
        expired = requests.get(url, timeout=5)
        assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content
        assert b"expired" in expired.content


def test_default_lifetimes_are_a_day_for_videos_and_an_hour_for_covers(sandbox):
    creation = finished_creation(sandbox)
    assert parse_qs(urlsplit(creation["url"]).query)["X-Amz-Expires"] == ["86400"]
    assert parse_qs(urlsplit(creation["cover_url"]).query)["X-Amz-Expires"] == ["3600"]


@pytest.mark.parametrize("field", ["X-Amz-Signature", "X-Amz-Expires", "X-Amz-Date", "path"])
def test_edited_urls_are_refused(sandbox, field):
    parts = urlsplit(finished_creation(sandbox)["url"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    path = parts.path
    if field == "path":
        path = path.replace("video.mp4", "cover.jpeg")
    elif field == "X-Amz-Expires":
        query[field] = "999999"
    else:
        query[field] = query[field][:-1] + ("0" if query[field][-1] != "0" else "1")
    url = urlunsplit(parts._replace(path=path, query="&".join(f"{k}={v}" for k, v in query.items())))
    response = requests.get(url, timeout=5)
    assert response.status_code == 403 and response.headers["Content-Type"] == "application/xml"


def test_a_file_url_without_signature_is_refused(sandbox):
    url = finished_creation(sandbox)["url"].split("?")[0]
    assert requests.get(url, timeout=5).status_code == 403


def test_big_video_streams_a_clip_then_zeros(sandbox):
    url = finished_creation(sandbox, {**TEXT, "prompt": "big [bigvideo:3]"})["url"]
    with requests.get(url, stream=True, timeout=10) as response:
        assert int(response.headers["Content-Length"]) == 3 * 1024 * 1024
        data = b"".join(response.iter_content(256 * 1024))
    assert len(data) == 3 * 1024 * 1024 and data[4:8] == b"ftyp"
    clip_size = len(data.rstrip(b"\0"))
    assert 5000 < clip_size < 100_000 and data[clip_size:] == bytes(len(data) - clip_size)
    tail = requests.get(url, headers={"Range": "bytes=-10"}, timeout=5)
    assert (tail.status_code, tail.content) == (206, bytes(10))


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "Token", "Token ", "Basic abc", "Bearer", "abc"])
def test_401_without_a_usable_authorization(sandbox, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api(sandbox, "POST", "/ent/v2/text2video", None, json=TEXT, headers=headers)
    assert_error_body(response, 401, "Unauthorized")


def test_unknown_paths_and_wrong_methods(sandbox):
    assert_error_body(api(sandbox, "GET", "/ent/v2/lip-sync"), 404)  # an endpoint not in scope
    assert_error_body(api(sandbox, "GET", "/ent/v2/upscale-new"), 405)
    assert_error_body(api(sandbox, "GET", "/ent/v3/text2video"), 404)
    assert_error_body(api(sandbox, "GET", "/ent/v2/text2video"), 405)
    assert_error_body(api(sandbox, "POST", "/v2/tasks/1/creations"), 405)
    assert_error_body(api(sandbox, "GET", "/v2/tasks/123456789012345678/creations"), 404, "TaskNotFound")


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"text"', b"null", b"{", b"\xff\xfe"])
def test_bodies_that_are_not_a_json_object(sandbox, body):
    assert_error_body(api(sandbox, "POST", "/ent/v2/text2video", data=body), 400, "BadRequest")


def test_a_body_over_20_mb_is_refused(sandbox):
    body = json.dumps({**TEXT, "payload": "x" * (20 * 1024 * 1024 + 10)})
    assert_error_body(api(sandbox, "POST", "/ent/v2/text2video", data=body), 400, "BadRequest")
    assert sandbox.counts() == {}


@pytest.mark.parametrize(("endpoint", "body", "reason"), [
    ("text2video", {"prompt": "x"}, "FieldLacking"),
    ("text2video", {"model": "viduq2"}, "FieldLacking"),
    ("text2video", {**TEXT, "duration": 11}, "FieldInvalid"),
    ("text2video", {**TEXT, "images": ["https://example.com/a.png"]}, "FieldItemCountOutOfRange"),
    ("reference2video", {"model": "vidu2.0", "prompt": "x", "images": ["https://e.com/a.png"] * 4},
     "FieldItemCountOutOfRange"),
    ("img2video", {"model": "viduq1", "images": ["https://e.com/a.png"], "aspect_ratio": "16:9"}, "FieldUnwanted"),
    ("text2video", {"model": "viduq3-pro", "prompt": "x", "bgm": True}, "FieldUnwanted"),
    ("img2video", {"model": "viduq1", "images": ["ftp://e.com/a.png"]}, "ImageFormatInvalid"),
])
def test_validation_errors_use_vidus_reasons(sandbox, endpoint, body, reason):
    response = api(sandbox, "POST", f"/ent/v2/{endpoint}", json=body)
    message = assert_error_body(response, 400, reason)["message"]
    assert message.split(": ", 1)[1] in catalog.validate(endpoint, body).values()


@pytest.mark.parametrize("images", [
    [image_uri(64, 64)],  # too small
    [image_uri(1000, 200)],  # wider than 4:1
    ["data:image/png;base64,bm90IGFuIGltYWdl"],  # "not an image"
    [image_uri(fmt="JPEG").replace("image/jpeg", "image/png")[:200]],  # truncated
])
def test_data_uri_images_are_inspected(sandbox, images):
    response = api(sandbox, "POST", "/ent/v2/img2video", json={"model": "viduq1", "images": images})
    assert_error_body(response, 400, "ImageFormatInvalid")


def test_start_and_end_frames_must_have_the_same_shape(sandbox):
    body = {"model": "viduq1", "images": [image_uri(256, 256), image_uri(512, 256)]}
    assert_error_body(api(sandbox, "POST", "/ent/v2/start-end2video", json=body), 400, "ImageFormatInvalid")
    body["images"][1] = image_uri(256, 256, fmt="WEBP")
    assert api(sandbox, "POST", "/ent/v2/start-end2video", json=body).status_code == 200


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
FIELDS = ["model", "prompt", "images", "duration", "resolution", "aspect_ratio", "movement_amplitude", "style", "seed",
          "bgm", "audio", "off_peak", "watermark", "payload", "callback_url"]
LIKELY = st.sampled_from(["viduq2", "viduq1", "vidu2.0", "viduq3-pro", "720p", "16:9", 5, 4, True, "x",
                          ["https://e.com/a.png"], "data:image/png;base64,AAAA"])
BODIES = JSON | st.dictionaries(st.sampled_from(FIELDS), LIKELY | JSON, max_size=8)


@pytest.fixture(scope="module")
def shared_sandbox():
    """One sandbox for the property tests: hypothesis runs many examples per test function."""
    with running_sandbox(step=0.2) as sb:
        yield sb


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(endpoint=st.sampled_from(list(catalog.MODES)), body=BODIES)
def test_junk_never_gets_a_500(shared_sandbox, endpoint, body):
    response = api(shared_sandbox, "POST", f"/ent/v2/{endpoint}", data=json.dumps(body))
    valid = isinstance(body, dict) and not catalog.validate(endpoint, body) and \
        not any(str(i).startswith("data:") for i in body.get("images") or [])
    if valid:
        assert response.status_code == 200 and response.json()["task_id"].isdigit()
    else:
        assert_error_body(response, 400)


@settings(max_examples=50, deadline=None)
@given(raw=st.binary(max_size=200))
def test_random_bytes_get_a_400(shared_sandbox, raw):
    response = api(shared_sandbox, "POST", "/v2/reference2video", data=raw)
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"code", "reason", "message", "metadata"}


# -- markers, faults, counts -----------------------------------------------------------------


def test_fail_marker_ends_failed_with_that_err_code(sandbox):
    key = unique_key()
    task_id = create(sandbox, key, {**TEXT, "prompt": "x [fail:CreationPolicyViolation]"})["task_id"]
    states = []
    while not states or states[-1] not in ("success", "failed"):
        states.append(query(sandbox, key, task_id)["state"])
        time.sleep(0.02)
    assert "processing" in states and states[-1] == "failed"
    assert query(sandbox, key, task_id)["err_code"] == "CreationPolicyViolation"


@pytest.mark.parametrize(("reason", "status"), [("CreditInsufficient", 400), ("Unauthorized", 401), ("Forbidden", 403),
                                                ("QuotaExceeded", 429), ("SomethingNew", 400)])
def test_reject_marker_refuses_the_create(sandbox, reason, status):
    response = api(sandbox, "POST", "/ent/v2/text2video", json={**TEXT, "prompt": f"[reject:{reason}] x"})
    assert_error_body(response, status, reason)
    assert ("Retry-After" in response.headers) is (status == 429)
    assert sandbox.counts() == {}


def test_fault_share_is_roughly_as_configured(sandbox):
    sandbox.configure(fault_rate=0.3, fault_kinds=["429", "500"], fault_seed=7)
    statuses = [api(sandbox, "GET", "/ent/v2/tasks/1/creations").status_code for _ in range(300)]
    faults = sum(s in (429, 500) for s in statuses)
    assert 60 <= faults <= 120 and statuses.count(429) > 10 and statuses.count(500) > 10
    assert set(statuses) == {404, 429, 500}
    # the same seed replays the same faults
    sandbox.configure(fault_seed=7)
    assert [api(sandbox, "GET", "/ent/v2/tasks/1/creations").status_code for _ in range(300)] == statuses


def test_faults_spare_files_and_control_endpoints(sandbox):
    creation = finished_creation(sandbox)
    sandbox.configure(fault_rate=1.0, fault_kinds=["500"])
    assert requests.get(creation["url"], timeout=5).status_code == 200
    assert sandbox.counts() == {"": 1}
    assert_error_body(api(sandbox, "POST", "/ent/v2/text2video", json=TEXT), 500, "InternalServiceFailure")


def test_counts_per_payload_and_reset(sandbox):
    key = unique_key()
    for payload in ("a", "a", "b", "a"):
        create(sandbox, key, {**TEXT, "payload": payload})
    api(sandbox, "POST", "/ent/v2/text2video", key, json={"prompt": "refused", "payload": "c"})
    assert sandbox.counts() == {"a": 3, "b": 1} and sandbox.total_creates() == 4
    sandbox.configure(step=5.0)
    sandbox.reset()
    assert sandbox.counts() == {} and sandbox.config()["step"] == 0.2


def test_configure_refuses_unknown_or_bad_options(sandbox):
    for bad in ({"speed": 2}, {"fault_rate": 2}, {"fault_kinds": ["teapot"]}, {"step": "fast"}):
        response = requests.post(f"{sandbox.url}/_sandbox/config", json=bad, timeout=5)
        assert_error_body(response, 400)
    assert requests.get(f"{sandbox.url}/_sandbox/health", timeout=5).json()["ok"] is True


# -- callbacks -------------------------------------------------------------------------------


@pytest.fixture
def receiver():
    """A tiny local HTTP server standing in for our app's callback endpoint."""
    with callback_receiver() as receiver:
        yield receiver


def received_states(receiver):
    return [json.loads(r["body"])["state"] for r in receiver.received]


def assert_signed(receiver, key, url):
    nonces = NonceCache()
    for request in receiver.received:
        verify(key, url, request["headers"], nonces=nonces)


def test_callbacks_are_signed_and_follow_the_states(sandbox, receiver):
    key, url = unique_key(), f"{receiver.url}/vidu/callback?team=7"
    task_id = create(sandbox, key, {**TEXT, "callback_url": url, "payload": "ours"})["task_id"]
    wait_for(lambda: received_states(receiver) == ["processing", "success"])
    time.sleep(0.3)
    assert received_states(receiver) == ["processing", "success"]
    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert all(b["id"] == task_id and b["payload"] == "ours" for b in bodies)
    assert bodies[1] == {**query(sandbox, key, task_id), "creations": bodies[1]["creations"]}
    assert bodies[1]["creations"][0]["url"]
    assert receiver.received[0]["path"] == "/vidu/callback?team=7"
    assert_signed(receiver, key, url)
    with pytest.raises(Exception, match="bad signature"):
        verify("another-key", url, receiver.received[0]["headers"])


def test_failed_and_cancelled_tasks_call_back_too(sandbox, receiver):
    key = unique_key()
    create(sandbox, key, {**TEXT, "prompt": "x [fail:AuditSubmitIllegal]", "callback_url": receiver.url + "/a"})
    cancelled = create(sandbox, key, {**TEXT, "callback_url": receiver.url + "/b"})["task_id"]
    api(sandbox, "POST", f"/ent/v2/tasks/{cancelled}/cancel", key, json={"id": cancelled})
    wait_for(lambda: len(receiver.received) == 3)
    by_path = {}
    for request in receiver.received:
        by_path.setdefault(request["path"], []).append(json.loads(request["body"]))
    assert [(b["state"], b["err_code"]) for b in by_path["/a"]] == [("processing", ""), ("failed", "AuditSubmitIllegal")]
    assert [(b["state"], b["err_code"]) for b in by_path["/b"]] == [("failed", "UserCancelled")]


def test_final_callbacks_are_retried_until_answered(sandbox, receiver):
    receiver.statuses = [200, 500, 503]  # processing ok, then success fails twice
    key = unique_key()
    create(sandbox, key, {**TEXT, "callback_url": receiver.url})
    wait_for(lambda: len(receiver.received) == 4)
    time.sleep(0.5)
    assert received_states(receiver) == ["processing", "success", "success", "success"]
    assert_signed(receiver, key, receiver.url)  # every retry is signed afresh


def test_final_callbacks_stop_after_three_retries(sandbox, receiver):
    receiver.statuses = [500] * 10
    create(sandbox, unique_key(), {**TEXT, "callback_url": receiver.url})
    wait_for(lambda: received_states(receiver).count("success") == 4, timeout=8)
    time.sleep(1.0)
    assert received_states(receiver) == ["processing"] + ["success"] * 4  # processing isn't retried


def test_an_unreachable_receiver_does_not_stall_the_sandbox(sandbox):
    key = unique_key()
    task_id = create(sandbox, key, {**TEXT, "callback_url": "http://127.0.0.1:9/nobody"})["task_id"]
    assert until_final(sandbox, key, task_id)["state"] == "success"
    wait_for(lambda: [c["attempt"] for c in sandbox.callbacks() if c["state"] == "success"] == [1, 2, 3, 4], timeout=8)
