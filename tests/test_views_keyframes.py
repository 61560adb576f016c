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


# --- remix: the key images come with their prompts and seconds ----------------------------------


@pytest.fixture
def made(alice_client):
    """A keyframes video made from the form: start 200 px wide, keys 256, 264, 272."""
    csrf_post(alice_client, "/create/", keyframes(3, seconds=[2, 4, 6]))
    return GenerationTask.objects.get()


def remix_of(task, **changes):
    data = {"mode": "multiframe", "model": "viduq2-turbo", "resolution": "540p", "remix": str(task.uuid),
            "key_prompts": ["step 1", "step 2", "step 3"], "key_durations": ["2", "4", "6"],
            "key_kept": ["1", "2", "3"]}
    return {**data, **changes}


def test_a_keyframes_remix_shows_its_keys_with_their_prompts_and_seconds(alice_client, made):
    html = alice_client.get(f"/create/?remix={made.uuid}").content.decode()
    assert 'value="multiframe" checked' in html and f'name="remix" value="{made.uuid}"' in html
    stored = list(made.images.all())
    assert stored[0].file.url in html[html.index('id="id_start_image"'):html.index('class="key-rows"')]
    for n, (prompt, seconds) in enumerate([("step 1", 2), ("step 2", 4), ("step 3", 6)], 1):
        row = html[html.index(f'id="key-image-{n}"'):html.index(f'id="key-seconds-{n}"')]
        assert stored[n].file.url in row and f'name="key_kept" value="{n}"' in row
        assert f'id="key-prompt-{n}" type="text" name="key_prompts" maxlength="2000" value="{prompt}"' in html
        seconds_box = html[html.index(f'id="key-seconds-{n}"'):]
        assert f'<option value="{seconds}" selected>' in seconds_box[:seconds_box.index("</select>")]
    assert 'name="key_kept" value="4"' not in html  # the spare rows keep nothing


def test_a_keyframes_remix_keeps_the_images_in_the_order_the_rows_hold_them(bob_client, made):
    # Bob moved key 3 up to first place ("Up" moves its kept image, prompt and seconds together).
    response = csrf_post(bob_client, "/create/", remix_of(made, key_prompts=["step 3, first", "step 1", "step 2"],
                                                          key_durations=["6", "2", "4"], key_kept=["3", "1", "2"]))
    assert response.status_code == 302
    remix = GenerationTask.objects.exclude(pk=made.pk).get()
    assert (remix.source, remix.creator.username, remix.mode) == (made, "bob", "multiframe")
    assert remix.params == {"key_prompts": ["step 3, first", "step 1", "step 2"], "key_durations": [6, 2, 4]}
    assert [i.width for i in remix.images.all()] == [200, 272, 256, 264]


def test_new_images_replace_the_kept_ones(alice_client, made):
    new_start = upload(png(300, 300), "new-start.png")
    csrf_post(alice_client, "/create/", remix_of(made, start_image=new_start))
    only_start = GenerationTask.objects.exclude(pk=made.pk).get()
    assert [i.width for i in only_start.images.all()] == [300, 256, 264, 272]
    keys = [upload(png(400, 200), "a.png"), upload(png(200, 400), "b.png")]
    csrf_post(alice_client, "/create/", remix_of(made, key_images=keys, key_prompts=["a", "b"],
                                                 key_durations=["3", "3"]))
    new_keys = GenerationTask.objects.exclude(pk__in=[made.pk, only_start.pk]).get()
    assert [i.width for i in new_keys.images.all()] == [200, 400, 200]


def test_a_tampered_order_falls_back_to_the_stored_one(alice_client, made):
    csrf_post(alice_client, "/create/", remix_of(made, key_kept=["1", "1", "99"]))
    assert [i.width for i in GenerationTask.objects.exclude(pk=made.pk).get().images.all()] == [200, 256, 264, 272]


def test_a_bad_keyframes_remix_keeps_its_rows_and_makes_nothing(alice_client, made):
    response = csrf_post(alice_client, "/create/", remix_of(made, key_durations=["2", "9", "6"],
                                                            key_kept=["2", "1", "3"]))
    html = response.content.decode()
    assert 'id="key_durations-error"' in html and "Key 2" in html
    rows = html[html.index('class="key-rows"'):]  # kept in the order posted, as the rows hold them
    assert rows.index(made.images.get(position=2).file.url) < rows.index(made.images.get(position=1).file.url)
    assert GenerationTask.objects.count() == 1


def test_update_options_keeps_the_keys_rows(alice_client, made):
    html = csrf_post(alice_client, "/create/", remix_of(made, key_prompts=["one", "two", "three"],
                                                        _refresh="1")).content.decode()
    assert 'name="key_prompts" maxlength="2000" value="three"' in html and 'name="key_kept" value="3"' in html
    assert GenerationTask.objects.count() == 1


def test_another_teams_keyframes_are_not_remixed(charlie_client, made):
    assert charlie_client.get(f"/create/?remix={made.uuid}").status_code == 404
    response = csrf_post(charlie_client, "/create/", remix_of(made))
    assert response.status_code == 404 and GenerationTask.objects.count() == 1
