"""Gallery search `q` matches project names and comments too: every word, in any order, each from
any of prompt, project name or comment, case and accents aside."""

import re

import pytest

from tests.studio_helpers import make_task
from vidu_web.studio.library import Comment, Project


def found(client, q):
    html = client.get("/gallery/", {"q": q}).content.decode()
    return set(re.findall(r'href="/videos/([0-9a-f-]{36})/"', html))


@pytest.fixture
def library(team_a, alice, bob):
    trailer = Project.objects.create(team=team_a, creator=alice, name="Café Trailer")
    fox = make_task(team_a, alice, prompt="A red fox in the snow", project=trailer)
    owl = make_task(team_a, bob, prompt="An owl at night")
    Comment.objects.create(task=owl, author=bob, body="Approved by the Client, ship it")
    many = make_task(team_a, bob, prompt="A heron")
    for i in range(3):  # several matching comments: still one tile
        Comment.objects.create(task=many, author=bob, body=f"heron note {i}")
    return {"fox": str(fox.uuid), "owl": str(owl.uuid), "many": str(many.uuid)}


def test_a_project_name_matches_case_and_accent_insensitively(alice_client, library):
    assert found(alice_client, "CAFE") == {library["fox"]}
    assert found(alice_client, "trailer") == {library["fox"]}


def test_a_comment_matches(alice_client, library):
    assert found(alice_client, "approved") == {library["owl"]}
    assert found(alice_client, "note") == {library["many"]}


def test_every_word_may_come_from_a_different_source_in_any_order(alice_client, library):
    assert found(alice_client, "trailer fox") == {library["fox"]}  # project name + prompt
    assert found(alice_client, "client owl") == {library["owl"]}  # comment + prompt
    assert found(alice_client, "owl trailer") == set()  # no one video holds both


def test_others_cant_find_through_them(charlie_client, library):
    assert found(charlie_client, "approved") == set()


@pytest.fixture
def secret(team_a, alice, bob):
    """Alice's private project holding a video everyone in the team sees, and Alice's private
    video, each with a comment."""
    heist = Project.objects.create(team=team_a, creator=alice, name="Operation Heist", is_private=True)
    filed = make_task(team_a, bob, prompt="A quiet harbour", project=heist)
    Comment.objects.create(task=filed, author=bob, body="lighthouse looks great")
    hidden = make_task(team_a, alice, prompt="A locked vault", is_private=True)
    Comment.objects.create(task=hidden, author=alice, body="zeppelin over the vault")
    return {"filed": str(filed.uuid), "hidden": str(hidden.uuid)}


def test_a_private_projects_name_finds_nothing_for_others(alice_client, bob_client, secret):
    # Bob sees the harbour video, but not the project it is filed in: its name must not find it.
    assert secret["filed"] in found(bob_client, "")
    assert found(bob_client, "heist") == set()
    assert found(bob_client, "harbour heist") == set()
    assert found(alice_client, "heist") == found(alice_client, "harbour HEIST") == {secret["filed"]}


def test_comments_match_only_where_the_video_is_seen(alice_client, bob_client, secret):
    # A comment is shown to whoever sees the video (the project's privacy hides only its name).
    assert "lighthouse looks great" in bob_client.get(f"/videos/{secret['filed']}/").content.decode()
    assert found(bob_client, "lighthouse") == {secret["filed"]}
    # Alice's private video and its comment are hers alone.
    assert found(bob_client, "zeppelin") == found(bob_client, "vault") == set()
    assert found(alice_client, "zeppelin") == {secret["hidden"]}
