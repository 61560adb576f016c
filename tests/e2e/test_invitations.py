"""In the browser: an owner makes an invitation link, a newcomer opens it, signs up and lands in
the team's gallery; the pages on the way pass axe-core at a desktop and a phone width."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_pages import check_page
from tests.studio_helpers import make_task
from vidu_web.teams.models import Membership

pytestmark = [pytest.mark.e2e]


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_invite_sign_up_and_land_in_the_teams_gallery(browser_pages, live_server, alice, team_a, width, height):
    make_task(team_a, alice, prompt="A red fox trots through the snow at dawn")
    problems = []

    owner = browser_pages(alice, width=width, height=height)
    owner.goto("/team/")
    owner.get_by_label("Role", exact=True).first.select_option("viewer")
    owner.get_by_role("button", name="Make an invitation").click()
    link = owner.locator("[data-invite-url]").first
    expect(link).to_be_visible()
    check_page(owner, "team with an open invitation", width, problems)
    url = link.get_attribute("data-invite-url")
    assert "/join/" in url

    newcomer = browser_pages(width=width, height=height)
    newcomer.goto(url)
    expect(newcomer.get_by_role("heading", name="Join Studio A")).to_be_visible()
    check_page(newcomer, "join, signed out", width, problems)
    newcomer.get_by_label("Username").fill("dora")
    newcomer.get_by_label("Password", exact=True).fill("short")
    newcomer.get_by_label("Password confirmation").fill("short")
    newcomer.get_by_role("button", name="Sign up and join").click()
    expect(newcomer.locator("p.error").first).to_contain_text("too short")
    check_page(newcomer, "join with a weak password", width, problems)

    newcomer.get_by_label("Password", exact=True).fill("quiet-harbour-lantern-83")
    newcomer.get_by_label("Password confirmation").fill("quiet-harbour-lantern-83")
    newcomer.get_by_role("button", name="Sign up and join").click()
    expect(newcomer).to_have_url(f"{live_server.url}/gallery/")
    expect(newcomer.locator("video").first).to_be_visible()  # the team's video, shared with her
    expect(newcomer.locator(".topbar")).to_contain_text("Studio A")
    assert Membership.objects.get(team=team_a, user__username="dora").role == "viewer"

    newcomer.goto(url)  # used up now
    expect(newcomer.locator(".error-code")).to_have_text("404")
    check_page(newcomer, "join, link used up", width, problems)
    assert problems == []
