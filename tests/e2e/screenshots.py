"""Renders the README's screenshots into docs/screenshots/ (run by `make screenshots`).

Not collected by `make test` (its name doesn't start with test_): pytest runs it only when
the file is named on the command line.
"""

import json
import shutil
from datetime import timedelta
from pathlib import Path

from django.core.files.base import ContentFile
from django.utils import timezone

from tests.studio_helpers import make_task
from vidu_web.studio.models import Creation, State

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
SAMPLES = ROOT / "vidu_web" / "sandbox" / "media"
CLIPS = {clip["name"]: clip for clip in json.loads((SAMPLES / "clips.json").read_text())}
PROMPTS = [
    "A red fox trots through fresh snow at dawn, low tracking shot, soft golden light",
    "Neon-lit Tokyo alley in the rain, a cat walks past glowing signs, cinematic",
    "Slow aerial push over turquoise lagoon and white sand, drone shot",
    "Close-up of coffee being poured into a glass cup, steam rising, morning light",
    "Astronaut floating in a sunflower field, dreamy, anime style",
    "Old lighthouse on a cliff during a storm, waves crashing, dramatic clouds",
    "A paper boat drifting down a city gutter stream after rain, macro lens",
    "Hot air balloons rising over Cappadocia at sunrise, wide shot",
]


def _gallery(team, users):
    now = timezone.now()
    for n, prompt in enumerate(PROMPTS):
        task = make_task(team, users[n % len(users)], prompt=prompt, model=["viduq3-pro", "viduq2", "viduq1", "vidu2.0"][n % 4],
                         duration=[5, 8, 5, 4][n % 4], resolution=["720p", "1080p", "1080p", "360p"][n % 4],
                         with_video=False, credits=[40, 130, 60, 20][n % 4], seconds=40 + 7 * n,
                         created_at=now - timedelta(hours=n * 3, minutes=5), seed_used=1000 + n)
        clip = (n % 6) + 1
        # the sample clips' own shapes (16:9, 9:16 and 1:1), scaled as Vidu would deliver them
        shape = CLIPS[f"clip{clip}"]
        scale = 720 / min(shape["width"], shape["height"])
        creation = Creation(task=task, upstream_id=f"c{n}", duration=task.duration, width=round(shape["width"] * scale),
                            height=round(shape["height"] * scale), fps=24)
        creation.video.save(f"{task.uuid}.mp4", ContentFile((SAMPLES / f"clip{clip}.mp4").read_bytes()), save=False)
        creation.cover.save(f"{task.uuid}.jpeg", ContentFile((SAMPLES / f"cover{clip}.jpeg").read_bytes()), save=False)
        creation.save()
    return task


def test_render_screenshots(browser_pages, alice, bob, team_a):
    OUT.mkdir(parents=True, exist_ok=True)
    last = _gallery(team_a, [alice, bob])
    make_task(team_a, alice, state=State.PROCESSING, prompt="Waves rolling onto a black sand beach, slow motion",
              progress=62, started_at=timezone.now() - timedelta(seconds=30), model="viduq3-turbo", resolution="720p")
    make_task(team_a, alice, state=State.QUEUED, prompt="A hummingbird hovering at a red flower, 120 fps look",
              model="viduq2", resolution="1080p", duration=8)
    make_task(team_a, alice, state=State.FAILED, prompt="A crowd at a concert", error="Vidu refused the prompt under its content policy.")

    page = browser_pages()
    page.goto("/accounts/login/")
    page.screenshot(path=str(OUT / "login.png"))
    page = browser_pages(alice)
    for name, url in [("create", "/create/"), ("tasks", "/tasks/"), ("gallery", "/gallery/"), ("video", f"/videos/{last.uuid}/")]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / f"{name}.png"), full_page=name != "gallery")
    page.goto("/create/?mode=start-end2video&model=vidu2.0")
    frames = [SAMPLES / "cover1.jpeg", SAMPLES / "cover3.jpeg"]
    page.locator("#id_images").set_input_files([str(f) for f in frames])
    page.get_by_role("textbox", name="Prompt").fill("From the test card to the fractal, smooth morph")
    page.get_by_role("button", name="Generate").click()
    page.locator("#create-form .alert-success, #images-error").first.wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "create-frames.png"), full_page=True)
    mobile = browser_pages(alice, width=390, height=844)
    for name, url in [("mobile-create", "/create/"), ("mobile-gallery", "/gallery/")]:
        mobile.goto(url)
        mobile.wait_for_load_state("networkidle")
        mobile.screenshot(path=str(OUT / f"{name}.png"))
    assert (OUT / "gallery.png").stat().st_size > 10_000
    shutil.rmtree(ROOT / "test-results" / "unused", ignore_errors=True)


def test_render_library_screenshots(browser_pages, alice, bob, team_a):
    """Projects, a project's page and a video under review with time-coded comments."""
    from vidu_web.studio.models import Comment, GenerationTask, Project

    OUT.mkdir(parents=True, exist_ok=True)
    last = _gallery(team_a, [alice, bob])
    campaign = Project.objects.create(team=team_a, creator=alice, name="Spring campaign")
    Project.objects.create(team=team_a, creator=bob, name="Travel reel")
    Project.objects.create(team=team_a, creator=alice, name="Pitch ideas", is_private=True)
    GenerationTask.objects.filter(team=team_a).exclude(pk=last.pk).filter(pk__lt=last.pk).update(project=campaign)
    remix = make_task(team_a, bob, prompt=last.prompt.text + ", closer", source=last, project=campaign, with_video=False,
                      model=last.model, duration=last.duration)
    creation = last.creations.get()
    Creation.objects.create(task=remix, upstream_id="remix", duration=creation.duration, width=creation.width,
                            height=creation.height, fps=24, video=creation.video.name, cover=creation.cover.name)
    remix.set_review("changes_requested", alice)
    Comment.objects.create(task=remix, author=alice, body="Lovely light. Can the balloons rise a little slower here?", at=1.5)
    Comment.objects.create(task=remix, author=bob, body="On it: trying a lower movement setting.")
    page = browser_pages(alice)
    for name, url in [("projects", "/projects/"), ("project", f"/projects/{campaign.uuid}/"),
                      ("video-review", f"/videos/{remix.uuid}/")]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    assert (OUT / "project.png").stat().st_size > 10_000


def test_render_more_of_vidu(browser_pages, alice, bob, team_a):
    """Extend and Upscale on a finished video's page, its extension, and the keyframes form."""
    OUT.mkdir(parents=True, exist_ok=True)
    source = _gallery(team_a, [alice, bob])
    extension = make_task(team_a, alice, mode="extend", model="viduq2-pro", duration=3, resolution="720p",
                          prompt="The balloons drift apart as the sun clears the ridge", source=source,
                          params={"video_creation_id": "c7"}, with_video=False)
    creation = Creation(task=extension, upstream_id="c-ext", duration=8, width=1280, height=720, fps=24)
    creation.video.save(f"{extension.uuid}.mp4", ContentFile((SAMPLES / "clip2.mp4").read_bytes()), save=False)
    creation.cover.save(f"{extension.uuid}.jpeg", ContentFile((SAMPLES / "cover2.jpeg").read_bytes()), save=False)
    creation.save()
    page = browser_pages(alice)
    page.goto(f"/videos/{source.uuid}/")
    page.locator("#extend summary").click()
    page.locator("#upscale summary").click()
    page.get_by_label("What happens next").fill("The balloons drift apart as the sun clears the ridge")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "versions.png"), full_page=True)
    page.goto(f"/videos/{extension.uuid}/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "extension.png"), full_page=True)
    page.goto("/create/?mode=multiframe")
    page.locator("#id_start_image").set_input_files(str(SAMPLES / "cover1.jpeg"))
    for n, cover in enumerate(("cover2.jpeg", "cover3.jpeg", "cover4.jpeg"), 1):
        page.locator(f"#key-image-{n}").set_input_files(str(SAMPLES / cover))
        page.locator(f"#key-prompt-{n}").fill(["The pattern melts into a fractal", "Cells bloom across it",
                                               "Everything settles into stripes"][n - 1])
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "keyframes.png"), full_page=True)
