"""Browser fixtures: Debian's Chromium driven by Playwright (sync API) against the live server.

Users sign in by copying a session cookie into the browser (like linkding's e2e tests); one test
types into the login form. A failing test leaves a screenshot in test-results/.

Pages run under the app's own Content-Security-Policy, and a test fails on any violation of it
(a `securitypolicyviolation` event, or Chromium's "Refused to ..." console line) and on any
Permissions-Policy the browser could not parse.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import testcases

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# body are still synchronous and safe. Only the browser tests set this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Django's live server would serve MEDIA_URL straight from MEDIA_ROOT, to anyone. Our media
# is private: take that handler out so every file goes through the app's access-checked view.
testcases._MediaFilesHandler = lambda application: application

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # bin/test-setup reads the same variable
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--autoplay-policy=no-user-gesture-required"]
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
# Before any page script: every CSP violation becomes a console error the test collects.
CSP_WATCH = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline code") +
                " in " + e.sourceFile + ":" + e.lineNumber + " (" + (e.sample || "") + ")");
}, true);"""
POLICY_PROBLEM = re.compile(r"CSP violation|Content Security Policy|Permissions-Policy|Permissions policy", re.IGNORECASE)


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def playwright_browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install chromium (make test does, as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def e2e_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def browser_pages(request, playwright_browser, live_server, e2e_media):
    """``open_page(user=None, width=1280, height=860)``: a page in its own context, signed in
    as ``user`` by a copied session cookie. Screenshots of every open page on failure."""
    contexts = []

    def open_page(user=None, width=1280, height=860):
        context = playwright_browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
        context.set_default_timeout(15_000)
        if user is not None:
            context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session_for(user),
                                  "url": live_server.url}])
        context.add_init_script(CSP_WATCH)
        context.on("console", lambda msg: policy_problems.append(f"{msg.location.get('url', '')}: {msg.text}")
                   if POLICY_PROBLEM.search(msg.text) else None)
        page = context.new_page()
        page.on("pageerror", lambda exc: print(f"[page error] {exc}"))
        contexts.append((context, page))
        return page

    policy_problems = []
    open_page.policy_problems = policy_problems  # test_csp.py checks that the watch works
    yield open_page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for n, (context, page) in enumerate(contexts):
        if failed:
            RESULTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-120:]
            try:
                page.screenshot(path=str(RESULTS / f"{name}-{n}.png"), full_page=True)
            except Exception as exc:  # the page may have crashed; the failure says more
                print(f"screenshot failed: {exc}")
        context.close()
    if policy_problems:
        pytest.fail("the page broke its Content-Security-Policy or Permissions-Policy:\n" + "\n".join(policy_problems))


def session_for(user):
    """A session key for ``user``, as if they had signed in."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key
