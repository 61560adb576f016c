"""Random input at /create/: never a 500, and either a whole task or nothing at all."""

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.studio_helpers import csrf_post, png, upload
from vidu_web.studio.models import GenerationTask, Prompt, TaskImage
from vidu_web.vidu import catalog

text = st.text(max_size=40)
maybe = lambda values: st.one_of(st.sampled_from(values), text)  # noqa: E731

files = st.one_of(
    st.binary(max_size=300).map(lambda b: upload(b, "junk.png")),
    st.tuples(st.integers(1, 700), st.integers(1, 700), st.sampled_from(["PNG", "JPEG", "GIF", "WEBP"])).map(
        lambda t: upload(png(t[0], t[1], fmt=t[2]), f"img.{t[2].lower()}")
    ),
)

form = st.fixed_dictionaries(
    {},
    optional={
        "mode": maybe(list(catalog.CREATE_MODES)),
        "model": maybe(list(catalog.MODELS)),
        "prompt": st.one_of(st.text(max_size=80), st.just("x" * 2001)),
        "duration": maybe(["1", "4", "5", "8", "10", "16", "-1", "1e3", "99999999999999999999"]),
        "resolution": maybe(list(catalog.RESOLUTIONS)),
        "aspect_ratio": maybe(list(catalog.ASPECT_RATIOS)),
        "movement_amplitude": maybe(list(catalog.MOVEMENTS)),
        "seed": maybe(["0", "1", "2147483647", "2147483648", "-5", "99999999999999999999999"]),
        "bgm": maybe(["on", "true", ""]),
        "audio": maybe(["on", "false"]),
        "off_peak": maybe(["on"]),
        "watermark": maybe(["on"]),
        "_refresh": st.just("1"),
        "images": st.lists(files, max_size=3),
        "is_rec": maybe(["on"]),
        "start_image": st.lists(files, max_size=2),
        "key_images": st.lists(files, max_size=3),
        "key_prompts": st.lists(st.text(max_size=20) | st.just("x" * 2001), max_size=4),
        "key_durations": st.lists(st.sampled_from(["2", "5", "7", "1", "8", "x", "", "99999999999999999999"]), max_size=4),
    },
)




@st.composite
def nearly_valid(draw):
    """A valid request for a random mode and model, with one field sometimes spoiled."""
    mode = draw(st.sampled_from(list(catalog.MODES)))
    spec = draw(st.sampled_from(catalog.models_for(mode)))
    duration = draw(st.sampled_from(spec.durations_for(mode)))
    low, high = spec.image_count(mode)
    data = {
        "mode": mode, "model": spec.name, "prompt": draw(st.text(min_size=1, max_size=60)),
        "duration": str(duration), "resolution": draw(st.sampled_from(spec.resolutions_for(duration))),
        "images": [upload(png(200 + 10 * n, 200)) for n in range(draw(st.integers(low, high)))],
    }
    if draw(st.booleans()):
        field = draw(st.sampled_from(["mode", "model", "duration", "resolution", "prompt", "seed", "images", "remix"]))
        data[field] = draw(text)
    return data


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.one_of(form, nearly_valid()))
def test_random_input_never_500s_nor_half_makes_a_task(alice_client, data):
    response = csrf_post(alice_client, "/create/", data)
    event(f"status {response.status_code}")
    # Alice may create, and csrf_post sends the token: a 403 means the form was never tried.
    assert response.status_code in (200, 302, 404), response.status_code
    assert Prompt.objects.count() == GenerationTask.objects.count()
    for task in GenerationTask.objects.prefetch_related("images"):
        low, high = catalog.MODELS[task.model].image_count(task.mode)
        assert low <= len(task.images.all()) <= high
        assert not catalog.validate(task.mode, {"model": task.model, "duration": task.duration,
                                                "resolution": task.resolution, "prompt": task.prompt.text,
                                                "images": ["https://x.invalid/i.png"] * len(task.images.all()),
                                                **task.params})
    if response.status_code == 200 and "_refresh" not in data:
        assert 'class="error"' in response.content.decode() or 'alert-error' in response.content.decode()
    assert TaskImage.objects.filter(task__isnull=True).count() == 0
