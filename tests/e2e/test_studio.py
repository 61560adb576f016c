"""The creator's whole path in a real browser: live server, sandbox and a qcluster subprocess."""

import re
import time

import pytest

from tests.cluster import running_cluster, wait_for
from tests.studio_helpers import make_task, png
from vidu_web.studio.models import GenerationTask, State

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def stack(vidu_settings, sandbox, e2e_media, live_server):
    """Sandbox stages of 1 s (the bar has time to move), and a cluster working for real."""
    sandbox.configure(step=1.0)
    with running_cluster() as cluster:
        yield cluster


FAKE_NOTIFICATIONS = """
window.__notes = []; window.__asked = 0;
window.Notification = class { constructor(title) { window.__notes.push(title); }
  static get permission() { return window.__asked ? "granted" : "default"; }
  static requestPermission() { window.__asked += 1; return Promise.resolve("granted"); } };
"""


def card(page, task_uuid):
    return page.locator(f'[data-task-id="{task_uuid}"]').first


def submit_and_follow(page, fill):
    """Fill the form with ``fill(page)``, submit, and follow the new card to done; returns the task."""
    before = set(GenerationTask.objects.values_list("pk", flat=True))
    fill(page)
    page.get_by_role("button", name="Generate").click()
    new = wait_for(lambda: GenerationTask.objects.exclude(pk__in=before).first(), 10, message="the new task")
    task_card = card(page, new.uuid)
    task_card.wait_for()
    assert task_card.locator('[role="progressbar"]').count() == 1  # shows at once, with its bar
    seen = set()
    deadline = time.monotonic() + 60
    while task_card.get_attribute("data-state") != "succeeded":
        # Read in one step in the page: the card may be swapped (its bar gone) between two calls.
        now = page.evaluate("id => { const b = document.querySelector(`[data-task-id='${id}'] [role=progressbar]`);"
                            " return b && b.getAttribute('aria-valuenow'); }", str(new.uuid))
        if now is not None:
            seen.add(now)
        assert time.monotonic() < deadline, f"still {task_card.get_attribute('data-state')}: {new.uuid}"
        assert task_card.get_attribute("data-state") not in ("failed", "cancelled")
        time.sleep(0.2)
    assert len(seen) >= 2, f"the bar never moved: {seen}"
    return new


def test_sign_in_with_the_form(browser_pages, alice):
    page = browser_pages()
    page.goto("/gallery/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("password-alice")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/gallery/$"))
    assert page.get_by_role("heading", name=re.compile("Gallery")).is_visible()


def test_create_watch_play_remix_and_share(stack, browser_pages, alice, bob, charlie, tmp_path):
    page = browser_pages(alice)
    page.goto("/create/")
    page.evaluate("window.__noReload = true")

    def text_mode(p):
        p.get_by_role("textbox", name="Prompt").fill("A red fox trots through fresh snow")
        p.get_by_label("Model").select_option("viduq2")

    text_task = submit_and_follow(page, text_mode)
    text_card = card(page, text_task.uuid)
    assert text_card.locator("video").count() == 1  # a playable thumbnail now
    assert page.locator(".toast", has_text="ready").count() >= 1
    assert page.evaluate("window.__noReload") is True

    frame = tmp_path / "frame.png"
    frame.write_bytes(png(320, 240, (200, 90, 40)))

    def image_mode(p):
        p.locator("label.seg", has_text="Image to video").click()
        p.locator("#id_model option[value='viduq2-pro']").wait_for(state="attached")
        p.locator("#id_images").set_input_files(str(frame))
        p.locator("#previews img").wait_for()
        p.get_by_role("textbox", name="Prompt").fill("The frame comes alive")

    image_task = submit_and_follow(page, image_mode)
    assert image_task.mode == "img2video" and image_task.images.count() == 1
    assert page.evaluate("window.__noReload") is True

    # The gallery plays our copy.
    page.goto("/gallery/")
    tile_video = page.locator(f'[data-task-id="{image_task.uuid}"] video')
    assert tile_video.get_attribute("src").startswith("/media/") and tile_video.get_attribute("poster")
    tile_video.hover()
    page.wait_for_function("v => v.readyState >= 2", arg=tile_video.element_handle(), timeout=15_000)

    # Remix it: the form comes back filled, with the same image.
    page.locator(f'[data-task-id="{image_task.uuid}"] a.tile-media').click()
    page.wait_for_url(re.compile(f"/videos/{image_task.uuid}/"))
    page.wait_for_function("() => document.querySelector('#player').readyState >= 2 || (document.querySelector('#player').play(), false)", timeout=15_000)
    page.get_by_role("link", name="Remix").click()
    page.wait_for_url(re.compile(r"/create/\?remix="))
    assert page.get_by_role("textbox", name="Prompt").input_value() == "The frame comes alive"
    assert page.locator("input[name=mode][value=img2video]").is_checked()
    assert page.locator("#remix-images img").count() == 1
    remix = submit_and_follow(page, lambda p: p.get_by_role("textbox", name="Prompt").fill("The frame comes alive, at night"))
    assert remix.images.count() == 1 and remix.prompt.text.endswith("at night")

    # A teammate sees it; an outsider gets 404 for the page and the file.
    video_url = f"/videos/{image_task.uuid}/"
    media_url = tile_video.get_attribute("src")
    teammate = browser_pages(bob)
    teammate.goto("/gallery/")
    assert teammate.locator(f'[data-task-id="{image_task.uuid}"]').count() == 1
    assert teammate.goto(video_url).status == 200
    outsider = browser_pages(charlie)
    assert outsider.goto(video_url).status == 404
    assert outsider.goto(media_url).status == 404
    outsider.goto("/gallery/")
    assert outsider.locator(f'[data-task-id="{image_task.uuid}"]').count() == 0


def test_the_form_follows_mode_and_model_and_keeps_input_on_errors(browser_pages, alice, e2e_media, tmp_path):
    page = browser_pages(alice)
    page.goto("/create/")
    models = page.locator("#id_model option")
    assert "viduq2" in models.evaluate_all("os => os.map(o => o.value)")
    page.locator("label.seg", has_text="Start and end frames").click()
    page.wait_for_function("() => !document.querySelector('#id_model option[value=viduq2]')")
    page.get_by_label("Model").select_option("vidu2.0")
    # vidu2.0 makes 4 or 8 s clips: wait for its block (the previous model offered 8 s too)
    page.wait_for_function("() => document.querySelectorAll('#id_duration option').length === 2")
    page.get_by_label("Length").select_option("8")
    page.wait_for_function("() => document.querySelectorAll('#id_resolution option').length === 1")
    assert page.locator("#id_resolution").input_value() == "720p"
    assert page.locator("#images-hint").inner_text().startswith("Two images")
    # a wrong file: the message shows beside the images; the prompt and the picked file stay
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not an image")
    page.locator("#id_images").set_input_files([str(bad), str(bad)])
    page.get_by_role("textbox", name="Prompt").fill("keep this text")
    page.get_by_role("button", name="Generate").click()
    page.locator("#images-error").wait_for()
    assert "png, jpeg or webp" in page.locator("#images-error").inner_text()
    assert page.get_by_role("textbox", name="Prompt").input_value() == "keep this text"
    assert page.locator("#id_images").evaluate("i => i.files.length") == 2
    assert page.locator("#id_duration").input_value() == "8"
    assert not GenerationTask.objects.exists()


def test_progress_polls_once_for_all_and_stops(browser_pages, alice, team_a, e2e_media):
    running = [make_task(team_a, alice, state=State.PROCESSING, progress=10 * n) for n in range(1, 4)]
    page = browser_pages(alice)
    page.add_init_script(FAKE_NOTIFICATIONS)
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "/tasks/progress/" in r.url else None)
    page.goto("/tasks/")
    assert page.evaluate("window.__asked") == 0  # never asked on load
    page.locator("#notify-toggle").click()  # asked on a click
    assert page.evaluate("window.__asked") == 1
    assert page.locator("#notify-toggle").get_attribute("aria-pressed") == "true"
    page.wait_for_timeout(2500)
    assert len(polls) == 1 and all(str(t.uuid) in polls[0] for t in running)  # one request for all three
    GenerationTask.objects.filter(pk__in=[t.pk for t in running]).update(state=State.FAILED, error="Vidu said no.")
    page.wait_for_function("() => document.querySelectorAll('[data-state=failed]').length === 3", timeout=5000)
    count = len(polls)
    page.wait_for_timeout(4500)
    assert len(polls) == count  # nothing runs: polling stopped
    assert page.locator(".toast", has_text="failed").count() >= 1
    assert "A video failed" in page.evaluate("window.__notes")


def test_it_fits_a_phone(browser_pages, alice, team_a, e2e_media):
    make_task(team_a, alice)
    page = browser_pages(alice, width=375, height=740)
    for url in ("/create/", "/tasks/", "/gallery/"):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), url


def test_on_a_phone_a_refused_submit_shows_its_error_and_focuses_the_field(browser_pages, alice, team_a, e2e_media):
    # a long Recent list below the form: the swap used to drop focus to <body> and scroll
    # anchoring carried the page down the list, far from the error
    for n in range(6):
        make_task(team_a, alice, state=State.SUCCEEDED, prompt=f"older {n}")
    page = browser_pages(alice, width=390, height=844)
    console = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.goto("/create/")
    page.locator("label.seg", has_text="Image to video").click()
    page.wait_for_function("() => document.querySelector('#prompt-required').textContent === 'optional'")
    button = page.get_by_role("button", name="Generate")
    button.scroll_into_view_if_needed()
    button.click()
    page.locator("#images-error").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_images'")
    box = page.locator("#images-error").bounding_box()
    assert 0 < box["y"] < 844, box
    assert not GenerationTask.objects.exclude(prompt__text__startswith="older").exists()
    assert console == []
