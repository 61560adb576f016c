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
    # The create form's project menu, and a price for its default settings (Q3 Pro, 5 s, 720p, audio on)
    from vidu_web.studio.models import Project

    Project.objects.create(team=team_a, creator=alice, name="Spring campaign")
    make_task(team_a, bob, prompt="A lantern festival over a river at night", model="viduq3-pro", duration=5,
              resolution="720p", params={"aspect_ratio": "16:9", "audio": True}, credits=55, with_video=False,
              created_at=timezone.now() - timedelta(days=2))

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
    page.get_by_label("Seconds added").select_option("3")  # priced by the extension below: an estimate shows
    page.get_by_label("What happens next").fill("The balloons drift apart as the sun clears the ridge")
    page.locator("#extend-end-frames input[name=end_frame_video]").nth(2).check()  # a poster from the gallery
    page.locator("#extend-estimate", has_text="about").wait_for()
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header stays on top in a full-page shot
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


def _month_of_work(team, users):
    """Four weeks of a team's videos for the usage charts: a few a day by each member, on three
    models, some failed (refunded: they count 0). Fixed by a seed so the pictures don't drift."""
    import random

    rng = random.Random(9)
    now = timezone.now()
    settings_by_model = {"viduq2": (5, "720p", 130), "viduq3-pro": (5, "720p", 40), "viduq1": (5, "1080p", 60)}
    for day in range(1, now.day - 1):  # before the gallery's day: the create page's Recent list shows those
        for _ in range(rng.randint(1, 4)):
            model = rng.choice(list(settings_by_model))
            duration, resolution, credits = settings_by_model[model]
            failed = rng.random() < 0.12
            make_task(team, rng.choice(users), state=State.FAILED if failed else State.SUCCEEDED, model=model,
                      duration=duration, resolution=resolution, credits=credits, with_video=False,
                      prompt=rng.choice(PROMPTS), error="Vidu refused the prompt under its content policy." if failed else "",
                      created_at=now.replace(day=day, hour=rng.randint(8, 18), minute=rng.randint(0, 59)))


def test_render_team_screenshots(browser_pages, vidu_settings, alice, bob, charlie, team_a, django_user_model):
    """The team page with a budget and open invitations, usage, the audit log, the join page a
    signed-out invitee sees, and a create the budget refuses."""
    from vidu_web.teams import spend
    from vidu_web.teams.models import AuditEvent, Invitation, Membership, Team

    OUT.mkdir(parents=True, exist_ok=True)
    dora = django_user_model.objects.create_user("dora", "dora@example.org", "quiet-harbour-lantern-83")
    Membership.objects.create(team=team_a, user=dora, role=Membership.Role.ADMIN)
    _gallery(team_a, [alice, bob, dora])
    _month_of_work(team_a, [alice, bob, bob, dora])
    spent = spend.total(spend.by_creator(spend.month_tasks(team_a))).committed
    # 86 % of the budget used: the team page shows its warning
    Team.objects.filter(pk=team_a.pk).update(credit_budget=round(spent / 0.86, -2))
    Membership.objects.filter(team=team_a, user=bob).update(credit_cap=3000)
    Membership.objects.filter(team=team_a, user=dora).update(credit_cap=1500)
    link = Invitation.objects.create(team=team_a, role=Membership.Role.MEMBER, email="erin@example.org", created_by=alice)
    Invitation.objects.create(team=team_a, role=Membership.Role.VIEWER, max_uses=5, created_by=dora,
                              expires_at=timezone.now() + timedelta(days=3))
    Invitation.objects.create(team=team_a, role=Membership.Role.MEMBER, invitee=charlie, created_by=alice)
    now = timezone.now()
    budget = Team.objects.get(pk=team_a.pk).credit_budget
    for minutes, actor, action, target, details in [
        (4, alice, "invitation-made", "erin@example.org as member", {}),
        (35, alice, "invitation-made", "charlie as member", {}),
        (70, alice, "budget-changed", "Studio A", {"old": 5000, "new": budget}),
        (95, alice, "cap-changed", "dora", {"old": 0, "new": 1500}),
        (180, dora, "invitation-made", "a link as viewer", {}),
        (300, bob, "share-made", "video 3f2a9c41-7d0e-4b8a-9a51-2c6e0f1d8b77", {}),
        (420, bob, "video-private", "“A paper boat drifting down a city gutter stream after rain” (8c1d02fe)", {}),
        (1500, dora, "invitation-accepted", "a link as member", {}),
        (1501, dora, "member-added", "dora", {}),
        (1510, alice, "role-changed", "dora", {"old": "member", "new": "admin"}),
        (1600, alice, "cap-changed", "bob", {"old": 2000, "new": 3000}),
        (2900, alice, "video-deleted", "“A crowd at a concert” (51e7b0a2)", {}),
        (4400, alice, "member-removed", "frank", {}),
    ]:
        AuditEvent.objects.create(team=team_a, actor=actor, action=action, target=target, details=details,
                                  ip="198.51.100.7" if actor == bob else "203.0.113.24",
                                  at=now - timedelta(minutes=minutes))

    page = browser_pages(alice)
    for name, url in [("team", "/team/"), ("usage", "/team/usage/"), ("audit", "/team/audit/")]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)

    phone = browser_pages(alice, width=390, height=844)
    phone.goto("/team/usage/")
    phone.wait_for_load_state("networkidle")
    phone.screenshot(path=str(OUT / "mobile-usage.png"))

    newcomer = browser_pages()
    newcomer.goto(link.get_absolute_url())
    newcomer.wait_for_load_state("networkidle")
    newcomer.screenshot(path=str(OUT / "join.png"))

    # Nearly all of the budget gone: a 130-credit video won't fit, and the form says why.
    Team.objects.filter(pk=team_a.pk).update(credit_budget=spent + 60)
    page.goto("/create/?model=viduq2")
    page.select_option("#id_resolution", "720p")
    page.select_option("#id_duration", "5")
    page.fill("#id_prompt", "Slow aerial push over a turquoise lagoon, drone shot")
    page.get_by_role("button", name="Generate").click()
    alert = page.locator("#create-form .alert-error")
    alert.wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    # the heading and the form alone: its reason at the top, the estimate beside Generate at the
    # bottom (clipped from the whole page, so the sticky top bar doesn't land on the form)
    box = page.locator("#create-form").bounding_box()
    page.screenshot(path=str(OUT / "create-refused.png"), full_page=True,
                    clip={"x": 0, "y": box["y"] - 70, "width": box["x"] + box["width"] + 20, "height": box["height"] + 90})
    assert (OUT / "usage.png").stat().st_size > 10_000


def test_render_share_screenshot(browser_pages, alice, bob, team_a):
    """The public page of a share link, as a visitor with no account sees it."""
    from vidu_web.studio.models import GenerationTask
    from vidu_web.studio.shares import ShareLink

    OUT.mkdir(parents=True, exist_ok=True)
    _gallery(team_a, [alice, bob])
    task = GenerationTask.objects.get(prompt__text=PROMPTS[1])
    GenerationTask.objects.filter(pk=task.pk).update(resolution="720p")  # as its frame size (1280×720) says
    link = ShareLink.make(task, alice, show_prompt=True, show_settings=True)
    visitor = browser_pages()
    visitor.goto(f"/share/{link.token}/")
    visitor.wait_for_load_state("networkidle")
    # A frame decoded and the player at rest: else Chromium draws its loading ring over the poster
    visitor.evaluate("""async () => {
      const player = document.querySelector('#player');
      player.muted = true;
      await player.play();
      player.pause();
      player.currentTime = 0;
      await new Promise(done => player.readyState >= 2 && !player.seeking ? done() : player.addEventListener('seeked', done, {once: true}));
    }""")
    visitor.screenshot(path=str(OUT / "share.png"), full_page=True)
