"""The library in a browser: a comment's time code seeks the player; videos selected in the
gallery move into a project; a project is made and a name already used says so."""

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from tests.studio_helpers import make_task
from vidu_web.studio.models import Comment, Project

pytestmark = [pytest.mark.e2e]

CLIP = Path(__file__).resolve().parents[2] / "vidu_web" / "sandbox" / "media" / "clip4.mp4"  # 3 s, real H.264


@pytest.fixture
def playable(team_a, alice, e2e_media):
    task = make_task(team_a, alice, prompt="A red fox in the snow", duration=4)
    creation = task.creations.get()
    creation.video.save(f"{task.uuid}-real.mp4", ContentFile(CLIP.read_bytes()), save=False)
    creation.duration = 3.0
    creation.save()
    return task


def test_a_time_code_seeks_the_player_and_a_late_one_is_refused(browser_pages, alice, bob, playable):
    page = browser_pages(bob)
    page.goto(f"/videos/{playable.uuid}/")
    page.get_by_label("Add a comment").fill("The fox turns here")
    page.get_by_label("At (optional)").fill("0:02.5")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator(".comment-body")).to_have_text("The fox turns here")
    page.get_by_role("button", name="0:02").click()
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 2.5) < 0.6")

    page.get_by_label("Add a comment").fill("Past the end")
    page.get_by_label("At (optional)").fill("7")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator("#at-error")).to_contain_text("The video is 0:03 long")
    expect(page.get_by_label("Add a comment")).to_have_value("Past the end")
    assert Comment.objects.count() == 1


def test_videos_selected_in_the_gallery_move_into_a_new_project(browser_pages, alice, bob, team_a, e2e_media):
    fox, owl = make_task(team_a, alice, prompt="fox"), make_task(team_a, bob, prompt="owl")
    make_task(team_a, alice, prompt="cat")
    page = browser_pages(alice)
    page.goto("/projects/")
    page.get_by_label("Name").fill("Trailer")
    page.get_by_role("button", name="Make project").click()
    expect(page.locator("h1")).to_contain_text("Trailer")
    page.goto("/projects/")
    page.get_by_label("Name").fill("TRAILER")
    page.get_by_role("button", name="Make project").click()
    expect(page.locator("#name-error")).to_contain_text("already has a project named")

    page.goto("/gallery/")
    page.get_by_label("Select: fox").check()
    page.get_by_label("Select: owl").check()
    page.get_by_label("Move selected to").select_option(label="Trailer")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Moved 2 videos")
    project = Project.objects.get()
    assert set(project.tasks.all()) == {fox, owl}
    page.goto(f"/projects/{project.uuid}/")
    expect(page.locator("article.tile")).to_have_count(2)
