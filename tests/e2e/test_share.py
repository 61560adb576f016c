"""A share link in the browser: made on the video page, played in a fresh signed-out context,
revoked, and then 404 (page and video)."""

from pathlib import Path

import pytest
from django.core.files import File
from playwright.sync_api import expect

from tests.e2e.test_pages import axe_violations
from tests.studio_helpers import make_task
from vidu_web.studio.models import ShareLink

pytestmark = [pytest.mark.e2e]

SAMPLES = Path(__file__).resolve().parents[2] / "vidu_web" / "sandbox" / "media"


@pytest.fixture
def playable(alice, team_a, e2e_media):
    """A finished video whose stored copy is a real MP4 (the sandbox's sample) with its cover."""
    task = make_task(team_a, alice, prompt="A red fox trots through the snow at dawn")
    creation = task.creations.get()
    with open(SAMPLES / "clip1.mp4", "rb") as video, open(SAMPLES / "cover1.jpeg", "rb") as cover:
        creation.video.save("clip1.mp4", File(video), save=False)
        creation.cover.save("cover1.jpeg", File(cover), save=False)
    creation.save()
    return task


def test_a_shared_video_plays_signed_out_until_revoked(browser_pages, alice, playable):
    page = browser_pages(alice)
    page.goto(f"/videos/{playable.uuid}/")
    page.get_by_label("Show the prompt").check()
    page.get_by_role("button", name="Make a public link").click()
    share_url = page.locator("[data-share-url]").get_attribute("data-share-url")
    assert share_url.startswith("http") and ShareLink.objects.get().show_prompt
    assert axe_violations(page) == []

    visitor = browser_pages()  # a fresh context: no session, no cookie
    response = visitor.goto(share_url)
    assert response.status == 200
    expect(visitor.locator("[data-shared-prompt]")).to_contain_text("A red fox trots through the snow")
    visitor.wait_for_function(
        "() => document.querySelector('#player').readyState >= 2 || (document.querySelector('#player').play(), false)",
        timeout=15_000)
    assert axe_violations(visitor) == []
    video_src = visitor.locator("#player").get_attribute("src")

    page.locator("form[data-revoke-url] button").click()
    expect(page.locator("[data-share-url]")).to_have_count(0)

    gone = browser_pages()
    assert gone.goto(share_url).status == 404
    assert gone.request.get(video_src).status == 404
