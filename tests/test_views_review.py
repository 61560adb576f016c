"""Review statuses and time-coded comments: POST /videos/<uuid>/review/ and /comments/, the
video page's sections and /gallery/?review=."""

import re

import pytest
from django.test import Client

from tests.studio_helpers import csrf_post, make_task
from vidu_web.studio.models import Comment, GenerationTask, Review, State
from vidu_web.teams.models import Membership


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def victor_client(db, team_a, django_user_model):
    """A viewer in Studio A."""
    user = django_user_model.objects.create_user("victor", "victor@example.org", "password-victor")
    Membership.objects.create(team=team_a, user=user, role=Membership.Role.VIEWER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def video(team_a, alice):
    return make_task(team_a, alice, prompt="an owl at night", duration=8)  # its stored copy is 8 s long


def tile_ids(html):
    return re.findall(r'<article class="tile [^"]*" data-task-id="([0-9a-f-]{36})"', html)


# --- review ----------------------------------------------------------------------------------


def test_a_video_starts_as_a_draft(alice_client, video):
    html = alice_client.get(f"/videos/{video.uuid}/").content.decode()
    assert 'data-review="draft"' in html and 'name="status"' in html


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_members_and_up_set_the_review_status_with_who_and_when(request, who, video):
    client = request.getfixturevalue(f"{who}_client")
    response = csrf_post(client, f"/videos/{video.uuid}/review/", {"status": "changes_requested"}, page="/gallery/")
    assert response.status_code == 302 and response["Location"] == f"/videos/{video.uuid}/"
    video.refresh_from_db()
    assert video.review_status == Review.CHANGES_REQUESTED
    assert video.reviewed_by.username == who and video.reviewed_at is not None
    html = client.get(f"/videos/{video.uuid}/").content.decode()
    assert 'data-review="changes_requested"' in html and f"by {who}," in html


@pytest.mark.parametrize("status", ["", "published", "APPROVED", "draft\x00"])
def test_an_unknown_status_is_a_message_and_changes_nothing(alice_client, video, status):
    video.set_review(Review.IN_REVIEW, video.creator)
    response = csrf_post(alice_client, f"/videos/{video.uuid}/review/", {"status": status}, page="/gallery/")
    assert response.status_code == 302
    assert GenerationTask.objects.get(pk=video.pk).review_status == Review.IN_REVIEW
    assert "Pick a review status" in alice_client.get(response["Location"]).content.decode()


def test_viewers_can_comment_but_not_review(victor_client, video):
    html = victor_client.get(f"/videos/{video.uuid}/").content.decode()
    assert 'name="status"' not in html and 'name="body"' in html
    assert csrf_post(victor_client, f"/videos/{video.uuid}/review/", {"status": "approved"},
                     page="/gallery/").status_code == 403
    assert GenerationTask.objects.get(pk=video.pk).review_status == Review.DRAFT
    response = csrf_post(victor_client, f"/videos/{video.uuid}/comments/", {"body": "Love it"}, page="/gallery/")
    assert response.status_code == 302 and Comment.objects.get().body == "Love it"


def test_the_gallery_filters_by_review_status(alice_client, alice, team_a, video):
    approved = make_task(team_a, alice)
    approved.set_review(Review.APPROVED, alice)
    html = alice_client.get("/gallery/?review=approved").content.decode()
    assert tile_ids(html) == [str(approved.uuid)]
    assert f'data-task-id="{approved.uuid}" data-ratio="16:9" data-review="approved"' in html
    assert tile_ids(alice_client.get("/gallery/?review=draft").content.decode()) == [str(video.uuid)]
    assert len(tile_ids(alice_client.get("/gallery/?review=bogus").content.decode())) == 2  # ignored


# --- comments --------------------------------------------------------------------------------


def test_a_comment_with_a_time_code_seeks_the_player(bob_client, bob, video):
    response = csrf_post(bob_client, f"/videos/{video.uuid}/comments/", {"body": "The owl blinks <here>", "at": "0:05.5"},
                         page="/gallery/")
    assert response.status_code == 302 and response["Location"] == f"/videos/{video.uuid}/#comments"
    comment = Comment.objects.get()
    assert (comment.task, comment.author, comment.at) == (video, bob, 5.5)
    html = bob_client.get(f"/videos/{video.uuid}/").content.decode()
    assert 'data-seek="5.5"' in html and ">0:05</button>" in html
    assert "The owl blinks &lt;here&gt;" in html  # escaped


@pytest.mark.parametrize("at, seconds", [("", None), ("3", 3.0), ("1.25", 1.25), ("0:08", 8.0), ("8", 8.0)])
def test_time_codes_are_seconds_or_minutes_and_seconds(alice_client, video, at, seconds):
    csrf_post(alice_client, f"/videos/{video.uuid}/comments/", {"body": "ok", "at": at}, page="/gallery/")
    assert Comment.objects.get().at == seconds


@pytest.mark.parametrize("data, words", [
    ({"body": "x" * 5001}, "at most 5,000 characters"),
    ({"body": "   "}, "Write something first"),
    ({"body": "late", "at": "9"}, "The video is 0:08 long"),  # past the end of an 8 s video
    ({"body": "late", "at": "1:00"}, "The video is 0:08 long"),
    ({"body": "early", "at": "-1"}, "The video is 0:08 long"),
    ({"body": "what", "at": "soon"}, "A time code is seconds"),
    ({"body": "what", "at": "nan"}, "A time code is seconds"),
    ({"body": "what", "at": "1:2:3"}, "A time code is seconds"),
    ({"body": "what", "at": "0:75"}, "A time code is seconds"),
])
def test_a_bad_comment_is_a_message_keeps_the_text_and_stores_nothing(alice_client, video, data, words):
    response = csrf_post(alice_client, f"/videos/{video.uuid}/comments/", data, page="/gallery/")
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html
    assert data["body"].strip()[:50] in html  # what was typed is still there
    assert not Comment.objects.exists()


def test_a_comment_of_exactly_5000_characters_is_kept(alice_client, video):
    csrf_post(alice_client, f"/videos/{video.uuid}/comments/", {"body": "y" * 5000}, page="/gallery/")
    assert len(Comment.objects.get().body) == 5000


def test_a_video_still_being_made_takes_time_codes_up_to_its_length(alice_client, alice, team_a):
    task = make_task(team_a, alice, state=State.PROCESSING, duration=4)
    assert csrf_post(alice_client, f"/videos/{task.uuid}/comments/", {"body": "a", "at": "5"},
                     page="/gallery/").status_code == 400
    assert csrf_post(alice_client, f"/videos/{task.uuid}/comments/", {"body": "a", "at": "4"},
                     page="/gallery/").status_code == 302


def test_the_video_page_runs_a_fixed_number_of_queries_however_many_comments(alice_client, alice, bob, video,
                                                                             django_assert_num_queries):
    def count():
        alice_client.get(f"/videos/{video.uuid}/")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(f"/videos/{video.uuid}/").status_code == 200
        return len(captured)

    Comment.objects.create(task=video, author=alice, body="one")
    few = count()
    for n in range(20):
        Comment.objects.create(task=video, author=bob if n % 2 else alice, body=f"c{n}", at=n / 4)
    with django_assert_num_queries(few):
        html = alice_client.get(f"/videos/{video.uuid}/").content.decode()
    assert html.count('class="comment"') == 21


# --- every new URL x Alice / Bob / Charlie / anonymous -------------------------------------------


@pytest.mark.parametrize("url", ["review", "comments"])
def test_outsiders_get_404_and_change_nothing(charlie_client, video, url):
    response = csrf_post(charlie_client, f"/videos/{video.uuid}/{url}/", {"status": "approved", "body": "hi"},
                         page="/gallery/")
    assert response.status_code == 404
    assert not Comment.objects.exists() and GenerationTask.objects.get(pk=video.pk).review_status == Review.DRAFT


@pytest.mark.parametrize("url", ["review", "comments"])
def test_a_teammates_private_video_is_404_too(bob_client, alice, team_a, url):
    private = make_task(team_a, alice, is_private=True)
    assert csrf_post(bob_client, f"/videos/{private.uuid}/{url}/", {"status": "approved", "body": "hi"},
                     page="/gallery/").status_code == 404


@pytest.mark.parametrize("url", ["review", "comments"])
def test_signed_out_visitors_are_sent_to_sign_in(client, video, url):
    response = client.post(f"/videos/{video.uuid}/{url}/", {"status": "approved", "body": "hi"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Comment.objects.exists()


@pytest.mark.parametrize("url", ["review", "comments"])
def test_they_answer_post_only(alice_client, video, url):
    assert alice_client.get(f"/videos/{video.uuid}/{url}/").status_code == 405
