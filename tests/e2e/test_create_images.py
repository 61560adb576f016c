"""The create form's images in a real browser: mode switches, previews, remove, swap, and the
image checks shown when a file is picked (issue 8, item 1), and the remix seed (item 8)."""

import re

import pytest
from playwright.sync_api import expect

from tests.cluster import wait_for
from tests.studio_helpers import make_task, png
from vidu_web.studio.models import GenerationTask

pytestmark = [pytest.mark.e2e]


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def choose_mode(page, label, model):
    page.locator("label.seg", has_text=label).click()
    page.locator(f"#id_model option[value='{model}']").wait_for(state="attached")


def test_an_image_left_behind_by_text_mode_never_blocks_generate(browser_pages, alice, tmp_path):
    # the defect as reported: pick "Image to video", choose an image, go back to "Text to video",
    # type a prompt, Generate: it was refused on every try until a reload
    page = browser_pages(alice)
    page.goto("/create/")
    choose_mode(page, "Image to video", "viduq2-pro")
    page.locator("#id_images").set_input_files(write(tmp_path, "frame.png", png(320, 240)))
    page.locator("#previews img").wait_for()
    choose_mode(page, "Text to video", "viduq2")
    page.get_by_role("textbox", name="Prompt").fill("A lighthouse at dusk")
    for made in (1, 2):  # "on every try"
        page.get_by_role("button", name="Generate").click()
        wait_for(lambda made=made: GenerationTask.objects.filter(prompt__text="A lighthouse at dusk").count() == made,
                 20, message=f"text task {made}")
        expect(page.locator(".alert-success")).to_be_visible()  # the answer is on screen before the next try
    assert page.locator("#images-error").count() == 0
    assert page.locator(".alert-success").inner_text().count("left out") == 0  # nothing was sent
    assert [t.mode for t in GenerationTask.objects.all()] == ["text2video", "text2video"]
    assert not any(t.images.exists() for t in GenerationTask.objects.all())
    # the image stays on screen, set aside, with its remove button (once the answer's swap settles)
    expect(page.locator("#images-aside")).to_be_visible()
    expect(page.locator("#images-aside")).to_contain_text("set aside and won't be sent")
    expect(page.locator("#previews").get_by_role("button", name="Remove image 1")).to_be_visible()
    # and back to an image mode: the image is used again
    choose_mode(page, "Image to video", "viduq2-pro")
    assert page.locator("#id_images").evaluate("i => i.files.length") == 1
    expect(page.locator("#images-aside")).to_be_hidden()


def test_previews_keep_each_shape_and_can_be_removed_and_swapped(browser_pages, alice, tmp_path):
    page = browser_pages(alice)
    page.goto("/create/")
    choose_mode(page, "Start and end frames", "viduq3-pro")
    wide = write(tmp_path, "wide.png", png(400, 200, (200, 0, 0)))
    wider = write(tmp_path, "wider.png", png(420, 200, (0, 0, 200)))
    page.locator("#id_images").set_input_files([wide, wider])
    page.locator("#previews img").nth(1).wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('#previews img')].every(i => i.complete && i.naturalWidth)")
    box = page.locator("#previews img").first.bounding_box()
    assert 1.9 < box["width"] / box["height"] < 2.1, box  # 2:1, not a square crop
    names = "i => Array.from(i.files).map(f => f.name)"
    assert page.locator("#id_images").evaluate(names) == ["wide.png", "wider.png"]
    page.get_by_role("button", name="Swap first and last").click()
    assert page.locator("#id_images").evaluate(names) == ["wider.png", "wide.png"]
    assert page.locator("#previews figcaption").all_inner_texts() == ["1 · first frame", "2 · last frame"]
    assert "wider.png" in page.locator("#previews img").first.get_attribute("alt")
    page.get_by_role("button", name="Remove image 1").click()
    assert page.locator("#id_images").evaluate(names) == ["wide.png"]
    assert page.locator("#previews img").count() == 1


def test_image_problems_show_when_picked_and_clear_when_replaced(browser_pages, alice, tmp_path):
    page = browser_pages(alice)
    page.goto("/create/")
    choose_mode(page, "Image to video", "viduq2-pro")
    check = page.locator("#images-check")
    pick = page.locator("#id_images").set_input_files
    for name, data, words in (
        ("tiny.png", png(64, 64), "is 64x64 pixels: each side must be at least 128 pixels"),
        ("strip.png", png(1000, 200), "its sides must be within 1:4 of each other"),
        ("notes.png", b"this is not an image", "isn't a png, jpeg or webp file we can read"),
    ):
        pick(write(tmp_path, name, data))
        page.wait_for_function("w => document.querySelector('#images-check').textContent.includes(w)", arg=words)
        assert check.is_visible() and name in check.inner_text()
    pick(write(tmp_path, "good.png", png(300, 200)))
    page.wait_for_function("() => document.querySelector('#images-check').hidden")
    # start and end frames of different shapes
    choose_mode(page, "Start and end frames", "viduq3-pro")
    pick([write(tmp_path, "a.png", png(300, 300)), write(tmp_path, "b.png", png(600, 300))])
    page.wait_for_function("() => document.querySelector('#images-check').textContent.includes('same shape')")
    pick([write(tmp_path, "a.png", png(300, 300)), write(tmp_path, "c.png", png(310, 300))])
    page.wait_for_function("() => document.querySelector('#images-check').hidden")


def test_remix_reuses_the_seed_in_one_click(browser_pages, alice, team_a):
    source = make_task(team_a, alice, seed_used=4242)
    page = browser_pages(alice)
    page.goto(f"/create/?remix={source.uuid}")
    seed = page.get_by_label("Seed")
    assert seed.input_value() == ""
    page.get_by_role("textbox", name="Prompt").fill("typed before reusing")
    page.get_by_role("link", name="Reuse seed 4242").click()
    assert seed.input_value() == "4242"
    assert re.search(r"remix=[0-9a-f-]+$", page.url)  # no reload: what was typed stays
    assert page.get_by_role("textbox", name="Prompt").input_value() == "typed before reusing"
