"""/create/: the form follows mode and model, creates a task, and shows errors beside fields."""

import pytest

from tests.studio_helpers import HTMX, csrf_post, make_task, png, upload
from tests.test_images import forged_png
from vidu_web.studio.models import GenerationTask, Prompt, State, TaskImage
from vidu_web.teams.models import Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_it_shows_the_form_with_vidus_field_names(alice_client):
    html = alice_client.get("/create/").content.decode()
    for name in ("mode", "prompt", "model", "duration", "resolution", "aspect_ratio", "seed", "audio", "off_peak", "watermark", "images"):
        assert f'name="{name}"' in html
    assert 'value="text2video" checked' in html


def test_it_requires_sign_in(client, db):
    response = client.get("/create/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_creates_a_text_task_with_json_types(alice_client, alice, team_a):
    response = csrf_post(alice_client, "/create/", {
        "mode": "text2video", "prompt": "a fox in snow", "model": "viduq2", "duration": "8", "resolution": "1080p",
        "aspect_ratio": "9:16", "seed": "42", "bgm": "on", "off_peak": "on",
    })
    assert response.status_code == 302 and response["Location"] == "/create/"
    task = GenerationTask.objects.get()
    assert (task.team, task.creator, task.mode, task.model, task.duration, task.resolution) == (
        team_a, alice, "text2video", "viduq2", 8, "1080p")
    assert task.prompt.text == "a fox in snow"
    assert task.params == {"aspect_ratio": "9:16", "seed": 42, "bgm": True, "audio": False, "off_peak": True, "watermark": False}


def test_htmx_submit_returns_the_new_card_with_its_progress_bar(alice_client):
    response = csrf_post(alice_client, "/create/", {"mode": "text2video", "prompt": "waves", "model": "viduq1"}, **HTMX)
    task = GenerationTask.objects.get()
    html = response.content.decode()
    assert f'data-task-id="{task.uuid}"' in html and 'data-state="pending"' in html
    assert 'role="progressbar"' in html and "aria-valuenow=" in html
    assert 'hx-swap-oob="afterbegin:#task-list"' in html
    assert 'id="poller" hx-swap-oob="true" hx-get="/tasks/progress/"' in html
    assert 'id="create-form"' in html  # the form stays, with what was typed
    assert ">waves</textarea>" in html


def test_it_creates_an_image_task_with_its_image(alice_client):
    csrf_post(alice_client, "/create/", {"mode": "img2video", "model": "viduq2-pro", "images": upload(png())})
    task = GenerationTask.objects.get()
    image = TaskImage.objects.get(task=task)
    assert (image.mime, image.width, image.height) == ("image/png", 256, 256)
    assert "aspect_ratio" not in task.params  # follows the image in this mode


def test_start_end_frames_keep_their_order(alice_client):
    first, last = upload(png(color=(255, 0, 0)), "a.png"), upload(png(color=(0, 0, 255)), "b.png")
    csrf_post(alice_client, "/create/", {"mode": "start-end2video", "model": "viduq1", "images": [first, last]})
    images = list(TaskImage.objects.order_by("position"))
    assert [i.position for i in images] == [0, 1]
    from PIL import Image

    with images[0].file.open("rb") as fh:
        assert Image.open(fh).getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize("data, field, words", [
    ({"mode": "text2video", "model": "viduq1", "prompt": ""}, "prompt", "needs a prompt"),
    ({"mode": "text2video", "model": "viduq1", "prompt": "x" * 2001}, "prompt", "at most 2000"),
    ({"mode": "text2video", "model": "viduq1", "prompt": "x", "duration": "7"}, "duration", "valid choice"),
    ({"mode": "img2video", "model": "viduq1"}, "images", "exactly one image"),
    ({"mode": "reference2video", "model": "viduq1", "prompt": "x"}, "images", "1 to 7 images"),
])
def test_bad_values_show_beside_their_field_and_create_nothing(alice_client, data, field, words):
    response = csrf_post(alice_client, "/create/", data)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="{field}-error"' in html and words in html
    assert not GenerationTask.objects.exists() and not Prompt.objects.exists()


@pytest.mark.parametrize("seed", ["abc", "-5", "1.5", "2147483648"])
def test_every_bad_seed_gets_the_same_message(alice_client, seed):
    response = csrf_post(alice_client, "/create/", {"mode": "text2video", "model": "viduq1", "prompt": "x", "seed": seed})
    html = response.content.decode()
    assert '<p class="error" id="seed-error">The seed must be a whole number from 0 to 2147483647; leave it empty for a random one.</p>' in html
    assert not GenerationTask.objects.exists()


@pytest.mark.parametrize("blob, words", [
    (b"not an image at all", "a png, jpeg or webp file we can read"),
    (png(64, 64), "at least 128x128"),
    (png(1000, 200), "within 1:4"),
    (png(1000, 100), "at least 128 pixels (at least 128x128) and its sides must be within 1:4"),
    (png(fmt="GIF"), "use png, jpeg or webp"),
    (forged_png(7000, 7000), "too large (7000x7000 pixels)"),  # 69 bytes that claim 49 megapixels
    (forged_png(1000, 1000), "a png, jpeg or webp file we can read"),  # a header without its pixels
])
def test_bad_files_show_beside_the_images_and_create_nothing(alice_client, blob, words):
    response = csrf_post(alice_client, "/create/", {"mode": "img2video", "model": "viduq1", "images": upload(blob)})
    html = response.content.decode()
    assert 'id="images-error"' in html and words in html
    assert not GenerationTask.objects.exists() and not TaskImage.objects.exists()


def test_a_bad_file_among_several_is_named(alice_client):
    images = [upload(png(256, 256)), upload(png(50, 50))]
    response = csrf_post(alice_client, "/create/", {"mode": "start-end2video", "model": "viduq1", "images": images})
    assert "Image 2 is 50x50 pixels" in response.content.decode() and not GenerationTask.objects.exists()


def test_a_too_big_file_is_refused(alice_client, settings):
    settings.UPLOAD_MAX_BYTES = 100
    response = csrf_post(alice_client, "/create/", {"mode": "img2video", "model": "viduq1", "images": upload(png())})
    assert "larger than" in response.content.decode() and not GenerationTask.objects.exists()


def test_frames_of_different_shapes_are_refused(alice_client):
    frames = [upload(png(256, 256)), upload(png(512, 256))]
    response = csrf_post(alice_client, "/create/", {"mode": "start-end2video", "model": "viduq1", "images": frames})
    assert "same shape" in response.content.decode() and not GenerationTask.objects.exists()


def test_errors_keep_what_was_typed(alice_client):
    response = csrf_post(alice_client, "/create/", {
        "mode": "text2video", "model": "viduq2", "prompt": "keep me", "duration": "8", "seed": "oops", "aspect_ratio": "1:1"})
    html = response.content.decode()
    assert ">keep me</textarea>" in html and 'value="oops"' in html
    assert '<option value="8" selected>' in html and '<option value="1:1" selected>' in html


def test_it_refuses_a_post_without_csrf_token(alice_client):
    response = alice_client.post("/create/", {"mode": "text2video", "model": "viduq1", "prompt": "x"})
    assert response.status_code == 403 and not GenerationTask.objects.exists()


def test_viewers_cant_create_and_are_told_why(alice, team_a, client, django_user_model):
    viewer = django_user_model.objects.create_user("vera", password="pw")
    Membership.objects.create(team=team_a, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)
    assert "You&#x27;re a viewer" in client.get("/create/").content.decode()
    response = client.post("/create/", {"mode": "text2video", "model": "viduq1", "prompt": "x"})
    assert response.status_code == 403 and not GenerationTask.objects.exists()


def test_update_options_without_js_creates_nothing(alice_client):
    response = csrf_post(alice_client, "/create/", {"mode": "img2video", "model": "viduq1", "prompt": "hi", "_refresh": "1"})
    html = response.content.decode()
    assert 'value="img2video" checked' in html and ">hi</textarea>" in html
    assert not GenerationTask.objects.exists()


def test_the_model_list_follows_the_mode(alice_client):
    html = alice_client.get("/create/params/?mode=img2video", **HTMX).content.decode()
    assert 'value="viduq2-pro"' in html and 'value="viduq2"' not in html
    assert 'name="aspect_ratio"' not in html  # follows the image
    html = alice_client.get("/create/params/?mode=text2video", **HTMX).content.decode()
    assert 'value="viduq2"' in html and 'value="viduq2-pro"' not in html and 'name="aspect_ratio"' in html


def test_the_prompt_note_keeps_its_style_when_the_mode_changes(alice_client):
    # the note beside "Prompt" is swapped out of band: it must come back with its class,
    # else it reads "Prompt optional" in the label's bold, with no gap
    for mode, note in (("img2video", "optional"), ("text2video", "required")):
        html = alice_client.get(f"/create/params/?mode={mode}", **HTMX).content.decode()
        assert f'<span class="label-note" id="prompt-required" hx-swap-oob="true">{note}</span>' in html


def test_the_params_listener_disables_nothing(alice_client):
    # it sits inside the form, whose hx-disabled-elt would be inherited and find no button
    # from the hidden span: htmx logs an error on every mode change
    html = alice_client.get("/create/").content.decode()
    assert 'hx-sync="this:replace" hx-disabled-elt="unset"' in html


def test_duration_and_resolution_follow_the_model(alice_client):
    html = alice_client.get("/create/params/?mode=img2video&model=vidu2.0&duration=8&resolution=1080p").content.decode()
    assert '<option value="4">4 s</option>' in html and '<option value="8" selected>' in html
    assert '<option value="720p" selected>' in html and 'value="1080p"' not in html
    html = alice_client.get("/create/params/?mode=img2video&model=viduq3-pro").content.decode()
    assert 'name="bgm"' not in html and 'name="movement_amplitude"' not in html  # q3 takes neither
    html = alice_client.get("/create/params/?mode=img2video&model=viduq1").content.decode()
    assert 'name="bgm"' in html and 'name="movement_amplitude"' in html


def test_params_fragment_survives_junk(alice_client):
    response = alice_client.get("/create/params/?mode=%00&model=nope&duration=x&resolution=9999p")
    assert response.status_code == 200 and 'value="viduq3-pro"' in response.content.decode()


def test_remix_prefills_the_form_and_reuses_the_images(alice_client, alice, bob, team_a):
    source = make_task(team_a, bob, mode="img2video", model="viduq2-pro", prompt="bob's shot", duration=6,
                       resolution="540p", params={"movement_amplitude": "large", "seed": 7}, seed_used=7)
    image = TaskImage(task=source, position=0, mime="image/png", width=256, height=256)
    from django.core.files.base import ContentFile

    image.file.save("src.png", ContentFile(png(color=(1, 2, 3))), save=True)
    html = alice_client.get(f"/create/?remix={source.uuid}").content.decode()
    assert ">bob&#x27;s shot</textarea>" in html and 'value="img2video" checked' in html
    assert '<option value="6" selected>' in html and '<option value="540p" selected>' in html
    assert f'name="remix" value="{source.uuid}"' in html and image.file.url in html
    response = csrf_post(alice_client, "/create/", {
        "mode": "img2video", "model": "viduq2-pro", "prompt": "bob's shot, remixed", "remix": str(source.uuid)})
    assert response.status_code == 302
    task = GenerationTask.objects.exclude(pk=source.pk).get()
    assert task.creator == alice and task.images.count() == 1


def test_remix_of_another_teams_task_is_404(charlie_client, alice, team_a):
    source = make_task(team_a, alice)
    assert charlie_client.get(f"/create/?remix={source.uuid}").status_code == 404
    assert charlie_client.get("/create/?remix=not-a-uuid").status_code == 404


# --- what a mode or model change did, seeds on remix, edit, style ---------------------------------


def test_switching_model_says_which_fields_changed_and_why(alice_client):
    html = alice_client.get("/create/params/?mode=text2video&model=viduq1&duration=16&resolution=720p", **HTMX).content.decode()
    assert "data-param-changes" in html and "Changed to fit Vidu Q1" in html
    assert "Length: Vidu Q1 makes text to video clips of 5 seconds, so 16 s became 5 s." in html
    assert "Resolution: Vidu Q1 at 5 s comes in 1080p, so 720p became 1080p." in html


def test_switching_to_a_model_without_music_or_movement_says_so(alice_client):
    html = alice_client.get("/create/params/?mode=text2video&model=viduq3-pro&bgm=on&movement_amplitude=large").content.decode()
    assert "Background music: Vidu Q3 Pro doesn&#x27;t add it, so it is off." in html
    assert "Movement: Vidu Q3 Pro doesn&#x27;t take it, so it is left out." in html


def test_a_change_that_keeps_everything_says_nothing(alice_client):
    html = alice_client.get("/create/params/?mode=text2video&model=viduq3-pro&duration=8&resolution=1080p").content.decode()
    assert "data-param-changes" not in html


def test_update_options_without_js_says_what_changed(alice_client):
    response = csrf_post(alice_client, "/create/", {"mode": "text2video", "model": "viduq1", "duration": "16",
                                                    "resolution": "1080p", "prompt": "hi", "_refresh": "1"})
    assert "so 16 s became 5 s" in response.content.decode() and not GenerationTask.objects.exists()


def test_text_mode_leaves_picked_images_out_and_says_so(alice_client):
    # a file input hidden by the mode switch must never block the submit
    response = csrf_post(alice_client, "/create/", {"mode": "text2video", "model": "viduq1", "prompt": "waves",
                                                    "images": upload(png())}, **HTMX)
    html = response.content.decode()
    task = GenerationTask.objects.get()
    assert task.images.count() == 0 and f'data-task-id="{task.uuid}"' in html
    assert "Text to video takes no images, so the one you picked was left out." in html


def test_remix_starts_with_a_new_seed_and_reuse_is_one_click_away(alice_client, alice, team_a):
    source = make_task(team_a, alice, params={"seed": 0}, seed_used=4242)
    html = alice_client.get(f"/create/?remix={source.uuid}").content.decode()
    assert 'name="seed" type="text" inputmode="numeric" placeholder="Random" value=""' in html
    assert 'data-reuse-seed="4242"' in html and f'href="/create/?remix={source.uuid}&amp;seed=reuse"' in html
    assert "<h1 id=\"create-title\">Remix a video</h1>" in html
    html = alice_client.get(f"/create/?remix={source.uuid}&seed=reuse").content.decode()
    assert 'placeholder="Random" value="4242"' in html


@pytest.mark.parametrize("state", [State.FAILED, State.CANCELLED])
def test_edit_of_a_failed_task_is_titled_edit_and_try_again(alice_client, alice, team_a, state):
    source = make_task(team_a, alice, state=state, params={"seed": 77}, error="Vidu said no.")
    html = alice_client.get(f"/create/?remix={source.uuid}").content.decode()
    assert '<h1 id="create-title">Edit and try again</h1>' in html and "Remix a video" not in html
    assert "<title>Edit and try again" in html
    assert 'placeholder="Random" value="77"' in html  # trying again keeps the seed asked for


def test_style_is_offered_where_the_model_takes_it(alice_client):
    html = alice_client.get("/create/params/?mode=text2video&model=viduq1").content.decode()
    assert 'name="style"' in html and '<option value="anime">Anime</option>' in html
    for query in ("mode=text2video&model=viduq2", "mode=img2video&model=viduq1"):
        assert 'name="style"' not in alice_client.get(f"/create/params/?{query}").content.decode()
    csrf_post(alice_client, "/create/", {"mode": "text2video", "model": "viduq1", "prompt": "x", "style": "anime"})
    assert GenerationTask.objects.get().params["style"] == "anime"


# --- upload caps (issue 8, item 18) ---------------------------------------------------------------


def test_more_files_than_any_mode_takes_get_a_message_not_a_400(alice_client, settings):
    files = [upload(png(), f"f{n}.png") for n in range(settings.UPLOAD_MAX_FILES + 3)]
    response = csrf_post(alice_client, "/create/", {"mode": "reference2video", "model": "viduq1", "prompt": "typed",
                                                    "images": files})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="images-error"' in html
    most = settings.UPLOAD_MAX_FILES  # 10: keyframes' start image and 9 keys
    assert f"You sent {most + 3} images; no mode takes more than {most}." in html and ">typed</textarea>" in html
    assert not GenerationTask.objects.exists() and not TaskImage.objects.exists()


def test_a_request_over_the_total_cap_keeps_no_file(alice_client, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 50_000
    files = [upload(png(256, 256, color=(n, 0, 0)) + bytes(20_000), f"f{n}.png") for n in range(3)]
    response = csrf_post(alice_client, "/create/", {"mode": "reference2video", "model": "viduq1", "prompt": "x",
                                                    "images": files})
    assert "The images add up to more than" in response.content.decode()
    assert not GenerationTask.objects.exists()


def test_extra_files_are_refused_before_any_is_read(alice_client, monkeypatch):
    from django.core.files.uploadedfile import InMemoryUploadedFile

    from vidu_web.vidu import images

    opened = []
    monkeypatch.setattr(images, "inspect", lambda data: opened.append(data))
    # the files as the server received them (the test client's own SimpleUploadedFile is a subclass)
    server_side = lambda f: type(f) is InMemoryUploadedFile  # noqa: E731
    monkeypatch.setattr(InMemoryUploadedFile, "read", property(lambda f: server_side(f) and opened.append(f.name) or f.file.read))
    response = csrf_post(alice_client, "/create/", {"mode": "img2video", "model": "viduq1",
                                                    "images": [upload(png()), upload(png()), upload(png())]})
    assert "needs exactly one image; got 3" in response.content.decode()
    assert opened == [] and not GenerationTask.objects.exists()


def test_the_upload_cap_follows_the_catalog(settings):
    from vidu_web.vidu import catalog

    most = max(spec.image_count(mode)[1] for mode in catalog.MODES for spec in catalog.models_for(mode))
    keyframes = 1 + catalog.MULTIFRAME_KEYS[1]  # the start image and the most key images
    assert settings.UPLOAD_MAX_FILES == max(most, keyframes)
