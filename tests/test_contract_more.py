"""Black-box contract tests of the sandbox's second-wave endpoints (vidu-api.md §2b), over HTTP only.

Written from ``docs/vidu-api.md`` alone, like ``test_contract.py`` (whose document-based helpers
it reuses): ``extend``, ``upscale-new`` and ``multiframe`` under both prefixes and both auth
schemes, each rule of §2b on both sides of its limit, credits that grow with what is asked, and
``is_rec``. The one thing no API call can make is a source over 300 s or at 60 fps; for those
two limits the sandbox's documented test markers (``[length:S]``, ``[fps:F]``, §7 "fail on
purpose") stand in for a long or fast video.
"""

from __future__ import annotations

import time
import uuid

import pytest
from test_contract import (
    FLAVORS,
    HTTP,
    Api,
    assert_error,
    check_create_body,
    check_query_body,
    png,
    poll,
    until_final,
)

from vidu_web.sandbox.testing import running_sandbox

STEP = 0.05
EXTEND_MODELS = ("viduq2-pro", "viduq2-turbo")


@pytest.fixture(scope="module")
def sb():
    with running_sandbox(step=STEP, processing_steps=2) as handle:
        yield handle


@pytest.fixture(scope="module", params=FLAVORS, ids=lambda f: f"{f[0]}-{f[1]}")
def api(request, sb) -> Api:
    prefix, scheme = request.param
    return Api(sb.url, prefix, scheme)


def finished(api: Api, endpoint: str, body: dict) -> dict:
    """Create, wait for success, return the final query body."""
    task_id = api.created(endpoint, body)["task_id"]
    final = poll(api, task_id, until_final, timeout=15)[-1]
    assert final["state"] == "success", final
    return final


def source(api: Api, seconds: int = 5, resolution: str = "720p", prompt: str = "a lighthouse at dusk") -> str:
    """A finished text-to-video task's creation id (viduq3-turbo makes 1-16 s, §2)."""
    final = finished(api, "text2video", {"model": "viduq3-turbo", "prompt": prompt, "duration": seconds,
                                         "resolution": resolution})
    return final["creations"][0]["id"]


@pytest.fixture(scope="module")
def sources(api) -> dict:
    """One finished video of each kind the rules need, per prefix and scheme (its key owns them)."""
    return {
        "5s": source(api, 5),
        "4s": source(api, 4),
        "3s": source(api, 3),
        "1080p": source(api, 5, "1080p"),
        "300s": source(api, 5, prompt="long [length:300]"),
        "301s": source(api, 5, prompt="long [length:301]"),
        "59fps": source(api, 5, prompt="fast [fps:59]"),
        "60fps": source(api, 5, prompt="fast [fps:60]"),
    }


def expect(answer, ok: bool, reasons: set[str] | None = None) -> None:
    """Accepted (200), or refused with §6's error body (400)."""
    if ok:
        assert answer.status_code == 200, answer.text[:400]
    else:
        assert_error(answer, 400, reasons)


def assert_mp4(creation: dict) -> None:
    video = HTTP.get(creation["url"], timeout=10)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp", video.content[:16]


# --------------------------------------------------------------------------------------------
# Each endpoint's whole life, on each prefix with its auth scheme
# --------------------------------------------------------------------------------------------


def test_extend_lifecycle(api, sources):
    payload = f"ours-{uuid.uuid4()}"
    sent = {"model": "viduq2-pro", "video_creation_id": sources["5s"], "duration": 3, "resolution": "720p",
            "prompt": "the camera rises over the sea", "images": [png()], "payload": payload}
    created = api.created("extend", sent)
    check_create_body(created, {k: v for k, v in sent.items() if k not in ("images", "video_creation_id")})
    bodies = poll(api, created["task_id"], until_final, timeout=15)
    final = bodies[-1]
    assert final["state"] == "success" and final["payload"] == payload, final
    creation = final["creations"][0]
    assert creation["id"] != sources["5s"], "the extension is a new creation"
    assert creation["video"]["duration"] == 8, "5 s source + 3 s added"
    assert_mp4(creation)


def test_extend_defaults_to_5_seconds_at_720p(api, sources):
    created = api.created("extend", {"model": "viduq2-turbo", "video_creation_id": sources["5s"]})
    assert created["duration"] == 5 and created["resolution"] == "720p", created


def test_upscale_lifecycle(api, sources):
    created = api.created("upscale-new", {"video_creation_id": sources["5s"], "upscale_resolution": "2K"})
    assert isinstance(created["task_id"], str) and created["task_id"].isdigit() and created["state"] == "created"
    assert isinstance(created["credits"], int) and created["credits"] > 0
    final = poll(api, created["task_id"], until_final, timeout=15)[-1]
    assert final["state"] == "success", final
    assert_mp4(final["creations"][0])


def test_upscale_defaults_to_1080p(api, sources):
    created = api.created("upscale-new", {"video_creation_id": sources["5s"]})
    assert created.get("upscale_resolution", "1080p") == "1080p", created


def test_multiframe_lifecycle(api):
    keys = [{"key_image": png(), "prompt": "the door opens", "duration": 3},
            {"key_image": png(320, 180), "prompt": "she steps out", "duration": 4}]
    created = api.created("multiframe", {"model": "viduq2-turbo", "start_image": png(), "image_settings": keys,
                                         "resolution": "540p"})
    final = poll(api, created["task_id"], until_final, timeout=15)[-1]
    assert final["state"] == "success", final
    assert final["creations"][0]["video"]["duration"] == 7, "the keys' seconds add up"
    assert_mp4(final["creations"][0])


def test_a_derived_video_is_queried_and_cancelled_like_any_other(api, sources):
    task_id = api.created("extend", {"model": "viduq2-pro", "video_creation_id": sources["5s"]})["task_id"]
    check_query_body(api.state(task_id), task_id)
    answer = api.cancel(task_id)
    assert answer.status_code == 200 and answer.json() == {}, answer.text
    body = api.state(task_id)
    assert body["state"] == "failed" and body["err_code"] == "UserCancelled", body


# --------------------------------------------------------------------------------------------
# extend: every rule on both sides of its limit
# --------------------------------------------------------------------------------------------


def extend(api, sources, **changes) -> dict:
    body = {"model": "viduq2-pro", "video_creation_id": sources["5s"], "duration": 5, "resolution": "720p"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize("model", EXTEND_MODELS)
def test_extend_takes_the_q2_pro_and_turbo_models(api, sources, model):
    api.created("extend", extend(api, sources, model=model))


@pytest.mark.parametrize("model", ["viduq3-pro", "viduq2", "viduq1", "vidu2.0", "nope"])
def test_extend_refuses_other_models(api, sources, model):
    assert_error(api.create("extend", extend(api, sources, model=model)), 400)


def test_extend_needs_a_model(api, sources):
    assert_error(api.create("extend", extend(api, sources, model=None)), 400, {"FieldLacking", "FieldInvalid"})


@pytest.mark.parametrize(("seconds", "ok"), [(0, False), (1, True), (7, True), (8, False)])
def test_extend_adds_1_to_7_seconds(api, sources, seconds, ok):
    answer = api.create("extend", extend(api, sources, duration=seconds))
    expect(answer, ok)


@pytest.mark.parametrize(("resolution", "ok"), [("360p", False), ("540p", True), ("720p", True), ("1080p", True),
                                                ("2K", False)])
def test_extend_resolutions(api, sources, resolution, ok):
    answer = api.create("extend", extend(api, sources, resolution=resolution))
    expect(answer, ok)


@pytest.mark.parametrize(("count", "ok"), [(0, True), (1, True), (2, False)])
def test_extend_takes_at_most_one_end_frame(api, sources, count, ok):
    answer = api.create("extend", extend(api, sources, images=[png()] * count))
    expect(answer, ok)


@pytest.mark.parametrize(("length", "ok"), [(2000, True), (2001, False)])
def test_extend_prompt_length(api, sources, length, ok):
    answer = api.create("extend", extend(api, sources, prompt="x" * length))
    expect(answer, ok)


@pytest.mark.parametrize(("which", "ok"), [("3s", False), ("4s", True), ("5s", True)])
def test_extend_source_at_least_4_seconds(api, sources, which, ok):
    answer = api.create("extend", extend(api, sources, video_creation_id=sources[which]))
    expect(answer, ok)


def test_extend_source_at_most_60_seconds(api):
    """16 s, then extensions up to exactly 60 s (accepted as a source), then 61 s (refused)."""
    creation = source(api, 16)
    for added in (7, 7, 7, 7, 7, 7, 2):  # 16 + 42 + 2 = 60
        final = finished(api, "extend", {"model": "viduq2-turbo", "video_creation_id": creation, "duration": added,
                                         "resolution": "540p"})
        creation = final["creations"][0]["id"]
    assert final["creations"][0]["video"]["duration"] == 60
    final = finished(api, "extend", {"model": "viduq2-turbo", "video_creation_id": creation, "duration": 1,
                                     "resolution": "540p"})  # a 60 s source is fine; this makes 61 s
    assert final["creations"][0]["video"]["duration"] == 61
    too_long = final["creations"][0]["id"]
    assert_error(api.create("extend", {"model": "viduq2-turbo", "video_creation_id": too_long}), 400)


def test_extend_needs_a_source(api, sources):
    assert_error(api.create("extend", extend(api, sources, video_creation_id=None)), 400)


def test_extend_of_an_unknown_or_unfinished_video_is_refused(api, sources):
    answer = api.create("extend", extend(api, sources, video_creation_id="123456789012345678"))
    assert answer.status_code in (400, 404)
    assert_error(answer, answer.status_code)
    running = api.created("text2video", {"model": "viduq2", "prompt": "a fox"})["task_id"]
    assert api.state(running)["creations"] == []
    other = Api(api.base, api.prefix, api.scheme)  # another key can't name this key's videos
    answer = other.create("extend", extend(api, sources))
    assert answer.status_code in (400, 404)
    assert_error(answer, answer.status_code)


def test_extend_by_public_url(api, sources):
    api.created("extend", extend(api, sources, video_creation_id=None, video_url="https://example.com/clip.mp4"))


def test_extend_credits_grow_with_the_seconds_added(api, sources):
    short = api.created("extend", extend(api, sources, duration=2))["credits"]
    long = api.created("extend", extend(api, sources, duration=6))["credits"]
    assert 0 < short < long


# --------------------------------------------------------------------------------------------
# upscale-new
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["1080p", "2K", "4K", "8K"])
def test_upscale_resolutions_above_a_720p_source(api, sources, target):
    api.created("upscale-new", {"video_creation_id": sources["5s"], "upscale_resolution": target})


@pytest.mark.parametrize("target", ["720p", "540p", "16K", "4k", ""])
def test_upscale_refuses_other_resolutions(api, sources, target):
    assert_error(api.create("upscale-new", {"video_creation_id": sources["5s"], "upscale_resolution": target}), 400)


@pytest.mark.parametrize(("target", "ok"), [("1080p", False), ("2K", True)])
def test_upscale_must_go_above_the_source(api, sources, target, ok):
    answer = api.create("upscale-new", {"video_creation_id": sources["1080p"], "upscale_resolution": target})
    expect(answer, ok, {"FieldInvalid"})


@pytest.mark.parametrize(("which", "ok"), [("300s", True), ("301s", False), ("59fps", True), ("60fps", False)])
def test_upscale_source_limits(api, sources, which, ok):
    answer = api.create("upscale-new", {"video_creation_id": sources[which], "upscale_resolution": "2K"})
    expect(answer, ok)


def test_upscale_takes_no_model_and_needs_a_source(api, sources):
    assert_error(api.create("upscale-new", {"video_creation_id": sources["5s"], "model": "viduq2-pro"}), 400)
    assert_error(api.create("upscale-new", {"upscale_resolution": "2K"}), 400)


def test_upscale_credits_grow_with_the_resolution(api, sources):
    low = api.created("upscale-new", {"video_creation_id": sources["5s"], "upscale_resolution": "1080p"})["credits"]
    high = api.created("upscale-new", {"video_creation_id": sources["5s"], "upscale_resolution": "4K"})["credits"]
    assert 0 < low < high


# --------------------------------------------------------------------------------------------
# multiframe
# --------------------------------------------------------------------------------------------


def keyframes(count: int = 2, seconds: int = 5, **changes) -> dict:
    body = {"model": "viduq2-pro", "start_image": png(),
            "image_settings": [{"key_image": png(), "prompt": f"key {n}", "duration": seconds} for n in range(count)],
            "resolution": "720p"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(("count", "ok"), [(1, False), (2, True), (9, True), (10, False)])
def test_multiframe_takes_2_to_9_keys(api, count, ok):
    answer = api.create("multiframe", keyframes(count))
    expect(answer, ok)


@pytest.mark.parametrize(("seconds", "ok"), [(1, False), (2, True), (7, True), (8, False)])
def test_multiframe_seconds_per_key(api, seconds, ok):
    answer = api.create("multiframe", keyframes(3, seconds))
    expect(answer, ok)


@pytest.mark.parametrize(("model", "ok"), [("viduq2-pro", True), ("viduq2-turbo", True), ("viduq2", False),
                                           ("viduq3-pro", False)])
def test_multiframe_models(api, model, ok):
    answer = api.create("multiframe", keyframes(model=model))
    expect(answer, ok)


@pytest.mark.parametrize(("resolution", "ok"), [("360p", False), ("540p", True), ("1080p", True)])
def test_multiframe_resolutions(api, resolution, ok):
    answer = api.create("multiframe", keyframes(resolution=resolution))
    expect(answer, ok)


def test_multiframe_needs_a_readable_start_image_and_key_images(api):
    assert_error(api.create("multiframe", keyframes(start_image=None)), 400)
    assert_error(api.create("multiframe", keyframes(start_image=png(64, 64))), 400)  # under 128×128
    bad = keyframes()
    bad["image_settings"][1]["key_image"] = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    assert_error(api.create("multiframe", bad), 400)


def test_multiframe_key_prompt_length(api):
    body = keyframes()
    body["image_settings"][0]["prompt"] = "x" * 2000
    api.created("multiframe", body)
    body["image_settings"][0]["prompt"] = "x" * 2001
    assert_error(api.create("multiframe", body), 400)


def test_multiframe_credits_grow_with_the_seconds(api):
    short = api.created("multiframe", keyframes(2, 2))["credits"]
    long = api.created("multiframe", keyframes(4, 6))["credits"]
    assert 0 < short < long


# --------------------------------------------------------------------------------------------
# is_rec: Vidu writes the prompt, 10 credits more
# --------------------------------------------------------------------------------------------


REC_BODIES = {
    "text2video": {"model": "viduq2", "prompt": "a fox"},
    "img2video": {"model": "viduq2-pro", "images": [png()]},
    "start-end2video": {"model": "viduq3-pro", "images": [png(), png()]},
    "reference2video": {"model": "viduq2", "prompt": "a fox", "images": [png()]},
}


@pytest.mark.parametrize("endpoint", list(REC_BODIES))
def test_is_rec_costs_10_credits_more(api, endpoint):
    plain = api.created(endpoint, {**REC_BODIES[endpoint], "seed": 7})
    rec = api.created(endpoint, {**REC_BODIES[endpoint], "seed": 7, "is_rec": True})
    assert rec["credits"] == plain["credits"] + 10, (plain["credits"], rec["credits"])


def test_is_rec_answer_may_carry_the_prompt_used(api):
    created = api.created("text2video", {"model": "viduq2", "prompt": "a fox", "is_rec": True})
    final = poll(api, created["task_id"], until_final, timeout=15)[-1]
    assert final["state"] == "success"
    if "prompt" in final:  # §2b: show it if the answer carries one; don't assume it does
        assert isinstance(final["prompt"], str) and final["prompt"]


def test_is_rec_must_be_a_boolean(api):
    assert_error(api.create("text2video", {"model": "viduq2", "prompt": "a fox", "is_rec": "yes"}), 400)


def test_the_new_endpoints_answer_the_error_shape_without_auth(sb):
    for prefix in ("/ent/v2", "/v2"):
        for endpoint in ("extend", "upscale-new", "multiframe"):
            answer = HTTP.post(f"{sb.url}{prefix}/{endpoint}", data="{}", timeout=10,
                               headers={"Content-Type": "application/json"})
            assert_error(answer, 401)


def test_bounded_time(api, sources):
    started = time.monotonic()
    finished(api, "upscale-new", {"video_creation_id": sources["5s"], "upscale_resolution": "4K"})
    assert time.monotonic() - started < 10
