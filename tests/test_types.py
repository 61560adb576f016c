"""Parsing Vidu's answers into typed results: the DataEyes example exactly, and the awkward cases around it."""

import json
from pathlib import Path

import pytest

from vidu_web.vidu.types import CreateResult, TaskResult, VideoInfo

FIXTURE = Path(__file__).parent / "fixtures" / "dataeyes_query_success.json"


@pytest.fixture
def raw():
    return json.loads(FIXTURE.read_text())


def test_it_parses_the_dataeyes_example(raw):
    task = TaskResult.parse(raw)
    assert task.id == "895579439721627648"
    assert task.state == "success" and task.is_final
    assert (task.err_code, task.credits, task.payload, task.progress) == ("", 130, "", 100)
    assert (task.bgm, task.audio, task.off_peak) == (False, True, False)
    [creation] = task.creations
    assert creation.id == "895580013615669248"
    assert creation.url == raw["creations"][0]["url"]
    assert creation.url.startswith("https://prod-ss-vidu.s3.cn-northwest-1.amazonaws.com.cn/infer/tasks/25/1208/11/")
    assert "X-Amz-Expires=86400" in creation.url
    assert creation.cover_url == raw["creations"][0]["cover_url"]
    assert "X-Amz-Expires=3600" in creation.cover_url
    assert creation.watermarked_url == ""
    assert creation.moderation_urls == ()


def test_null_resolution_and_zero_duration_mean_unknown(raw):
    video = TaskResult.parse(raw).creations[0].video
    assert video == VideoInfo(duration=0, fps=0, width=None, height=None)


def test_ids_stay_strings_even_when_sent_as_numbers(raw):
    text = FIXTURE.read_text().replace('"895579439721627648"', "895579439721627648")
    data = json.loads(text)
    assert data["id"] == 895579439721627648  # the JSON now carries a number
    assert TaskResult.parse(data).id == "895579439721627648"
    assert isinstance(TaskResult.parse(raw).creations[0].id, str)


def test_unknown_fields_are_ignored(raw):
    raw.update(cus_priority=3, something_new={"nested": [1, 2]}, model="viduq2-turbo-720p-5s")
    raw["creations"][0]["thumbnail"] = "https://example.com/t.jpg"
    task = TaskResult.parse(raw)
    assert task.id == "895579439721627648" and len(task.creations) == 1


def test_progress_absent_is_none_not_zero(raw):
    del raw["progress"]
    assert TaskResult.parse(raw).progress is None


@pytest.mark.parametrize(("value", "expected"), [(150, 100), (-5, 0), ("42", 42), (0, 0)])
def test_progress_is_clamped(raw, value, expected):
    raw["progress"] = value
    assert TaskResult.parse(raw).progress == expected


def test_resolution_object_is_read(raw):
    raw["creations"][0]["video"] = {"duration": 5.04, "fps": 24, "resolution": {"width": 1280, "height": 720}}
    assert TaskResult.parse(raw).creations[0].video == VideoInfo(5.04, 24, 1280, 720)


def test_callbacks_may_say_status_instead_of_state(raw):
    raw["status"] = raw.pop("state")
    assert TaskResult.parse(raw).state == "success"


@pytest.mark.parametrize("state", ["created", "queueing", "processing", "scheduling", "mystery"])
def test_only_success_and_failed_are_final(raw, state):
    raw["state"] = state
    assert not TaskResult.parse(raw).is_final


def test_failed_carries_its_err_code(raw):
    raw.update(state="failed", err_code="CreationPolicyViolation", creations=[])
    task = TaskResult.parse(raw)
    assert task.is_final and task.err_code == "CreationPolicyViolation" and task.creations == ()


@pytest.mark.parametrize("data", [None, [], "x", {"state": "success"}, {"id": "1"}, {"id": "1", "state": 3}])
def test_it_refuses_what_is_not_a_task(data):
    with pytest.raises(ValueError):
        TaskResult.parse(data)


def test_null_and_odd_fields_do_not_break_parsing(raw):
    raw.update(credits=None, payload=None, bgm="yes", creations=[None, raw["creations"][0]])
    raw["creations"][1]["moderation_url"] = None
    task = TaskResult.parse(raw)
    assert task.credits is None and task.payload == "" and task.bgm is None
    assert len(task.creations) == 1 and task.creations[0].moderation_urls == ()


def test_create_result():
    data = {"task_id": "123456789012345678", "state": "created", "seed": 42, "credits": 40,
            "created_at": "2025-01-01T08:00:00.000Z", "model": "viduq2", "extra": True}
    result = CreateResult.parse(data)
    assert (result.task_id, result.state, result.seed, result.credits) == ("123456789012345678", "created", 42, 40)
    assert result.created_at == "2025-01-01T08:00:00.000Z" and result.raw == data


@pytest.mark.parametrize("data", [{}, {"task_id": "", "state": "created"}, {"task_id": "1"}, "oops"])
def test_create_result_needs_an_id_and_a_state(data):
    with pytest.raises(ValueError):
        CreateResult.parse(data)


@pytest.mark.parametrize("odd", [{"creations": 5}, {"creations": {"id": "c"}},
                                 {"creations": [{"id": "c", "video": {"duration": [1], "fps": {}}}]},
                                 {"creations": [{"id": "c", "video": {"duration": "nan", "fps": "inf"}}]}])
def test_odd_shapes_parse_as_unknown_not_a_type_error(raw, odd):
    # A callback body is anyone's JSON: parsing may refuse it (ValueError), never crash.
    raw.update(odd)
    task = TaskResult.parse(raw)
    # A list of creations keeps its creation (with an unknown video); anything else is none.
    assert len(task.creations) == (1 if isinstance(odd["creations"], list) else 0)
    assert all(c.video.duration == 0 and c.video.fps == 0 for c in task.creations)
