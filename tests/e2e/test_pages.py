"""Every page at a desktop and a phone width: no axe-core violation, nothing wider than the
screen, a phone header of at most two rows; and the gallery shows each video at its own ratio.

axe-core comes from npm, vendored under tests/e2e/vendor/axe-core (see its README) and injected
by Playwright; the app never serves it.
"""

import re
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import RequestFactory
from django.views.defaults import server_error
from playwright.sync_api import expect

from tests.studio_helpers import make_task
from vidu_web.studio.models import Comment, GenerationTask, Project, State
from vidu_web.teams.models import Membership, Team

pytestmark = [pytest.mark.e2e]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = [(1440, 900), (390, 844)]
# Two rows at most on a phone (brand and tools, then the main nav); a third row is ~40 px more.
PHONE_HEADER_MAX = 110
# axe's default rules (WCAG A/AA and best practices), plus the one that checks that a control's
# visible text is part of its accessible name (experimental in axe, so off by default).
AXE_OPTIONS = {"rules": {"label-content-name-mismatch": {"enabled": True}}}


def axe_violations(page):
    """axe-core's violations on the page as it is now, one readable line each."""
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(AXE.read_text())  # not a <script> tag: the page's CSP allows no inline script
    found = page.evaluate("options => axe.run(document, options).then(r => r.violations)", AXE_OPTIONS)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(n["target"]) + " [" + n["failureSummary"].replace("\n", " ") + "]" for n in v["nodes"][:4])
        for v in found
    ]


def check_page(page, label, width, problems):
    """Adds to ``problems`` what fails on this page of what must hold on every page."""
    page.wait_for_load_state("networkidle")
    problems += [f"{label} at {width} px: {line}" for line in axe_violations(page)]
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        problems.append(f"{label} at {width} px is {scroll} px wide")
    header = page.locator("header.topbar")
    if width < 720 and header.count():
        height = header.bounding_box()["height"]
        if height > PHONE_HEADER_MAX:
            problems.append(f"{label}: the phone header is {height} px tall")


@pytest.fixture
def studio(alice, bob, team_a, e2e_media):
    """A team with history: finished videos of three shapes, running, failed and retried tasks,
    a second team (so the header shows the team switcher) and a watermarked copy."""
    wide = make_task(team_a, alice, prompt="A red fox trots through the snow at dawn, low tracking shot",
                     params={"aspect_ratio": "16:9", "seed": 7, "watermark": True}, seed_used=7)
    creation = wide.creations.get()
    creation.watermarked.save("wm.mp4", ContentFile(b"\0" * 64), save=True)
    tall = make_task(team_a, bob, prompt="A lighthouse in a storm, vertical", params={"aspect_ratio": "9:16"})
    tall.creations.update(width=720, height=1280)
    square = make_task(team_a, alice, prompt="Coffee poured into a glass cup", params={"aspect_ratio": "1:1"})
    square.creations.update(width=1080, height=1080)
    make_task(team_a, alice, state=State.PROCESSING, prompt="Waves on a black sand beach", progress=40)
    make_task(team_a, alice, state=State.QUEUED, prompt="A hummingbird at a red flower")
    make_task(team_a, alice, state=State.ARCHIVING, prompt="Hot air balloons over Cappadocia", progress=100)
    make_task(team_a, alice, state=State.CANCELLED, prompt="A paper boat in a gutter stream")
    failed = make_task(team_a, alice, state=State.FAILED, prompt="A crowd at a concert", error="Vidu refused the prompt.")
    make_task(team_a, alice, state=State.PENDING, prompt="A crowd at a concert", retry_of=failed)
    make_task(team_a, alice, state=State.FAILED, prompt="A storm over the sea", error="It timed out.")
    other = Team.objects.create(name="Zeta productions, a second team with a long name")
    Membership.objects.create(team=other, user=alice, role=Membership.Role.MEMBER)
    # a few members, so /team/ has rows of Remove buttons
    for name in ("carol", "dmitri-the-long-named-editor"):
        user = type(alice).objects.create_user(name, password="pw-" + name)
        Membership.objects.create(team=team_a, user=user, role=Membership.Role.MEMBER)
    # The library: a project, a remix of the wide video, a review status and comments.
    project = Project.objects.create(team=team_a, creator=alice, name="Spring campaign for a long-named client")
    GenerationTask.objects.filter(pk__in=[wide.pk, tall.pk]).update(project=project)
    remix = make_task(team_a, bob, prompt="A red fox trots through the snow at dusk", source=wide, project=project)
    remix.set_review("changes_requested", alice)
    Comment.objects.create(task=remix, author=alice, body="Slower at the start, please.", at=1.5)
    Comment.objects.create(task=remix, author=bob, body="Agreed.")
    return {"wide": wide, "tall": tall, "square": square, "failed": failed, "project": project, "remix": remix}


@pytest.mark.parametrize("width, height", WIDTHS, ids=["desktop", "phone"])
def test_every_page_passes_axe_and_fits(browser_pages, live_server, alice, bob, studio, width, height):
    problems = []
    page = browser_pages(width=width, height=height)
    page.goto("/accounts/login/")
    check_page(page, "login", width, problems)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    check_page(page, "login with an error", width, problems)

    page = browser_pages(alice, width=width, height=height)
    for label, url in [
        ("create", "/create/"),
        ("remix", f"/create/?remix={studio['wide'].uuid}"),
        ("tasks", "/tasks/"),
        ("failed tasks", "/tasks/?from=active&state=failed"),
        ("gallery", "/gallery/"),
        ("gallery with no match", "/gallery/?q=zebra"),
        ("video", f"/videos/{studio['wide'].uuid}/"),
        ("video of a failed task", f"/videos/{studio['failed'].uuid}/"),
        ("video with versions and comments", f"/videos/{studio['remix'].uuid}/"),
        ("gallery stacked by version", f"/gallery/?fold=1&review=changes_requested&project={studio['project'].uuid}"),
        ("projects", "/projects/"),
        ("project", f"/projects/{studio['project'].uuid}/"),
        ("team", "/team/"),
        ("usage", "/team/usage/"),
        ("audit log", "/team/audit/"),
        ("password change", "/accounts/password_change/"),
        ("404", f"/videos/{uuid.uuid4()}/"),
    ]:
        page.goto(url)
        check_page(page, label, width, problems)

    # A refused create shows its errors inline: those must pass too.
    page.goto("/create/")
    page.get_by_role("button", name="Generate").click()
    page.locator(".error").first.wait_for()
    check_page(page, "create with errors", width, problems)

    # 403: a member posting what only the creator or an admin may (no button offers it).
    teammate = browser_pages(bob, width=width, height=height)
    teammate.goto("/gallery/")
    with teammate.expect_navigation():
        teammate.evaluate("""url => { const f = document.createElement('form'); f.method = 'post'; f.action = url;
            f.appendChild(document.querySelector('[name=csrfmiddlewaretoken]').cloneNode());
            document.body.appendChild(f); f.submit(); }""", f"/videos/{studio['wide'].uuid}/delete/")
    expect(teammate.locator(".error-code")).to_have_text("403")
    check_page(teammate, "403", width, problems)
    # 403 for a form without its CSRF token
    with teammate.expect_navigation():
        teammate.evaluate("""url => { const f = document.createElement('form'); f.method = 'post'; f.action = url;
            document.body.appendChild(f); f.submit(); }""", f"/videos/{studio['wide'].uuid}/favorite/")
    expect(teammate.locator(".error-code")).to_have_text("403")
    check_page(teammate, "403 (CSRF)", width, problems)
    # 500: the page Django renders when a view crashes, with the app's stylesheet
    html = server_error(RequestFactory().get("/")).content.decode()
    teammate.goto("/accounts/login/")
    teammate.set_content(html)
    check_page(teammate, "500", width, problems)
    assert problems == [], "\n".join(problems)


def test_the_team_page_fits_a_phone_with_the_team_switcher(browser_pages, alice, studio):
    page = browser_pages(alice, width=390, height=844)
    page.goto("/team/")
    assert page.locator("#team-select").is_visible()  # the switcher is there, not hidden away
    for button in page.get_by_role("button", name="Remove").all():
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    header = page.locator("header.topbar").bounding_box()
    assert header["width"] == 390 and header["height"] <= PHONE_HEADER_MAX, header
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_gallery_tiles_keep_each_videos_shape(browser_pages, alice, studio):
    page = browser_pages(alice, width=1440, height=900)
    page.goto("/gallery/")
    for key, ratio in (("wide", 16 / 9), ("tall", 9 / 16), ("square", 1.0)):
        tile = page.locator(f'[data-task-id="{studio[key].uuid}"]')
        box = tile.locator(".tile-media").bounding_box()
        assert abs(box["width"] / box["height"] - ratio) < 0.03, (key, box)
        badge = tile.locator(".tile-ratio")
        expect(badge).to_have_text(re.compile(r"^(16:9|9:16|1:1)$"))
        assert badge.is_visible()
    # the whole frame shows: the video fills its box, nothing is cut off
    video = page.locator(f'[data-task-id="{studio["tall"].uuid}"] video')
    media = page.locator(f'[data-task-id="{studio["tall"].uuid}"] .tile-media')
    assert video.bounding_box()["height"] == pytest.approx(media.bounding_box()["height"], abs=1)
