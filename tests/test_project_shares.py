"""Public share links for a whole project: made and revoked on the project page, opened by anyone
holding one (no sign-in); the page lists the project's videos the sharer could share and plays
each through the link's token, and opens nothing else."""

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from tests.studio_helpers import VIDEO_BYTES, csrf_post, make_task
from vidu_web.studio.library import Project
from vidu_web.studio.models import ShareLink
from vidu_web.teams.models import AuditEvent, Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def project(team_a, alice):
    return Project.objects.create(team=team_a, creator=alice, name="Trailer")


@pytest.fixture
def videos(project, team_a, alice, bob):
    """Alice's and Bob's public videos in the project, Bob's private one, one outside it."""
    return {
        "alice": make_task(team_a, alice, prompt="A red fox trots", project=project, params={"seed": 7}),
        "bob": make_task(team_a, bob, prompt="A blue heron waits", project=project),
        "bob_private": make_task(team_a, bob, prompt="Bob secret draft", project=project, is_private=True),
        "outside": make_task(team_a, alice, prompt="Not in the project"),
    }


def share(client, project, **data):
    return csrf_post(client, f"/projects/{project.uuid}/share/", {"expires": "", **data}, page="/projects/")


def clients(who, alice_client, bob_client, charlie_client):
    return {"alice": alice_client, "bob": bob_client, "charlie": charlie_client}[who]


@pytest.mark.parametrize("who, status, made", [("alice", 302, 1), ("bob", 302, 1), ("charlie", 404, 0)])
def test_who_may_share_a_project(who, status, made, project, alice_client, bob_client, charlie_client):
    response = share(clients(who, alice_client, bob_client, charlie_client), project)
    assert response.status_code == status
    assert ShareLink.objects.count() == made
    if made:
        assert response["Location"] == f"/projects/{project.uuid}/#share"
        link = ShareLink.objects.get()
        assert (link.project, link.task, link.expires_at) == (project, None, None)


def test_signed_out_visitors_cant_share_a_project(client, project):
    response = client.post(f"/projects/{project.uuid}/share/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not ShareLink.objects.exists()


def test_viewers_cant_share_a_project(bob, bob_client, project):
    Membership.objects.filter(user=bob).update(role=Membership.Role.VIEWER)
    assert share(bob_client, project).status_code == 403
    assert not ShareLink.objects.exists()


def test_a_private_project_only_its_creator_shares(team_a, alice, alice_client, bob_client):
    private = Project.objects.create(team=team_a, creator=alice, name="Secret", is_private=True)
    assert share(bob_client, private).status_code == 404
    assert share(alice_client, private).status_code == 302
    assert ShareLink.objects.get().project == private


def test_bad_expiry_gets_a_message_and_makes_nothing(alice_client, project):
    response = share(alice_client, project, expires="365")
    assert response.status_code == 302 and not ShareLink.objects.exists()
    assert "Choose when the link should expire" in alice_client.get(response["Location"]).content.decode()


def test_the_project_page_shows_the_link_and_its_revoke_form(alice_client, bob_client, charlie_client, project):
    share(alice_client, project)
    link = ShareLink.objects.get()
    revoke = f"/projects/{project.uuid}/share/{link.pk}/revoke/"
    html = alice_client.get(f"/projects/{project.uuid}/").content.decode()
    assert f'data-share-url="http://testserver/share/{link.token}/"' in html
    assert f'<form method="post" action="{revoke}" data-revoke-url="{revoke}">' in html
    html = bob_client.get(f"/projects/{project.uuid}/").content.decode()  # sees it, may not revoke it
    assert f'data-share-url="http://testserver/share/{link.token}/"' in html and "data-revoke-url" not in html
    assert charlie_client.get(f"/projects/{project.uuid}/").status_code == 404


def test_the_public_page_lists_what_the_sharer_could_share(videos, project, bob, alice):
    for sharer, shown in ((alice, {"alice", "bob"}), (bob, {"alice", "bob", "bob_private"})):
        link = ShareLink.make_for_project(project, sharer)
        response = Client().get(f"/share/{link.token}/")
        assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex"
        html = response.content.decode()
        listed = set(re.findall(r'data-shared-video="([0-9a-f-]+)"', html))
        assert listed == {str(videos[name].uuid) for name in shown}, sharer
        for uuid in listed:
            assert f'src="http://testserver/share/{link.token}/{uuid}/video"' in html
        assert "A red fox" not in html and "data-shared-settings" not in html  # hidden by default


def test_the_prompt_and_settings_show_only_when_chosen(videos, project, alice):
    link = ShareLink.make_for_project(project, alice, show_prompt=True, show_settings=True)
    html = Client().get(f"/share/{link.token}/").content.decode()
    assert "A red fox trots" in html and "A blue heron waits" in html
    assert "<dt>Seed asked</dt><dd>7</dd>" in html
    assert "Bob secret draft" not in html and "Not in the project" not in html


def test_each_listed_video_plays_with_byte_ranges_and_counts_views(videos, project, alice):
    link = ShareLink.make_for_project(project, alice)
    visitor = Client()
    url = f"/share/{link.token}/{videos['bob'].uuid}/video"
    whole = visitor.get(url)
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == VIDEO_BYTES
    part = visitor.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and b"".join(part.streaming_content) == VIDEO_BYTES[10:20]
    assert visitor.get(f"/share/{link.token}/{videos['bob'].uuid}/poster").status_code == 200
    visitor.get(f"/share/{link.token}/")
    visitor.head(f"/share/{link.token}/")
    link.refresh_from_db()
    assert link.views == 1


def test_a_project_link_opens_nothing_else(videos, project, alice, team_a):
    link = ShareLink.make_for_project(project, alice)
    video_link = ShareLink.make(videos["outside"], alice)
    visitor = Client()
    html = visitor.get(f"/share/{link.token}/").content.decode()
    assert not re.search(r'href="/(?!static/)', html) and "/media/" not in html
    for url in (f"/share/{link.token}/{videos['bob_private'].uuid}/video",  # someone else's private one
                f"/share/{link.token}/{videos['outside'].uuid}/video",  # not in the project
                f"/share/{link.token}/video",  # a project token opens no single video
                f"/share/{video_link.token}/{videos['alice'].uuid}/video",  # nor a video token a project's
                f"/share/{link.token}/00000000-0000-0000-0000-000000000000/video"):
        assert visitor.get(url).status_code == 404, url
    for url in (f"/projects/{project.uuid}/", "/gallery/"):
        assert visitor.get(url)["Location"].startswith("/accounts/login/"), url


@pytest.mark.parametrize("who, status, revoked", [
    ("bob", 302, True),  # made it
    ("alice", 302, True),  # the project's creator and team owner
    ("charlie", 404, False),  # another team
])
def test_who_may_revoke_a_project_link(who, status, revoked, videos, project, bob, alice_client, bob_client,
                                       charlie_client):
    link = ShareLink.make_for_project(project, bob)
    client = clients(who, alice_client, bob_client, charlie_client)
    assert csrf_post(client, f"/projects/{project.uuid}/share/{link.pk}/revoke/", page="/projects/").status_code == status
    link.refresh_from_db()
    assert (link.revoked_at is not None) is revoked
    if revoked:
        for url in (f"/share/{link.token}/", f"/share/{link.token}/{videos['alice'].uuid}/video"):
            assert Client().get(url).status_code == 404, url


def test_another_member_cant_revoke_someone_elses_link(team_a, project, bob, bob_client):
    other = Project.objects.create(team=team_a, creator=bob, name="Bob's")
    link = ShareLink.make_for_project(project, project.creator)
    # Bob neither made the link nor owns the project nor administers the team.
    assert csrf_post(bob_client, f"/projects/{project.uuid}/share/{link.pk}/revoke/", page="/projects/").status_code == 403
    # A link is revoked only through its own project.
    assert csrf_post(bob_client, f"/projects/{other.uuid}/share/{link.pk}/revoke/", page="/projects/").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_signed_out_visitors_cant_revoke(client, project, alice):
    link = ShareLink.make_for_project(project, alice)
    assert client.post(f"/projects/{project.uuid}/share/{link.pk}/revoke/").status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is None


def test_an_expired_project_link_answers_404(videos, project, alice, alice_client):
    share(alice_client, project, expires="7")
    link = ShareLink.objects.get()
    assert Client().get(f"/share/{link.token}/").status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for url in (f"/share/{link.token}/", f"/share/{link.token}/{videos['alice'].uuid}/video"):
        assert Client().get(url).status_code == 404, url


def test_making_a_project_private_ends_others_links(project, alice, bob):
    bobs, alices = ShareLink.make_for_project(project, bob), ShareLink.make_for_project(project, alice)
    Project.objects.filter(pk=project.pk).update(is_private=True)
    assert Client().get(f"/share/{bobs.token}/").status_code == 404
    assert Client().get(f"/share/{alices.token}/").status_code == 200


def test_made_and_revoked_go_in_the_audit_log(alice_client, project, team_a):
    share(alice_client, project)
    link = ShareLink.objects.get()
    csrf_post(alice_client, f"/projects/{project.uuid}/share/{link.pk}/revoke/", page="/projects/")
    events = list(AuditEvent.objects.filter(team=team_a).order_by("at", "id").values_list("action", "target"))
    assert events == [("share-made", f"project {project.uuid}"), ("share-revoked", f"project {project.uuid}")]


def test_a_link_names_exactly_one_thing(project, videos, team_a, alice):
    for fields in ({}, {"project": project, "task": videos["alice"]}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ShareLink.objects.create(team=team_a, created_by=alice, **fields)


def test_the_project_share_urls_take_post_only(project, alice, alice_client):
    link = ShareLink.make_for_project(project, alice)
    assert alice_client.get(f"/projects/{project.uuid}/share/").status_code == 405
    assert alice_client.get(f"/projects/{project.uuid}/share/{link.pk}/revoke/").status_code == 405
