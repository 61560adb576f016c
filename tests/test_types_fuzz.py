"""Any answer from the network parses to something safe to store, or raises ValueError.

"Safe": strings that are strings and fit our columns, counts that are whole numbers in an
integer column's range, progress from 0 to 100, URLs that are http(s) or empty.
"""

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vidu_web.vidu.types import MAX_INT, MAX_TEXT, CreateResult, TaskResult

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**500), 10**500), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(["42", " 7 ", "1e400", "https://cdn.example/v.mp4?X-Amz-Signature=x"]),
)
anything = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                            max_size=4), max_leaves=30)
FIELDS = ["id", "task_id", "state", "status", "err_code", "credits", "payload", "progress", "bgm", "audio", "off_peak",
          "creations", "seed", "created_at"]
CREATION = ["id", "url", "cover_url", "watermarked_url", "moderation_url", "video"]
creation = st.dictionaries(st.sampled_from(CREATION), anything | st.dictionaries(
    st.sampled_from(["duration", "fps", "resolution"]), anything | st.dictionaries(
        st.sampled_from(["width", "height"]), scalars)))
answer = st.one_of(
    anything,
    st.dictionaries(st.sampled_from(FIELDS), anything, max_size=10),
    st.fixed_dictionaries({"id": scalars, "state": scalars}, optional={
        name: anything for name in FIELDS if name not in ("id", "state")
    }),
    st.fixed_dictionaries({"id": st.just("111"), "state": st.just("success"), "creations": st.lists(creation, max_size=3)},
                          optional={"credits": scalars, "progress": scalars}),
)


def assert_text(value):
    assert isinstance(value, str) and len(value) <= MAX_TEXT


def assert_count(value, high=MAX_INT):
    assert value is None or (type(value) is int and 0 <= value <= high)


def assert_safe(task: TaskResult):
    for text in (task.id, task.state, task.err_code, task.payload):
        assert_text(text)
    assert task.id and task.state
    assert_count(task.credits)
    assert_count(task.progress, 100)
    for flag in (task.bgm, task.audio, task.off_peak):
        assert flag in (None, True, False)
    for c in task.creations:
        assert_text(c.id)
        for url in (c.url, c.cover_url, c.watermarked_url, *c.moderation_urls):
            assert_text(url)
            assert url == "" or url.startswith(("http://", "https://"))
        assert math.isfinite(c.video.duration) and math.isfinite(c.video.fps)
        assert_count(c.video.width)
        assert_count(c.video.height)


@settings(max_examples=400, deadline=None)
@given(data=answer)
@example(data={"id": "111", "state": "processing", "credits": float("inf")})  # {"credits": 1e400} parsed
@example(data={"id": "111", "state": "processing", "credits": 10**400, "progress": -(10**400)})
@example(data={"id": "111", "state": "success", "creations": [{"video": {"duration": 10**400, "fps": float("nan"),
                                                                          "resolution": {"width": 1e400}}}]})
@example(data={"id": ["111"], "state": "success"})
@example(data={"id": "111", "state": "success", "creations": [{"url": "javascript:alert(1)", "id": {"x": 1}}]})
def test_any_task_answer_parses_safely_or_raises_value_error(data):
    try:
        task = TaskResult.parse(data)
    except ValueError:
        return
    assert_safe(task)


@settings(max_examples=200, deadline=None)
@given(data=answer)
@example(data={"task_id": "1", "state": "created", "seed": 1e400, "credits": float("nan")})
def test_any_create_answer_parses_safely_or_raises_value_error(data):
    try:
        created = CreateResult.parse(data)
    except ValueError:
        return
    assert_text(created.task_id)
    assert created.task_id
    assert_count(created.seed)
    assert_count(created.credits)


@pytest.mark.parametrize("value, expected", [(1e400, None), (10**400, None), (-5, None), ("12", 12), (True, None),
                                             ([3], None), ({"n": 3}, None), (3.0, 3), ("1e400", None)],
                         ids=["1e400", "10**400", "-5", "'12'", "true", "list", "object", "3.0", "'1e400'"])
def test_credits_are_a_count_or_unknown(value, expected):
    assert TaskResult.parse({"id": "1", "state": "processing", "credits": value}).credits == expected


@pytest.mark.parametrize("value", [["111"], {"a": 1}, True, float("inf"), "", None])
def test_an_id_of_the_wrong_type_is_a_value_error(value):
    with pytest.raises(ValueError):
        TaskResult.parse({"id": value, "state": "processing"})


def test_urls_that_are_not_http_or_too_long_are_dropped():
    long = "https://cdn.example/" + "a" * MAX_TEXT
    task = TaskResult.parse({"id": "1", "state": "success", "creations": [
        {"id": "c", "url": "file:///etc/passwd", "cover_url": long, "moderation_url": ["ftp://x", "https://ok.example/m"]}]})
    [c] = task.creations
    assert (c.url, c.cover_url, c.moderation_urls) == ("", "", ("https://ok.example/m",))
