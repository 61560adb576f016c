"""In a browser: the estimate follows the settings, and a create past the budget is refused
with its reason, making nothing here or upstream."""

import pytest
from playwright.sync_api import expect

from tests.studio_helpers import make_task
from vidu_web.studio.models import GenerationTask
from vidu_web.teams.models import Team

pytestmark = [pytest.mark.e2e]


def test_a_create_refused_by_the_budget_shows_its_reason(vidu_settings, sandbox, browser_pages, alice, bob, team_a):
    make_task(team_a, bob, model="viduq2", duration=5, resolution="720p", credits=130,
              params={"audio": False, "off_peak": False}, with_video=False)
    Team.objects.filter(pk=team_a.pk).update(credit_budget=200)
    page = browser_pages(alice)
    page.goto("/create/?model=viduq2")
    estimate = page.locator("#estimate")
    expect(estimate).to_have_attribute("data-estimate", "130")
    expect(estimate).to_contain_text("won't start")  # said before Generate
    page.fill("#id_prompt", "a fox in the snow, " * 100)  # the price doesn't depend on it: not sent
    with page.expect_request(lambda r: "/create/estimate/" in r.url) as asked:
        page.select_option("#id_resolution", "1080p")
    assert "resolution=1080p" in asked.value.url and "prompt=" not in asked.value.url
    expect(estimate).to_have_attribute("data-estimate", "")
    expect(estimate).to_contain_text("unknown")
    page.select_option("#id_resolution", "720p")
    expect(estimate).to_have_attribute("data-estimate", "130")
    page.fill("#id_prompt", "a fox in the snow")
    page.get_by_role("button", name="Generate").click()
    alert = page.locator("#create-form .alert-error")
    expect(alert).to_contain_text("the team's monthly budget of 200 credits")
    expect(alert).to_contain_text("130 spent and 0 reserved")
    expect(alert).to_contain_text("about 130 credits")
    assert GenerationTask.objects.count() == 1 and sandbox.total_creates() == 0
