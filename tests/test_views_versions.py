"""Extend and Upscale from a finished video's page (vidu-api.md §2b), and "Let Vidu write the prompt"."""

import re
import uuid

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.studio_helpers import csrf_post, make_task, png, upload
from vidu_web.studio.models import Creation, GenerationTask, State
from vidu_web.teams.models import Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def source(team_a, alice):
    """Alice's finished 5 s 1080p video (its stored copy is 1920×1080)."""
    return make_task(team_a, alice, prompt="a lighthouse at dusk")


def new_tasks(source):
    return GenerationTask.objects.exclude(pk=source.pk)


def post(client, url, data, page):
    return csrf_post(client, url, data, page=page)


# --- extend -----------------------------------------------------------------------------------


def test_a_member_extends_a_teammates_video(bob_client, bob, source):
    page = f"/videos/{source.uuid}/"
    html = bob_client.get(page).content.decode()
    assert f'action="/videos/{source.uuid}/extend/"' in html and 'name="duration"' in html
    response = post(bob_client, f"/videos/{source.uuid}/extend/",
                    {"duration": "3", "resolution": "720p", "prompt": "the light turns on"}, page)
    new = new_tasks(source).get()
    assert response.status_code == 302 and response["Location"] == f"/videos/{new.uuid}/"
    assert (new.mode, new.model, new.duration, new.resolution, new.state) == ("extend", "viduq2-pro", 3, "720p",
                                                                             State.PENDING)
    assert new.source == source and new.creator == bob and new.team == source.team
    assert new.params == {"video_creation_id": source.creations.get().upstream_id}
    assert new.prompt.text == "the light turns on"
    assert f'data-version-of="{source.uuid}"' in bob_client.get(f"/videos/{new.uuid}/").content.decode()
    assert f'data-task-id="{new.uuid}"' in bob_client.get("/tasks/").content.decode()


def test_extend_with_an_end_frame_keeps_it(alice_client, source):
    post(alice_client, f"/videos/{source.uuid}/extend/", {"duration": "2", "resolution": "540p",
                                                          "images": upload(png())}, f"/videos/{source.uuid}/")
    new = new_tasks(source).get()
    assert [(i.position, i.width) for i in new.images.all()] == [(0, 256)]


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"duration": "9", "resolution": "720p"}, "extend-duration-error", "Vidu adds 1 to 7 seconds."),
    ({"duration": "3", "resolution": "360p"}, "extend-resolution-error", "360p"),
    ({"duration": "3", "resolution": "720p", "prompt": "x" * 2001}, "extend-prompt-error", "2000"),
    ({"duration": "3", "resolution": "720p", "images": [upload(png()), upload(png())]}, "extend-images-error",
     "one end frame at most"),
    ({"duration": "3", "resolution": "720p", "images": upload(b"not an image")}, "extend-images-error", "image"),
])
def test_bad_extend_input_shows_beside_its_field_and_makes_nothing(alice_client, source, data, field, words):
    response = post(alice_client, f"/videos/{source.uuid}/extend/", data, f"/videos/{source.uuid}/")
    html = response.content.decode()
    assert response.status_code == 400 and f'id="{field}"' in html and words in html
    assert not new_tasks(source).exists()


@pytest.mark.parametrize(("seconds", "words"), [(3, "4 to 60 seconds long; this one is 3 s"),
                                                (61, "4 to 60 seconds long; this one is 61 s")])
def test_a_video_too_short_or_too_long_is_not_extended(alice_client, team_a, alice, seconds, words):
    short = make_task(team_a, alice, model="viduq3-turbo", duration=5)
    Creation.objects.filter(task=short).update(duration=seconds)
    page = f"/videos/{short.uuid}/"
    assert words in alice_client.get(page).content.decode()
    response = post(alice_client, f"/videos/{short.uuid}/extend/", {"duration": "3", "resolution": "720p"}, page)
    assert response.status_code == 400 and words in response.content.decode()
    assert not new_tasks(short).exists()


def test_an_unfinished_or_foreign_made_video_is_not_extended(alice_client, team_a, alice):
    running = make_task(team_a, alice, state=State.PROCESSING)
    response = post(alice_client, f"/videos/{running.uuid}/extend/", {"duration": "3", "resolution": "720p"},
                    f"/videos/{running.uuid}/")
    assert response.status_code == 400 and "Only a finished video can be extended." in response.content.decode()
    not_vidus = make_task(team_a, alice, with_video=False)
    response = post(alice_client, f"/videos/{not_vidus.uuid}/extend/", {"duration": "3", "resolution": "720p"},
                    f"/videos/{not_vidus.uuid}/")
    assert response.status_code == 400 and "wasn&#x27;t made by Vidu" in response.content.decode()
    assert GenerationTask.objects.count() == 2


# --- an end frame from the team's gallery --------------------------------------------------------


def end_frame_error(response):
    html = response.content.decode()
    start = html.index('id="extend-end-frame-error"')
    return html[start:html.index("</p>", start)]


def test_the_extend_panel_offers_the_posters_of_the_team_videos_one_may_see(bob_client, alice, bob, charlie, team_a,
                                                                           source):
    own_private = make_task(team_a, bob, prompt="bob's private take", is_private=True)
    teammates_private = make_task(team_a, alice, prompt="alice's secret", is_private=True)
    running = make_task(team_a, alice, state=State.PROCESSING)
    elsewhere = make_task(charlie.teams.get(), charlie, prompt="charlie's own")
    html = bob_client.get(f"/videos/{source.uuid}/").content.decode()
    offered = re.findall(r'data-end-frame="([0-9a-f-]{36})"', html)
    assert sorted(offered) == sorted([str(source.uuid), str(own_private.uuid)])
    assert str(teammates_private.uuid) not in html and str(running.uuid) not in html and str(elsewhere.uuid) not in html
    assert 'type="radio" name="end_frame_video" value="" checked' in html  # none by default, by keyboard too


def test_extend_with_an_end_frame_from_the_gallery_copies_its_poster(bob_client, bob, alice, team_a, source):
    other = make_task(team_a, alice, prompt="the harbour at night")
    response = post(bob_client, f"/videos/{source.uuid}/extend/",
                    {"duration": "3", "resolution": "720p", "end_frame_video": str(other.uuid)},
                    f"/videos/{source.uuid}/")
    new = new_tasks(source).exclude(pk=other.pk).get()
    assert response.status_code == 302 and new.source == source and new.mode == "extend"
    image = new.images.get()
    poster = other.creations.get().cover
    assert (image.position, image.mime, image.width) == (0, "image/jpeg", 256)
    assert image.file.name != poster.name, "the new task keeps its own copy of the frame"
    with image.file.open("rb") as mine, poster.open("rb") as theirs:
        assert mine.read() == theirs.read()


def test_an_end_frame_one_cant_see_is_refused_as_if_absent(bob_client, alice, charlie, team_a, source):
    outsiders = make_task(charlie.teams.get(), charlie, prompt="charlie's own")
    private = make_task(team_a, alice, prompt="alice's secret", is_private=True)
    deleted = make_task(team_a, alice, deleted_at=timezone.now())
    page = f"/videos/{source.uuid}/"
    errors = set()
    for value in (outsiders.uuid, private.uuid, deleted.uuid, uuid.uuid4(), "not-a-uuid"):
        response = post(bob_client, f"/videos/{source.uuid}/extend/",
                        {"duration": "3", "resolution": "720p", "end_frame_video": str(value)}, page)
        assert response.status_code == 400
        errors.add(end_frame_error(response))
        # Never served: the refused video's poster is not on the page that answers.
        assert outsiders.creations.get().cover.url not in response.content.decode()
    assert len(errors) == 1 and "isn&#x27;t a video in this team&#x27;s gallery" in errors.pop()
    assert not GenerationTask.objects.filter(mode="extend").exists()


def test_an_unfinished_gallery_video_is_refused_beside_the_picker(alice_client, alice, team_a, source):
    running = make_task(team_a, alice, state=State.PROCESSING)
    # Being saved again (an admin's re-archive): its poster is on disk, but it isn't finished.
    resaving = make_task(team_a, alice)
    GenerationTask.objects.filter(pk=resaving.pk).update(state=State.ARCHIVING)
    for task in (running, resaving):
        response = post(alice_client, f"/videos/{source.uuid}/extend/",
                        {"duration": "3", "resolution": "720p", "end_frame_video": str(task.uuid)},
                        f"/videos/{source.uuid}/")
        assert response.status_code == 400 and "isn&#x27;t finished yet" in end_frame_error(response)
    assert not GenerationTask.objects.filter(mode="extend").exists()


def test_a_poster_that_fails_the_image_checks_is_refused_beside_the_picker(alice_client, alice, team_a, source):
    other = make_task(team_a, alice)
    creation = other.creations.get()
    for cover, words in ((png(64, 64, fmt="JPEG"), "128"), (b"not an image", "image"), (b"", "missing, empty")):
        creation.cover.save("bad.jpg", ContentFile(cover), save=True)
        response = post(alice_client, f"/videos/{source.uuid}/extend/",
                        {"duration": "3", "resolution": "720p", "end_frame_video": str(other.uuid)},
                        f"/videos/{source.uuid}/")
        assert response.status_code == 400 and words in end_frame_error(response), words
    assert not GenerationTask.objects.filter(mode="extend").exists()


def test_an_upload_and_a_gallery_pick_together_are_refused(alice_client, source):
    response = post(alice_client, f"/videos/{source.uuid}/extend/",
                    {"duration": "3", "resolution": "720p", "end_frame_video": str(source.uuid),
                     "images": upload(png())}, f"/videos/{source.uuid}/")
    assert response.status_code == 400 and "not both" in end_frame_error(response)
    assert not new_tasks(source).exists()


# --- the estimate before Generate -------------------------------------------------------------


def test_extend_and_upscale_show_what_they_would_cost_and_reserve_it(alice_client, alice, team_a, source):
    # Earlier versions priced by Vidu: an extension (+5 s at 720p, Extend's defaults) and a 2K upscale.
    make_task(team_a, alice, mode="extend", model="viduq2-pro", duration=5, resolution="720p", credits=33)
    make_task(team_a, alice, mode="extend", model="viduq2-pro", duration=3, resolution="720p", credits=21)
    make_task(team_a, alice, mode="upscale-new", model="", duration=5, resolution="2K", credits=99)
    html = alice_client.get(f"/videos/{source.uuid}/").content.decode()
    assert re.search(r'id="extend-estimate" class="estimate" data-estimate="33"', html)
    assert re.search(r'id="upscale-estimate" class="estimate" data-estimate="99"', html)
    assert 'hx-trigger="vidu:estimate from:#extend-form"' in html and "data-estimate-form" in html
    # htmx asks again when the seconds or the resolution change
    html = alice_client.get(f"/videos/{source.uuid}/extend/estimate/?duration=3&resolution=720p").content.decode()
    assert 'data-estimate="21"' in html and "about 21 credits" in html
    html = alice_client.get(f"/videos/{source.uuid}/extend/estimate/?duration=2&resolution=1080p").content.decode()
    assert 'data-estimate=""' in html and "unknown" in html
    html = alice_client.get(f"/videos/{source.uuid}/upscale/estimate/?upscale_resolution=4K").content.decode()
    assert 'data-estimate=""' in html
    # the figure shown is the one held against the budget
    post(alice_client, f"/videos/{source.uuid}/extend/", {"duration": "3", "resolution": "720p"},
         f"/videos/{source.uuid}/")
    assert GenerationTask.objects.filter(mode="extend").latest("id").estimate == 21


def test_the_panels_show_the_budget_they_come_near(alice_client, alice, team_a, source):
    make_task(team_a, alice, mode="extend", model="viduq2-pro", duration=5, resolution="720p", credits=33)
    team_a.credit_budget = 90  # 40 (the source) + 33 spent: 81 %, past the warning; 33 more would pass it
    team_a.save()
    html = alice_client.get(f"/videos/{source.uuid}/").content.decode()
    panel = html[html.index('id="extend-estimate"'):html.index('id="upscale"')]
    assert 'data-limit-warning="budget"' in panel and "73 of 90 credits" in panel and "won't start" in panel
    html = alice_client.get(f"/videos/{source.uuid}/upscale/estimate/?upscale_resolution=4K").content.decode()
    assert 'data-limit-warning="budget"' in html and "won't start" not in html  # unknown cost, credits left


def test_the_estimates_are_for_members_of_the_videos_team(charlie_client, client, team_a, source, django_user_model):
    for kind in ("extend", "upscale"):
        assert charlie_client.get(f"/videos/{source.uuid}/{kind}/estimate/").status_code == 404
    viewer = django_user_model.objects.create_user("vera", password="pw")
    Membership.objects.create(team=team_a, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)
    for kind in ("extend", "upscale"):
        assert client.get(f"/videos/{source.uuid}/{kind}/estimate/").status_code == 403


# --- upscale ----------------------------------------------------------------------------------


def test_upscale_offers_only_resolutions_above_the_stored_copy(alice_client, source):
    html = alice_client.get(f"/videos/{source.uuid}/").content.decode()
    start = html.index('name="upscale_resolution"')
    options = html[start:html.index("</select>", start)]
    assert 'value="2K"' in options and 'value="4K"' in options and 'value="8K"' in options
    assert 'value="1080p"' not in options  # the copy is 1920×1080


def test_upscale_makes_a_linked_task_without_a_model(alice_client, source):
    response = post(alice_client, f"/videos/{source.uuid}/upscale/", {"upscale_resolution": "4K"},
                    f"/videos/{source.uuid}/")
    new = new_tasks(source).get()
    assert response.status_code == 302 and response["Location"] == f"/videos/{new.uuid}/"
    assert (new.mode, new.model, new.resolution, new.source) == ("upscale-new", "", "4K", source)
    assert new.params == {"video_creation_id": source.creations.get().upstream_id, "upscale_resolution": "4K"}
    html = alice_client.get(f"/videos/{new.uuid}/").content.decode()
    assert f'data-version-of="{source.uuid}"' in html and "Upscaled to" in html


@pytest.mark.parametrize("target", ["1080p", "720p", "16K", ""])
def test_upscale_to_a_resolution_not_above_is_refused_in_words(alice_client, source, target):
    response = post(alice_client, f"/videos/{source.uuid}/upscale/", {"upscale_resolution": target},
                    f"/videos/{source.uuid}/")
    html = response.content.decode()
    assert response.status_code == 400 and 'id="upscale-resolution-error"' in html
    assert not new_tasks(source).exists()


def test_a_small_copy_offers_1080p(alice_client, source):
    Creation.objects.filter(task=source).update(width=320, height=180)
    html = alice_client.get(f"/videos/{source.uuid}/").content.decode()
    assert '<option value="1080p"' in html[html.index('name="upscale_resolution"'):]


def test_upscale_answers_a_too_long_source_in_words(alice_client, source):
    Creation.objects.filter(task=source).update(duration=301)
    response = post(alice_client, f"/videos/{source.uuid}/upscale/", {"upscale_resolution": "4K"},
                    f"/videos/{source.uuid}/")
    assert response.status_code == 400 and "up to 300 seconds long" in response.content.decode()
    assert not new_tasks(source).exists()


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["extend", "upscale"])
def test_outsiders_get_404(charlie_client, source, action):
    data = {"duration": "3", "resolution": "720p", "upscale_resolution": "4K"}
    response = post(charlie_client, f"/videos/{source.uuid}/{action}/", data, "/gallery/")
    assert response.status_code == 404 and not new_tasks(source).exists()


@pytest.mark.parametrize("action", ["extend", "upscale"])
def test_viewers_cant_extend_or_upscale(client, team_a, source, django_user_model, action):
    viewer = django_user_model.objects.create_user("vera", password="pw")
    Membership.objects.create(team=team_a, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)
    html = client.get(f"/videos/{source.uuid}/").content.decode()
    assert "/extend/" not in html and "/upscale/" not in html
    response = client.post(f"/videos/{source.uuid}/{action}/",
                           {"duration": "3", "resolution": "720p", "upscale_resolution": "4K"})
    assert response.status_code == 403 and not new_tasks(source).exists()


@pytest.mark.parametrize("action", ["extend", "upscale"])
def test_a_private_source_only_by_its_creator(alice_client, bob_client, source, action):
    source.is_private = True
    source.save()
    data = {"duration": "3", "resolution": "720p", "upscale_resolution": "4K"}
    assert post(bob_client, f"/videos/{source.uuid}/{action}/", data, "/gallery/").status_code == 404
    assert post(alice_client, f"/videos/{source.uuid}/{action}/", data, "/gallery/").status_code == 302
    assert new_tasks(source).get().is_private, "a private video's new version stays private"


@pytest.mark.parametrize("others", [0, 3])
def test_the_video_page_queries_are_pinned(alice_client, alice, team_a, source, others, django_assert_num_queries):
    for n in range(others):
        make_task(team_a, alice, prompt=f"another {n}")
    alice_client.get(f"/videos/{source.uuid}/")
    # session, user, the task, its membership, its creation, favourite, the family, the creations for
    # the length (comments' time codes), the header's and the switcher's teams, inputs, comments,
    # projects, live share links (14); the versions panel adds 6, whatever the gallery holds: the
    # month's spend for the budget and cap (1), each estimate (2: the team's last match, then the
    # install's, as here) and the gallery's latest posters for the end frame (1)
    with django_assert_num_queries(20):
        alice_client.get(f"/videos/{source.uuid}/")


# --- is_rec -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["text2video", "img2video", "start-end2video", "reference2video"])
def test_is_rec_is_offered_on_the_four_first_wave_modes(alice_client, mode):
    html = alice_client.get(f"/create/?mode={mode}").content.decode()
    assert 'name="is_rec"' in html and "Costs 10 credits more" in html


def test_is_rec_is_sent_only_when_asked(alice_client):
    csrf_post(alice_client, "/create/", {"mode": "text2video", "model": "viduq2", "prompt": "a fox", "is_rec": "on"})
    csrf_post(alice_client, "/create/", {"mode": "text2video", "model": "viduq2", "prompt": "a hare"})
    asked, plain = GenerationTask.objects.order_by("id")
    assert asked.params["is_rec"] is True and "is_rec" not in plain.params


def test_the_video_page_shows_the_prompt_vidu_used(alice_client, team_a, alice):
    task = make_task(team_a, alice, params={"is_rec": True}, prompt_used="A slow dolly shot of a fox")
    html = alice_client.get(f"/videos/{task.uuid}/").content.decode()
    assert "data-prompt-used" in html and "A slow dolly shot of a fox" in html and "Prompt by Vidu" in html
    silent = make_task(team_a, alice, params={"is_rec": True})
    html = alice_client.get(f"/videos/{silent.uuid}/").content.decode()
    assert "data-prompt-used" not in html and "didn't say which it used" in html


junk = st.text(max_size=30) | st.sampled_from(["", "0", "1", "7", "8", "-1", "99999999999999999999", "720p", "2K",
                                                 "8K", "viduq2-pro", "viduq1", "\x00",
                                                 "00000000-0000-0000-0000-000000000000"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=st.sampled_from(["extend", "upscale"]),
       data=st.dictionaries(st.sampled_from(["duration", "resolution", "prompt", "model", "upscale_resolution",
                                             "end_frame_video"]),
                            junk | st.lists(junk, max_size=3), max_size=5))
def test_no_input_to_extend_or_upscale_gives_a_500(alice_client, source, action, data):
    response = post(alice_client, f"/videos/{source.uuid}/{action}/", data, f"/videos/{source.uuid}/")
    assert response.status_code in (302, 400), response.status_code
    assert alice_client.get(f"/videos/{source.uuid}/{action}/estimate/", data).status_code == 200
