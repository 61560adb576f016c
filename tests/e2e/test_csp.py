"""The pages under their Content-Security-Policy in a real browser: what it blocks is blocked
(and the browser tests notice), and what the policy took out of the markup still works:
progress bars get their width, the poller asks for the running cards every 2 s."""

import time

import pytest
from playwright.sync_api import expect

from tests.studio_helpers import make_task
from vidu_web.studio.models import State

pytestmark = [pytest.mark.e2e]


def test_inline_script_and_style_are_blocked_and_the_watch_reports_it(browser_pages, alice):
    page = browser_pages(alice)
    page.goto("/tasks/")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__ran = true';
                            document.body.appendChild(s); document.body.setAttribute('style', 'color: red'); }""")
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("getComputedStyle(document.body).color") != "rgb(255, 0, 0)"
    deadline = time.monotonic() + 5
    while len(browser_pages.policy_problems) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    seen = "\n".join(browser_pages.policy_problems)
    assert "script-src" in seen and "style-src" in seen, seen
    browser_pages.policy_problems.clear()  # expected here; any other would fail the test


def test_progress_bars_show_their_width_and_the_poller_asks_every_two_seconds(browser_pages, alice, team_a):
    running = make_task(team_a, alice, state=State.PROCESSING, progress=40)
    make_task(team_a, alice)  # done: not asked for
    page = browser_pages(alice)
    polls, answers = [], []
    page.on("request", lambda r: polls.append((time.monotonic(), r.url)) if "/tasks/progress/" in r.url else None)
    page.on("response", lambda r: answers.append((r.status, r.request.headers.get("x-progress-seen")))
            if "/tasks/progress/" in r.url else None)
    page.goto("/tasks/")
    fill = page.locator(f'[data-task-id="{running.uuid}"] .progress-fill')
    ratio = "el => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"
    page.wait_for_function(f"el => ({ratio})(el) > 0.38", arg=fill.element_handle())
    assert 0.35 < fill.evaluate(ratio) < 0.45
    page.wait_for_timeout(5000)
    assert 2 <= len(polls) <= 3, polls
    assert all(url.endswith(f"?ids={running.uuid}") for _, url in polls), polls
    # The first poll gets the card anew, with a token; the next send it back and, nothing having
    # changed, get 204 No Content: the card stays as it is, and polling goes on.
    assert answers[0] == (200, None) and all(status == 204 and seen for status, seen in answers[1:]), answers
    expect(page.locator(f'[data-task-id="{running.uuid}"] [role=progressbar]')).to_have_attribute("aria-valuenow", "40")
    assert 0.35 < page.locator(f'[data-task-id="{running.uuid}"] .progress-fill').evaluate(ratio) < 0.45


def test_the_admin_and_its_operations_page_run_under_the_policy(browser_pages, django_user_model, alice, team_a):
    make_task(team_a, alice, state=State.FAILED, err_code="CreationPolicyViolation")
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "password-root")
    page = browser_pages(admin)
    for path in ("/admin/", "/admin/operations/", "/admin/studio/generationtask/", "/admin/auth/user/add/"):
        assert page.goto(path).status == 200, path
        page.wait_for_load_state("networkidle")
    page.goto("/admin/")
    page.get_by_role("link", name="Queue, tasks by state, sweep heartbeat, provider errors").click()
    expect(page.get_by_role("heading", name="Tasks by state")).to_be_visible()
    # Any violation on these pages fails the test when the fixture closes them.
