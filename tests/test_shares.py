"""Public share links: made and revoked by members on the video page, opened by anyone holding
one (no sign-in), and nothing else: 404 once revoked, expired, deleted, guessed or malformed."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prod_fixtures import s3_media, s3_server  # noqa: F401

from tests.studio_helpers import HTMX, VIDEO_BYTES, csrf_post, make_task
from vidu_web.studio.models import ShareLink, State
from vidu_web.teams.models import Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def video(alice, team_a):
    return make_task(team_a, alice, prompt="A red fox trots through the snow", params={"aspect_ratio": "16:9", "seed": 7})


@pytest.fixture
def dave(team_a, django_user_model):
    """Another member of Studio A (neither admin nor the video's creator)."""
    user = django_user_model.objects.create_user("dave", "dave@example.org", "password-dave")
    Membership.objects.create(team=team_a, user=user, role=Membership.Role.MEMBER)
    return user


def share(client, task, **data):
    return csrf_post(client, f"/videos/{task.uuid}/share/", {"expires": "", **data}, page="/gallery/")


def public_url(link):
    return f"/share/{link.token}/"


def test_a_member_makes_a_link_and_the_video_page_shows_it(alice_client, video):
    response = share(alice_client, video)
    assert response.status_code == 302 and response["Location"] == f"/videos/{video.uuid}/#share"
    link = ShareLink.objects.get()
    assert (link.task, link.created_by.username, link.expires_at, link.show_prompt, link.show_settings) == (
        video, "alice", None, False, False)  # by default: never expires, shows only the video
    html = alice_client.get(f"/videos/{video.uuid}/").content.decode()
    assert f'data-share-url="http://testserver/share/{link.token}/"' in html  # absolute
    revoke = f"/videos/{video.uuid}/share/{link.pk}/revoke/"
    assert f'<form method="post" action="{revoke}" data-revoke-url="{revoke}">' in html


@pytest.mark.parametrize("who, status, made", [("alice", 302, 1), ("bob", 302, 1), ("charlie", 404, 0)])
def test_who_may_share(who, status, made, video, alice_client, bob_client, charlie_client):
    client = {"alice": alice_client, "bob": bob_client, "charlie": charlie_client}[who]
    assert share(client, video).status_code == status
    assert ShareLink.objects.count() == made


def test_signed_out_visitors_cant_share(client, video):
    response = client.post(f"/videos/{video.uuid}/share/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not ShareLink.objects.exists()


def test_viewers_cant_share(bob, bob_client, video):
    Membership.objects.filter(user=bob).update(role=Membership.Role.VIEWER)
    assert share(bob_client, video).status_code == 403
    assert not ShareLink.objects.exists()
    assert "Make a public link" not in bob_client.get(f"/videos/{video.uuid}/").content.decode()


def test_a_private_video_only_its_creator_shares(alice, team_a, alice_client, bob_client):
    private = make_task(team_a, alice, is_private=True)
    assert share(bob_client, private).status_code == 404
    assert share(alice_client, private).status_code == 302
    assert ShareLink.objects.get().created_by == alice
    assert Client().get(public_url(ShareLink.objects.get())).status_code == 200


@pytest.mark.parametrize("data, message", [
    ({"expires": "365"}, "Choose when the link should expire"),
    ({"expires": "\x00"}, "Choose when the link should expire"),
])
def test_bad_input_gets_a_message_and_makes_nothing(alice_client, video, data, message):
    response = share(alice_client, video, **data)
    assert response.status_code == 302
    assert not ShareLink.objects.exists()
    assert message in alice_client.get(response["Location"]).content.decode()


def test_an_unfinished_video_cant_be_shared(alice, team_a, alice_client):
    running = make_task(team_a, alice, state=State.PROCESSING)
    response = share(alice_client, running)
    assert "Only a finished, saved video can be shared." in alice_client.get(response["Location"]).content.decode()
    assert not ShareLink.objects.exists()


def test_the_public_page_needs_no_sign_in_and_counts_views(video, alice):
    link = ShareLink.make(video, alice)
    visitor = Client()
    response = visitor.get(public_url(link))
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex"
    html = response.content.decode()
    assert f'<video id="player" src="http://testserver/share/{link.token}/video" poster="http://testserver/share/{link.token}/poster"' in html
    visitor.get(public_url(link))
    visitor.head(public_url(link))  # a link preview's HEAD is not a view
    link.refresh_from_db()
    assert link.views == 2


def test_the_prompt_and_settings_show_only_when_chosen(video, alice):
    hidden, shown = ShareLink.make(video, alice), ShareLink.make(video, alice, show_prompt=True, show_settings=True)
    html = Client().get(public_url(hidden)).content.decode()
    assert "fox" not in html.lower() and "data-shared-prompt" not in html and "data-shared-settings" not in html
    assert "Seed asked" not in html and "A video from Studio A" in html
    html = Client().get(public_url(shown)).content.decode()
    assert "A red fox trots through the snow" in html and "data-shared-prompt" in html
    assert "data-shared-settings" in html and "<dt>Seed asked</dt><dd>7</dd>" in html


def test_the_page_carries_social_card_tags_with_the_poster(video, alice):
    link = ShareLink.make(video, alice, show_prompt=True)
    html = Client().get(public_url(link)).content.decode()
    poster = f"http://testserver/share/{link.token}/poster"
    for tag in (f'<meta property="og:image" content="{poster}">', f'<meta name="twitter:image" content="{poster}">',
                '<meta name="twitter:card" content="summary_large_image">',
                f'<meta property="og:video" content="http://testserver/share/{link.token}/video">',
                f'<meta property="og:url" content="http://testserver/share/{link.token}/">',
                '<meta property="og:title" content="A red fox trots through the snow">'):
        assert tag in html, tag


def test_the_video_plays_with_byte_ranges_and_the_poster_loads(video, alice):
    link = ShareLink.make(video, alice)
    visitor = Client()
    whole = visitor.get(f"/share/{link.token}/video")
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == VIDEO_BYTES
    assert whole["Accept-Ranges"] == "bytes" and whole["Cache-Control"] == "private, no-cache"
    part = visitor.get(f"/share/{link.token}/video", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and b"".join(part.streaming_content) == VIDEO_BYTES[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(VIDEO_BYTES)}"
    poster = visitor.get(f"/share/{link.token}/poster")
    assert poster.status_code == 200 and b"".join(poster.streaming_content)[:2] == b"\xff\xd8"
    assert "fox" not in whole.get("Content-Disposition", "")  # no prompt-and-date name: it would tell the prompt


def test_revoking_ends_the_page_and_its_media(alice_client, video, bob):
    link = ShareLink.make(video, bob)
    visitor = Client()
    assert visitor.get(public_url(link)).status_code == 200
    response = csrf_post(alice_client, f"/videos/{video.uuid}/share/{link.pk}/revoke/", page="/gallery/")
    assert response.status_code == 302  # alice owns the team
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by.username == "alice"
    for url in (public_url(link), f"/share/{link.token}/video", f"/share/{link.token}/poster"):
        assert visitor.get(url).status_code == 404, url
    assert "data-share-url" not in alice_client.get(f"/videos/{video.uuid}/").content.decode()


@pytest.mark.parametrize("who, status, revoked", [
    ("bob", 302, True),  # made it
    ("alice", 302, True),  # the video's creator and team owner
    ("dave", 403, False),  # another member
    ("charlie", 404, False),  # another team
])
def test_who_may_revoke(who, status, revoked, video, alice, bob, dave, alice_client, bob_client, charlie_client):
    link = ShareLink.make(video, bob)
    client = {"alice": alice_client, "bob": bob_client, "charlie": charlie_client}.get(who)
    if client is None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(dave)
    assert csrf_post(client, f"/videos/{video.uuid}/share/{link.pk}/revoke/", page="/gallery/").status_code == status
    link.refresh_from_db()
    assert (link.revoked_at is not None) is revoked


def test_signed_out_visitors_cant_revoke(client, video, alice):
    link = ShareLink.make(video, alice)
    assert client.post(f"/videos/{video.uuid}/share/{link.pk}/revoke/").status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is None


def test_a_link_is_revoked_through_its_own_video_only(alice, team_a, alice_client, video):
    other = make_task(team_a, alice)
    link = ShareLink.make(video, alice)
    assert csrf_post(alice_client, f"/videos/{other.uuid}/share/{link.pk}/revoke/", page="/gallery/").status_code == 404
    assert csrf_post(alice_client, f"/videos/{video.uuid}/share/999999999999/revoke/", page="/gallery/").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_an_expired_link_answers_404(video, alice, alice_client):
    response = share(alice_client, video, expires="1")
    link = ShareLink.objects.get()
    assert response.status_code == 302 and timedelta(hours=23) < link.expires_at - timezone.now() <= timedelta(days=1)
    assert Client().get(public_url(link)).status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for url in (public_url(link), f"/share/{link.token}/video", f"/share/{link.token}/poster"):
        assert Client().get(url).status_code == 404, url


@pytest.mark.parametrize("token", [
    "A" * 43,  # well-formed, never issued
    "x",  # too short
    "%00" + "a" * 40,  # a NUL byte: PostgreSQL would refuse it (a 500)
    "a" * 500,
    "..%2F..%2Fmedia",
])
def test_a_guessed_or_malformed_token_answers_404(video, alice, token):
    ShareLink.make(video, alice)
    for url in (f"/share/{token}/", f"/share/{token}/video", f"/share/{token}/poster"):
        assert Client().get(url).status_code == 404, url


def test_a_link_opens_nothing_else(video, alice, bob, team_a):
    other = make_task(team_a, bob)
    link = ShareLink.make(video, alice)
    visitor = Client()
    assert visitor.get(public_url(link)).status_code == 200
    html = visitor.get(public_url(link)).content.decode()
    assert not re.search(r'href="/(?!static/)', html)  # no link into the app
    assert "/media/" not in html
    # Only this video's two files, by kind: no path reaches another file, another video or a page.
    assert visitor.get(f"/share/{link.token}/cover").status_code == 404
    assert visitor.get(f"/share/{link.token}/video/{other.creations.get().video.name}").status_code == 404
    for url in (video.creations.get().video.url, other.creations.get().video.url, f"/videos/{video.uuid}/", "/gallery/"):
        response = visitor.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_a_deleted_video_ends_its_links(video, alice):
    link = ShareLink.make(video, alice)
    video.deleted_at = timezone.now()
    video.save()
    assert Client().get(public_url(link)).status_code == 404
    assert Client().get(f"/share/{link.token}/video").status_code == 404


def test_making_a_video_private_ends_others_links_but_not_its_creators(video, alice, bob):
    bobs, alices = ShareLink.make(video, bob), ShareLink.make(video, alice)
    video.is_private = True
    video.save()
    assert Client().get(public_url(bobs)).status_code == 404
    assert Client().get(public_url(alices)).status_code == 200


def test_the_share_urls_answer_htmx_and_get_like_the_rest(video, alice, alice_client):
    link = ShareLink.make(video, alice)
    assert alice_client.get(f"/videos/{video.uuid}/share/").status_code == 405
    assert alice_client.get(f"/videos/{video.uuid}/share/{link.pk}/revoke/").status_code == 405
    assert Client().post(public_url(link)).status_code == 405
    assert Client().get(public_url(link), **HTMX).status_code == 200


@pytest.mark.slow
def test_on_s3_the_shared_video_is_a_presigned_redirect(s3_media, video, alice):  # noqa: F811
    link = ShareLink.make(video, alice)
    response = Client().get(f"/share/{link.token}/video")
    assert response.status_code == 302 and "X-Amz-Signature=" in response["Location"]
    assert response["Cache-Control"] == "private, no-store"
    link.revoke(alice)
    assert Client().get(f"/share/{link.token}/video").status_code == 404


def test_each_link_made_or_revoked_goes_in_the_teams_audit_log(alice_client, video, team_a):
    from vidu_web.teams.models import AuditEvent

    assert share(alice_client, video).status_code == 302
    link = ShareLink.objects.get(task=video)
    csrf_post(alice_client, f"/videos/{video.uuid}/share/{link.pk}/revoke/", page="/gallery/")
    events = list(AuditEvent.objects.filter(team=team_a).order_by("at", "id").values_list("action", "actor__username",
                                                                                          "target"))
    assert events == [("share-made", "alice", f"video {video.uuid}"), ("share-revoked", "alice", f"video {video.uuid}")]
    assert "made a share link" in alice_client.get("/team/audit/").content.decode()
