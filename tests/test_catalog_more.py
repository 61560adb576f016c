"""The second-wave rules of the model table (vidu-api.md §2b), written out here from the document."""

import pytest

from vidu_web.vidu import catalog
from vidu_web.vidu.bodies import ExtendRequest, KeyFrame, MultiframeRequest, UpscaleRequest
from vidu_web.vidu.catalog import check_source, check_upscale, upscale_choices, validate

URL = "https://example.com/frame.png"


def test_extend_and_keyframes_are_rows_of_the_same_table():
    assert [m.name for m in catalog.models_for("extend")] == ["viduq2-pro", "viduq2-turbo"]
    assert [m.name for m in catalog.models_for("multiframe")] == ["viduq2-pro", "viduq2-turbo"]
    spec = catalog.MODELS["viduq2-pro"]
    assert spec.durations_for("extend") == tuple(range(1, 8))
    assert spec.durations_for("multiframe") == tuple(range(2, 8))


@pytest.mark.parametrize(("seconds", "ok"), [(3.9, False), (4, True), (60, True), (60.5, False)])
def test_extend_source_length(seconds, ok):
    assert (check_source("extend", seconds) == {}) is ok


@pytest.mark.parametrize(("seconds", "fps", "ok"), [(300, 24, True), (301, 24, False), (10, 59.9, True), (10, 60, False)])
def test_upscale_source_limits(seconds, fps, ok):
    assert (check_source("upscale-new", seconds, fps) == {}) is ok


@pytest.mark.parametrize(("side", "choices"), [(0, ["1080p", "2K", "4K", "8K"]), (180, ["1080p", "2K", "4K", "8K"]),
                                               (720, ["1080p", "2K", "4K", "8K"]), (1080, ["2K", "4K", "8K"]),
                                               (2160, ["8K"]), (4320, [])])
def test_upscale_offers_only_resolutions_above_the_source(side, choices):
    assert upscale_choices(side) == choices
    for name in catalog.UPSCALE_RESOLUTIONS:
        assert (check_upscale(name, side) == {}) is (name in choices)


def test_frame_side_is_the_short_side():
    assert catalog.frame_side(1080, 1920) == 1080 and catalog.frame_side(None, 720) == 0


def test_typed_requests_make_valid_bodies():
    extend = ExtendRequest(model="viduq2-pro", duration=3, resolution="1080p", video_creation_id="42",
                           video_url="https://example.com/v.mp4", prompt="on", end_frame=URL, payload="p")
    body = extend.body()
    assert body["video_creation_id"] == "42" and "video_url" not in body, "the id wins"
    assert body["images"] == [URL] and validate("extend", body) == {}
    upscale = UpscaleRequest("4K", video_creation_id="42").body()
    assert upscale == {"video_creation_id": "42", "upscale_resolution": "4K"} and validate("upscale-new", upscale) == {}
    keys = (KeyFrame(URL, "a", 2), KeyFrame(URL, "", 7))
    multi = MultiframeRequest(model="viduq2-turbo", start_image=URL, keys=keys, resolution="540p").body()
    assert multi["image_settings"] == [{"key_image": URL, "duration": 2, "prompt": "a"}, {"key_image": URL, "duration": 7}]
    assert validate("multiframe", multi) == {}
    with pytest.raises(ValueError):
        UpscaleRequest("2K").body()


def test_is_rec_only_on_the_first_wave_modes():
    assert validate("text2video", {"model": "viduq2", "prompt": "a", "is_rec": True}) == {}
    assert "is_rec" in validate("extend", {"model": "viduq2-pro", "video_creation_id": "1", "is_rec": True})
    assert "is_rec" in validate("text2video", {"model": "viduq2", "prompt": "a", "is_rec": 1})


def test_keyframe_errors_name_the_key_and_the_field():
    body = {"model": "viduq2-pro", "start_image": URL,
            "image_settings": [{"key_image": URL, "duration": 5}, {"key_image": "nope", "duration": 9}]}
    errors = validate("multiframe", body)
    assert errors["image_settings.key_image"].startswith("Key 2")
    assert errors["image_settings.duration"].startswith("Key 2") and "2 to 7" in errors["image_settings.duration"]
