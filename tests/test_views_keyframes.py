"""/create/ with mode=multiframe: a start image, then 2-9 key images with their prompts and seconds."""

import pytest

from tests.studio_helpers import csrf_post, png, upload
from tests.test_views_queries import fill
from vidu_web.studio.models import GenerationTask


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def keyframes(keys=2, seconds=None, prompts=None, start=True, **extra):
    data = {"mode": "multiframe", "model": "viduq2-turbo", "resolution": "540p",
            "key_images": [upload(png(256 + n * 8, 256), f"key{n}.png") for n in range(keys)],
            "key_prompts": prompts if prompts is not None else [f"step {n + 1}" for n in range(keys)],
            "key_durations": [str(s) for s in (seconds or [3] * keys)]}
    if start:
        data["start_image"] = upload(png(200, 200), "start.png")
    return {**data, **extra}


def test_the_keyframes_form_follows_the_model_table(alice_client):
    html = alice_client.get("/create/?mode=multiframe").content.decode()
    for name in ("start_image", "key_images", "key_prompts", "key_durations", "model", "resolution"):
        assert f'name="{name}"' in html
    start = html.index('name="model"')
    models = html[start:html.index("</select>", start)]
    assert 'value="viduq2-pro"' in models and 'value="viduq2-turbo"' in models and 'value="viduq2"' not in models
    assert 'value="multiframe" checked' in html and 'name="is_rec"' not in html and 'name="duration"' not in html
    seconds = html[html.index('id="key-seconds-1"'):]
    assert [f'value="{s}"' in seconds[:seconds.index("</select>")] for s in (1, 2, 7, 8)] == [False, True, True, False]


def test_it_creates_a_keyframes_task_with_its_images_in_order(alice_client):
    response = csrf_post(alice_client, "/create/", keyframes(3, seconds=[2, 3, 7]))
    assert response.status_code == 302
    task = GenerationTask.objects.get()
    assert (task.mode, task.model, task.resolution, task.duration) == ("multiframe", "viduq2-turbo", "540p", 12)
    assert task.params == {"key_prompts": ["step 1", "step 2", "step 3"], "key_durations": [2, 3, 7]}
    assert [(i.position, i.width) for i in task.images.all()] == [(0, 200), (1, 256), (2, 264), (3, 272)]


def test_spare_rows_left_empty_are_dropped(alice_client):
    csrf_post(alice_client, "/create/", keyframes(2, prompts=["a", "b", "", ""], seconds=[3, 4, 5, 5]))
    assert GenerationTask.objects.get().params["key_durations"] == [3, 4]


@pytest.mark.parametrize(("data", "field", "words"), [
    (keyframes(1), "key_images-error", "2 to 9 key images"),
    (keyframes(2, seconds=[3, 8]), "key_durations-error", "Key 2"),
    (keyframes(2, seconds=[1, 3]), "key_durations-error", "2 to 7 seconds"),
    (keyframes(2, seconds=["x", 3]), "key_durations-error", "whole number"),
    (keyframes(2, start=False), "start_image-error", "start image"),
    (keyframes(2, start_image=upload(png(64, 64), "tiny.png")), "start_image-error", "128"),
    (keyframes(2, prompts=["a", "b", "c"]), "key_images-error", "no key image"),
    (keyframes(2, prompts=["a", "x" * 2001]), "key_prompts-error", "Key 2"),
])
def test_bad_keyframes_show_beside_their_field_and_create_nothing(alice_client, data, field, words):
    response = csrf_post(alice_client, "/create/", data)
    html = response.content.decode()
    assert f'id="{field}"' in html and words in html, html[html.find("error"):][:600]
    assert not GenerationTask.objects.exists()


def test_a_bad_key_image_is_named(alice_client):
    data = keyframes(3)
    data["key_images"][1] = upload(b"not an image", "broken.png")
    html = csrf_post(alice_client, "/create/", data).content.decode()
    assert 'id="key_images-error"' in html and "Key image 2" in html
    assert not GenerationTask.objects.exists()


def test_too_many_files_are_refused_before_they_are_read(alice_client):
    html = csrf_post(alice_client, "/create/", keyframes(10)).content.decode()  # 11 files
    assert 'id="key_images-error"' in html and not GenerationTask.objects.exists()


def test_nine_keys_are_fine(alice_client):
    csrf_post(alice_client, "/create/", keyframes(9, seconds=[2] * 9))
    assert GenerationTask.objects.get().images.count() == 10


def test_the_keyframes_page_runs_as_many_queries_as_any_create_page(alice_client, alice, team_a,
                                                                    django_assert_num_queries):
    fill(team_a, [alice], 3)  # finished and running tasks in Recent, as the /create/ pin has
    alice_client.get("/create/?mode=multiframe")
    with django_assert_num_queries(11):  # as tests/test_views_queries.py pins /create/
        alice_client.get("/create/?mode=multiframe")


def test_switching_to_keyframes_says_what_changed(alice_client):
    response = alice_client.get("/create/params/?mode=multiframe&model=viduq2&duration=9&resolution=1080p")
    html = response.content.decode()
    assert response.status_code == 200 and "Vidu Q2 doesn&#x27;t make keyframes" in html
    assert 'name="duration"' not in html and "Length:" not in html  # each key brings its own seconds
