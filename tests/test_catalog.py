"""The validator against the model table of vidu-api.md §2, written out here independently of MODELS.

If a row of ``catalog.MODELS`` is wrong (a duration too many, a resolution missing, an endpoint
granted by mistake), the sweep below names the model, endpoint and value that disagree.
"""

import pytest

from vidu_web.vidu import catalog
from vidu_web.vidu.catalog import validate

TEXT, IMAGE, START_END, REFERENCE = "text2video", "img2video", "start-end2video", "reference2video"
ALL_MODES = (TEXT, IMAGE, START_END, REFERENCE)
ALL_RESOLUTIONS = ("360p", "540p", "720p", "1080p")
HD = {"540p", "720p", "1080p"}


def seconds(low, high):
    return set(range(low, high + 1))


# vidu-api.md §2, copied by hand: model -> endpoint -> {duration: allowed resolutions}
SPEC = {
    "viduq3-pro": {mode: {d: HD for d in seconds(1, 16)} for mode in (TEXT, IMAGE, START_END)},
    "viduq3-turbo": {mode: {d: HD for d in seconds(1, 16)} for mode in (TEXT, IMAGE, START_END)},
    "viduq2": {mode: {d: HD for d in seconds(1, 10)} for mode in (TEXT, REFERENCE)},
    "viduq2-pro": {IMAGE: {d: HD for d in seconds(1, 10)}, START_END: {d: HD for d in seconds(1, 8)}},
    "viduq2-turbo": {IMAGE: {d: HD for d in seconds(1, 10)}, START_END: {d: HD for d in seconds(1, 8)}},
    "viduq1": {mode: {5: {"1080p"}} for mode in ALL_MODES},
    "vidu2.0": {mode: {4: {"360p", "720p", "1080p"}, 8: {"720p"}} for mode in (IMAGE, START_END, REFERENCE)},
}
DEFAULTS = {  # model -> (default duration, default resolution)
    "viduq3-pro": (5, "720p"), "viduq3-turbo": (5, "720p"), "viduq2": (5, "720p"), "viduq2-pro": (5, "720p"),
    "viduq2-turbo": (5, "720p"), "viduq1": (5, "1080p"), "vidu2.0": (4, "360p"),
}
URL = "https://example.com/frame.png"


def body(mode, model, **extra):
    """A request that is valid for ``mode`` apart from what ``extra`` changes."""
    images = {TEXT: [], IMAGE: [URL], START_END: [URL, URL], REFERENCE: [URL]}[mode]
    params = {"model": model, "prompt": "a red fox in the snow", **({"images": images} if images else {})}
    return {**params, **extra}


def test_the_table_names_the_same_models():
    assert set(catalog.MODELS) == set(SPEC)


@pytest.mark.parametrize("model", sorted(SPEC))
def test_each_model_takes_exactly_its_endpoints(model):
    for mode in ALL_MODES:
        errors = validate(mode, body(mode, model))
        if mode in SPEC[model]:
            assert errors == {}, (model, mode, errors)
        else:
            assert set(errors) == {"model"}, (model, mode, errors)


@pytest.mark.parametrize(("model", "mode"), [(m, mode) for m in sorted(SPEC) for mode in SPEC[m]])
def test_durations_and_resolutions_follow_the_table(model, mode):
    allowed = SPEC[model][mode]
    wrong = []
    for duration in range(0, 18):  # both sides of every limit, 0 and 17 included
        ok = validate(mode, body(mode, model, duration=duration)).get("duration") is None
        if ok != (duration in allowed):
            wrong.append(("duration", duration, ok))
        for resolution in ALL_RESOLUTIONS:
            errors = validate(mode, body(mode, model, duration=duration, resolution=resolution))
            expected = duration in allowed and resolution in allowed[duration]
            if (errors == {}) != expected:
                wrong.append((duration, resolution, errors))
    assert wrong == []


@pytest.mark.parametrize("model", sorted(SPEC))
def test_defaults_are_valid_and_match_the_table(model):
    duration, resolution = DEFAULTS[model]
    spec = catalog.MODELS[model]
    assert (spec.default_duration, spec.default_resolution_for(duration)) == (duration, resolution)
    for mode in SPEC[model]:
        assert resolution in SPEC[model][mode][duration]
        assert validate(mode, body(mode, model, duration=duration)) == {}


def test_vidu2_0_at_8_seconds_defaults_to_720p():
    assert catalog.MODELS["vidu2.0"].default_resolution_for(8) == "720p"


@pytest.mark.parametrize(
    ("mode", "model", "count", "ok"),
    [
        (TEXT, "viduq2", 0, True), (TEXT, "viduq2", 1, False),
        (IMAGE, "viduq1", 0, False), (IMAGE, "viduq1", 1, True), (IMAGE, "viduq1", 2, False),
        (START_END, "viduq1", 1, False), (START_END, "viduq1", 2, True), (START_END, "viduq1", 3, False),
        (REFERENCE, "viduq2", 0, False), (REFERENCE, "viduq2", 1, True), (REFERENCE, "viduq2", 7, True),
        (REFERENCE, "viduq2", 8, False),
        (REFERENCE, "vidu2.0", 1, True), (REFERENCE, "vidu2.0", 3, True), (REFERENCE, "vidu2.0", 4, False),
        (REFERENCE, "viduq1", 7, True), (REFERENCE, "viduq1", 8, False),
    ],
)
def test_image_counts_per_mode(mode, model, count, ok):
    errors = validate(mode, body(mode, model, images=[URL] * count))
    assert ("images" not in errors) is ok, errors
    assert errors == {} if ok else set(errors) == {"images"}


def test_images_left_out_count_as_none():
    params = body(IMAGE, "viduq1")
    del params["images"]
    assert "images" in validate(IMAGE, params)


@pytest.mark.parametrize(
    "image",
    ["ftp://example.com/a.png", "data:image/gif;base64,R0lGOD==", "not a url", "", 42, None, "https://a b/c.png"],
)
def test_images_must_be_urls_or_data_uris(image):
    assert "images" in validate(IMAGE, body(IMAGE, "viduq1", images=[image]))


@pytest.mark.parametrize("image", ["https://example.com/a.png", "http://example.com/a", "data:image/png;base64,iVBORw0KGgo=",
                                   "data:image/jpeg;base64,/9j/4AAQ", "data:image/webp;base64,UklGRg=="])
def test_image_references_accepted(image):
    assert validate(IMAGE, body(IMAGE, "viduq1", images=[image])) == {}


@pytest.mark.parametrize("mode", [TEXT, REFERENCE])
@pytest.mark.parametrize("prompt", [None, "", "   \n"])
def test_prompt_required_for_text_and_reference(mode, prompt):
    params = body(mode, "viduq2", prompt=prompt)
    if prompt is None:
        del params["prompt"]
    assert set(validate(mode, params)) == {"prompt"}


@pytest.mark.parametrize("mode", [IMAGE, START_END])
def test_prompt_optional_for_frames(mode):
    params = body(mode, "viduq1")
    del params["prompt"]
    assert validate(mode, params) == {}
    assert validate(mode, {**params, "prompt": ""}) == {}


@pytest.mark.parametrize(("length", "ok"), [(1999, True), (2000, True), (2001, False), (5000, False)])
def test_prompt_limit_is_2000_characters(length, ok):
    errors = validate(TEXT, body(TEXT, "viduq2", prompt="x" * length))
    assert (errors == {}) is ok
    if not ok:
        assert "2000" in errors["prompt"]


def test_prompt_must_be_text():
    assert "prompt" in validate(TEXT, body(TEXT, "viduq2", prompt=["a", "b"]))


@pytest.mark.parametrize("ratio", ["16:9", "9:16", "1:1", "3:4", "4:3"])
def test_aspect_ratio_for_text_and_reference(ratio):
    assert validate(TEXT, body(TEXT, "viduq2", aspect_ratio=ratio)) == {}
    assert validate(REFERENCE, body(REFERENCE, "viduq2", aspect_ratio=ratio)) == {}


@pytest.mark.parametrize("mode", [IMAGE, START_END])
def test_aspect_ratio_refused_where_the_image_decides(mode):
    assert set(validate(mode, body(mode, "viduq1", aspect_ratio="16:9"))) == {"aspect_ratio"}


@pytest.mark.parametrize("ratio", ["2:1", "16/9", "", 1.78])
def test_unknown_aspect_ratio(ratio):
    assert set(validate(TEXT, body(TEXT, "viduq2", aspect_ratio=ratio))) == {"aspect_ratio"}


@pytest.mark.parametrize("flag", ["bgm", "audio", "off_peak", "watermark"])
@pytest.mark.parametrize(("value", "ok"), [(True, True), (False, True), ("true", False), (1, False), (0, False)])
def test_flags_are_booleans(flag, value, ok):
    errors = validate(TEXT, body(TEXT, "viduq2", **{flag: value}))
    assert (flag not in errors) is ok, errors


def test_q3_takes_no_background_music():
    assert set(validate(TEXT, body(TEXT, "viduq3-pro", bgm=True))) == {"bgm"}
    assert validate(TEXT, body(TEXT, "viduq3-pro", bgm=False)) == {}


@pytest.mark.parametrize(
    ("seed", "ok"),
    [(0, True), (1, True), (2**31 - 1, True), (-1, False), (2**31, False), (True, False), ("5", False), (1.5, False)],
)
def test_seed_range(seed, ok):
    assert ("seed" not in validate(TEXT, body(TEXT, "viduq2", seed=seed))) is ok


@pytest.mark.parametrize(("field", "value"), [("duration", True), ("duration", "5"), ("duration", 5.0),
                                              ("resolution", "720"), ("resolution", 720), ("movement_amplitude", "huge"),
                                              ("style", "noir"), ("payload", 12), ("callback_url", "ftp://x")])
def test_wrong_types_and_values(field, value):
    assert field in validate(TEXT, body(TEXT, "viduq2", **{field: value}))


def test_style_only_for_text():
    assert validate(TEXT, body(TEXT, "viduq2", style="anime")) == {}
    assert "style" in validate(IMAGE, body(IMAGE, "viduq1", style="anime"))


def test_payload_limit_is_one_mebibyte():
    assert validate(TEXT, body(TEXT, "viduq2", payload="x" * 1024 * 1024)) == {}
    assert "payload" in validate(TEXT, body(TEXT, "viduq2", payload="x" * (1024 * 1024 + 1)))


@pytest.mark.parametrize("model", [None, "", "vidu3", 7, ["viduq2"]])
def test_unknown_or_missing_model(model):
    assert "model" in validate(TEXT, body(TEXT, model))


def test_unknown_mode():
    assert set(validate("upscale", {"model": "viduq2"})) == {"mode"}


def test_messages_name_the_limit():
    message = validate(START_END, body(START_END, "viduq2-pro", duration=9))["duration"]
    assert "1 to 8 seconds" in message and "9" in message


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999/x", "ftp://example.org/x", "https://", 42])
def test_an_unusable_callback_url_is_refused(url):
    errors = validate("text2video", {"model": "viduq3-pro", "prompt": "a fox", "callback_url": url})
    assert "callback_url" in errors


@pytest.mark.parametrize("url", ["http://[::1", "https://", "http://exa mple.org/a.png"])
def test_an_unusable_image_url_is_refused(url):
    assert "images" in validate("img2video", {"model": "viduq3-pro", "images": [url]})
