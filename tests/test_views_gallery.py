"""/gallery/ and /videos/<uuid>/: the team's shared videos, favourites, privacy, delete, media."""

import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from tests.studio_helpers import HTMX, VIDEO_BYTES, csrf_post, make_task
from vidu_web.studio.models import Favorite, State
from vidu_web.teams.models import Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def tile_ids(html):
    return re.findall(r'<article class="tile [^"]*" data-task-id="([0-9a-f-]{36})"', html)


def test_the_gallery_shows_the_teams_finished_videos(alice_client, alice, bob, charlie, team_a):
    mine, bobs = make_task(team_a, alice), make_task(team_a, bob)
    make_task(team_a, bob, state=State.PROCESSING)
    make_task(team_a, bob, is_private=True)
    make_task(team_a, bob, deleted_at=timezone.now())
    make_task(charlie.teams.get(), charlie)
    html = alice_client.get("/gallery/").content.decode()
    assert sorted(tile_ids(html)) == sorted([str(mine.uuid), str(bobs.uuid)])
    creation = mine.creations.get()
    assert f'<video src="/media/{creation.video.name}" poster="/media/{creation.cover.name}" preload="none"' in html


def test_my_private_videos_are_in_my_gallery_only(alice_client, bob_client, alice, team_a):
    private = make_task(team_a, alice, is_private=True)
    shared = make_task(team_a, alice)
    assert str(private.uuid) in alice_client.get("/gallery/").content.decode()
    assert tile_ids(bob_client.get("/gallery/").content.decode()) == [str(shared.uuid)]
    assert bob_client.get(f"/videos/{private.uuid}/").status_code == 404


@pytest.mark.parametrize("query, expected", [
    ("q=FOX", ["fox"]),
    ("creator=bob", ["owl"]),
    ("mode=img2video", ["owl"]),
    ("model=viduq2", ["owl"]),
    ("when=today", ["fox", "owl"]),
    ("favorites=1", ["fox"]),
    ("q=zebra", []),
    ("mode=bogus&model=%00&when=x&page=abc", []),
])
def test_search_and_filters(alice_client, alice, bob, team_a, query, expected):
    fox = make_task(team_a, alice, prompt="a red fox")
    owl = make_task(team_a, bob, prompt="an owl", mode="img2video", model="viduq2")
    make_task(team_a, alice, prompt="old cat", created_at=timezone.now() - timedelta(days=40))
    Favorite.objects.create(user=alice, task=fox)
    names = {str(fox.uuid): "fox", str(owl.uuid): "owl"}
    response = alice_client.get(f"/gallery/?{query}")
    assert response.status_code == 200
    found = [names.get(i, "other") for i in tile_ids(response.content.decode())]
    if query.startswith("mode=bogus"):
        assert set(found) == {"fox", "owl", "other"}  # junk filters are ignored, never a 500
    else:
        assert sorted(found) == expected


@pytest.mark.parametrize("query, expected", [
    ("FOX snow", ["fox"]),  # every word, in any order, any case
    ("snow fox", ["fox"]),
    ("fox owl", []),  # every word must match, not any
    ("cafe", ["cafe"]),  # accents aside, both ways
    ("CAFÉ crème", ["cafe"]),
    ("Søren", ["soren"]),
    ("  trots   ", ["fox"]),
    ("100%", ["percent"]),  # % and _ are matched as typed, not as wildcards
    ("a_b", ["underscore"]),
    ("10", ["percent"]),
])
def test_search_matches_every_word_ignoring_case_and_accents(alice_client, alice, team_a, query, expected):
    prompts = {"fox": "A red fox trots through the snow", "owl": "An owl at night", "cafe": "Un café crème au soleil",
               "soren": "soren walks by the fjord", "percent": "Loading bar at 100% then done",
               "underscore": "the file a_b on screen", "other": "aXb and 50 percent"}
    names = {str(make_task(team_a, alice, prompt=text).uuid): name for name, text in prompts.items()}
    html = alice_client.get("/gallery/", {"q": query}).content.decode()
    assert sorted(names[i] for i in tile_ids(html)) == sorted(expected)


def test_search_on_sqlite_folds_accents_like_postgresql():
    from vidu_web.studio.search import fold, words

    assert fold("Café CRÈME Ærø Straße ŁÓDŹ") == "cafe creme aero strasse lodz"
    assert words("fox  FOX snow") == ["fox", "FOX", "snow"]


def test_each_tile_has_its_videos_own_ratio(alice_client, alice, team_a):
    wide = make_task(team_a, alice, prompt="wide")  # stored 1920x1080
    tall = make_task(team_a, alice, prompt="tall", params={"aspect_ratio": "16:9"})
    tall.creations.update(width=720, height=1280)  # the file wins over what was asked
    square = make_task(team_a, alice, prompt="square", params={"aspect_ratio": "1:1"})
    square.creations.update(width=None, height=None)  # not measured: what was asked
    portrait_image = make_task(team_a, alice, prompt="from an image", mode="img2video", params={})
    portrait_image.creations.update(width=540, height=720)
    html = alice_client.get("/gallery/").content.decode()
    ratios = dict(re.findall(r'data-task-id="([0-9a-f-]{36})" data-ratio="([0-9:]+)"', html))
    assert ratios == {str(wide.uuid): "16:9", str(tall.uuid): "9:16", str(square.uuid): "1:1",
                      str(portrait_image.uuid): "3:4"}
    assert '<article class="tile ratio-9x16"' in html and '<span class="tile-ratio"' in html


def test_tiles_are_presentation_not_queries():
    from vidu_web.studio import queries
    from vidu_web.studio.templatetags.tiles import ratio_of

    assert not hasattr(queries, "tiles")
    assert ratio_of(1280, 720) == "16:9" and ratio_of(1080, 1920) == "9:16" and ratio_of(1088, 1080) == "1:1"
    assert ratio_of(None, None, "3:4") == "3:4" and ratio_of(0, 0, "junk") == "16:9"


@pytest.mark.parametrize("query", ["q=fox%00", "creator=al%00ice", "q=%00&creator=%00"])
def test_a_nul_byte_in_a_filter_is_no_500(alice_client, alice, team_a, query):
    # PostgreSQL refuses NUL in text; a filter with one simply matches as if it weren't there.
    fox = make_task(team_a, alice, prompt="a red fox")
    response = alice_client.get(f"/gallery/?{query}")
    assert response.status_code == 200
    assert tile_ids(response.content.decode()) == [str(fox.uuid)]


def test_more_loads_on_scroll(alice_client, alice, team_a):
    for n in range(30):
        make_task(team_a, alice, prompt=f"shot {n}", created_at=timezone.now() - timedelta(minutes=n))
    html = alice_client.get("/gallery/").content.decode()
    first = tile_ids(html)
    assert len(first) == 24 and 'hx-trigger="revealed"' in html
    next_url = re.search(r'hx-get="(/gallery/\?[^"]+)"', html)[1].replace("&amp;", "&")
    more = alice_client.get(next_url, **HTMX).content.decode()
    assert len(tile_ids(more)) == 6 and not set(tile_ids(more)) & set(first)
    assert "<html" not in more and 'hx-trigger="revealed"' not in more
    assert alice_client.get("/gallery/?after=junk_x").status_code == 200
    assert alice_client.get("/gallery/?after=2020-01-01T00:00:00_5").status_code == 200  # naive: ignored


def test_filters_answer_htmx_with_the_results_only(alice_client, alice, team_a):
    make_task(team_a, alice, prompt="a red fox")
    html = alice_client.get("/gallery/?q=fox", **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="results"') and len(tile_ids(html)) == 1


def test_the_video_page_shows_everything(alice_client, alice, bob, team_a):
    task = make_task(team_a, bob, prompt="an owl at night", model="viduq2", duration=8, resolution="1080p",
                     params={"aspect_ratio": "9:16", "seed": 5, "bgm": True}, seed_used=5, credits=130)
    html = alice_client.get(f"/videos/{task.uuid}/").content.decode()
    creation = task.creations.get()
    for text in ("an owl at night", "Vidu Q2", "8 s", "1080p", "9:16", "130", "bob", "Remix", "Background music",
                 f'href="/media/{creation.video.name}?download=1"', f"/create/?remix={task.uuid}"):
        assert text in html, text
    assert "Make private" not in html  # only bob may change who sees it
    assert "Delete" in html  # alice owns the team


def test_downloads_are_named_from_the_prompt_and_date(alice_client, alice, team_a):
    from datetime import datetime

    from django.core.files.base import ContentFile

    made = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    task = make_task(team_a, alice, prompt="A red fox trots through the snow", created_at=made)
    creation = task.creations.get()
    whole = alice_client.get(creation.video.url + "?download=1")
    assert whole["Content-Disposition"] == 'attachment; filename="red-fox-trots-through-snow-2026-11-29.mp4"'
    part = alice_client.get(creation.video.url + "?download=1", HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206
    assert part["Content-Disposition"] == 'attachment; filename="red-fox-trots-through-snow-2026-11-29.mp4"'
    assert "attachment" not in alice_client.get(creation.video.url)["Content-Disposition"]  # plays inline
    cover = alice_client.get(creation.cover.url + "?download=1")
    assert cover["Content-Disposition"] == 'attachment; filename="red-fox-trots-through-snow-2026-11-29-cover.jpg"'
    creation.watermarked.save("wm.mp4", ContentFile(VIDEO_BYTES), save=True)
    html = alice_client.get(f"/videos/{task.uuid}/").content.decode()
    assert (f'<a class="btn" href="/media/{creation.video.name}?download=1" '
            'download="red-fox-trots-through-snow-2026-11-29.mp4" data-download="video">') in html
    assert (f'<a class="btn" href="/media/{creation.watermarked.name}?download=1" '
            'download="red-fox-trots-through-snow-2026-11-29-watermarked.mp4" data-download="watermarked">') in html
    marked = alice_client.get(creation.watermarked.url + "?download=1")
    assert marked["Content-Disposition"] == 'attachment; filename="red-fox-trots-through-snow-2026-11-29-watermarked.mp4"'


def test_a_prompt_with_no_latin_words_still_names_its_download(alice_client, alice, team_a):
    task = make_task(team_a, alice, prompt="雪の中のキツネ")
    response = alice_client.get(task.creations.get().video.url + "?download=1")
    assert response["Content-Disposition"].startswith('attachment; filename="video-20')


def test_the_watermarked_link_shows_only_when_it_was_stored(alice_client, alice, team_a):
    task = make_task(team_a, alice, params={"watermark": True})
    html = alice_client.get(f"/videos/{task.uuid}/").content.decode()
    assert html.count("data-download=") == 1 and 'data-download="video"' in html


def test_favourite_toggles_with_htmx(alice_client, alice, team_a):
    task = make_task(team_a, alice)
    response = csrf_post(alice_client, f"/videos/{task.uuid}/favorite/", page="/gallery/", **HTMX)
    assert 'aria-pressed="true"' in response.content.decode() and Favorite.objects.filter(user=alice, task=task).exists()
    csrf_post(alice_client, f"/videos/{task.uuid}/favorite/", **HTMX)
    assert not Favorite.objects.exists()


def test_the_creator_can_make_a_video_private(bob_client, alice_client, bob, team_a):
    task = make_task(team_a, bob)
    assert csrf_post(alice_client, f"/videos/{task.uuid}/privacy/", {"private": "1"}).status_code == 403
    assert csrf_post(bob_client, f"/videos/{task.uuid}/privacy/", {"private": "1"}).status_code == 302
    task.refresh_from_db()
    assert task.is_private


def test_delete_by_creator_or_admin_and_then_gone_everywhere(alice_client, bob_client, alice, bob, team_a):
    alices = make_task(team_a, alice)
    assert csrf_post(bob_client, f"/videos/{alices.uuid}/delete/").status_code == 403
    bobs = make_task(team_a, bob)
    assert csrf_post(alice_client, f"/videos/{bobs.uuid}/delete/").status_code == 302  # alice is the owner
    assert csrf_post(alice_client, f"/videos/{alices.uuid}/delete/").status_code == 302
    for client in (alice_client, bob_client):
        gallery = client.get("/gallery/")
        assert gallery.status_code == 200 and tile_ids(gallery.content.decode()) == []
        assert client.get(f"/videos/{bobs.uuid}/").status_code == 404
        assert client.get(bobs.creations.get().video.url).status_code == 404
    assert str(alices.uuid) not in alice_client.get("/tasks/").content.decode()


def test_viewers_see_the_gallery_but_cant_remix(alice, team_a, client, django_user_model):
    task = make_task(team_a, alice)
    viewer = django_user_model.objects.create_user("vera", password="pw")
    Membership.objects.create(team=team_a, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)
    assert str(task.uuid) in client.get("/gallery/").content.decode()
    page = client.get(f"/videos/{task.uuid}/")
    assert page.status_code == 200 and "?remix=" not in page.content.decode()


def test_media_is_served_with_byte_ranges(alice_client, alice, team_a):
    video = make_task(team_a, alice).creations.get().video
    whole = alice_client.get(video.url)
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == VIDEO_BYTES
    assert whole["Accept-Ranges"] == "bytes" and whole["Content-Type"] == "video/mp4"
    part = alice_client.get(video.url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{len(VIDEO_BYTES)}"
    assert b"".join(part.streaming_content) == VIDEO_BYTES[100:200]
    tail = alice_client.get(video.url, HTTP_RANGE="bytes=-10")
    assert b"".join(tail.streaming_content) == VIDEO_BYTES[-10:]
    open_end = alice_client.get(video.url, HTTP_RANGE="bytes=10000-")
    assert b"".join(open_end.streaming_content) == VIDEO_BYTES[10000:]
    assert alice_client.get(video.url, HTTP_RANGE="bytes=999999-").status_code == 416
    assert alice_client.get(video.url, HTTP_RANGE="bytes=a-b").status_code == 200  # ignored, whole file
    download = alice_client.get(video.url + "?download=1")
    assert download["Content-Disposition"].startswith("attachment")


def test_media_needs_sign_in_and_a_known_file(client, alice_client, alice, team_a):
    video = make_task(team_a, alice).creations.get().video
    assert client.get(video.url).status_code == 302
    assert alice_client.get("/media/videos/../../etc/passwd").status_code == 404
    assert alice_client.get("/media/videos/unknown.mp4").status_code == 404


def test_a_nul_byte_in_a_media_path_is_a_404(alice_client, alice, team_a):
    make_task(team_a, alice)
    assert alice_client.get("/media/videos/x%00.mp4").status_code == 404


def test_a_range_of_an_empty_file_is_unsatisfiable(alice_client, alice, team_a):
    from django.core.files.base import ContentFile

    creation = make_task(team_a, alice).creations.get()
    creation.video.save("empty.mp4", ContentFile(b""), save=True)
    response = alice_client.get(creation.video.url, HTTP_RANGE="bytes=-5")
    assert response.status_code == 416 and response["Content-Range"] == "bytes */0"


def test_the_filter_bar_lists_the_members_and_the_projects_one_may_see_and_keeps_the_choice(
        alice_client, alice, bob, charlie, team_a):
    from vidu_web.studio.library import Project

    shared = Project.objects.create(team=team_a, creator=bob, name="Trailer & <cut>")
    mine = Project.objects.create(team=team_a, creator=alice, name="Alice's notes", is_private=True)
    Project.objects.create(team=team_a, creator=bob, name="Bob's secret", is_private=True)
    Project.objects.create(team=charlie.teams.get(), creator=charlie, name="Elsewhere")
    html = alice_client.get("/gallery/", {"creator": "bob", "project": str(shared.uuid), "mode": "img2video",
                                          "model": "viduq2", "when": "week", "review": "approved"}).content.decode()
    assert '<select id="f-creator" name="creator"><option value="">Everyone</option><option>alice</option>' \
           '<option selected>bob</option></select>' in html
    bar = html[html.index('id="f-project"'):html.index("</select>", html.index('id="f-project"'))]
    assert bar.endswith(f'<option value="">All projects</option><option value="{mine.uuid}">Alice&#x27;s notes</option>'
                        f'<option value="{shared.uuid}" selected>Trailer &amp; &lt;cut&gt;</option>')
    move = html[html.index('id="sel-project"'):html.index("</select>", html.index('id="sel-project"'))]
    assert move.endswith(f'<option value="{mine.uuid}">Alice&#x27;s notes</option>'
                         f'<option value="{shared.uuid}">Trailer &amp; &lt;cut&gt;</option>')
    for chosen in ('<option value="img2video" selected>', '<option value="viduq2" selected>',
                   '<option value="week" selected>Past week</option>', '<option value="approved" selected>Approved'):
        assert html.count(chosen) == 1, chosen
    assert html.count(" selected>") == 6  # the six choices above, nothing else
    assert "secret" not in html and "Elsewhere" not in html
