"""Helpers for the view tests: images made on the fly and tasks in given states."""

import io
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from vidu_web.studio import providers
from vidu_web.studio.models import Creation, GenerationTask, Prompt, State

# The smallest valid MP4 is not needed: media tests only check bytes and ranges.
VIDEO_BYTES = bytes(range(256)) * 40  # 10,240 bytes


def png(width=256, height=256, color=(120, 80, 200), fmt="PNG"):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, fmt)
    return out.getvalue()


def upload(data, name="frame.png", content_type="image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def make_task(team, creator, state=State.SUCCEEDED, prompt="a fox in the snow", model="viduq1", duration=5,
              resolution="1080p", mode="text2video", seconds=60, with_video=True, **fields):
    """A task as the pipeline leaves it; a succeeded one gets a stored video and cover."""
    now = timezone.now()
    created = fields.pop("created_at", now - timedelta(seconds=seconds + 5))
    task = GenerationTask.objects.create(
        team=team,
        creator=creator,
        prompt=Prompt.objects.create(team=team, author=creator, text=prompt),
        mode=mode,
        model=model,
        duration=duration,
        resolution=resolution,
        params=fields.pop("params", {"aspect_ratio": "16:9"}),
        provider=fields.pop("provider", "sandbox"),
        endpoint=fields.pop("endpoint", providers.current().endpoint),
        state=state,
        created_at=created,
        finished_at=created + timedelta(seconds=seconds) if state not in (State.PENDING, State.QUEUED, State.PROCESSING) else None,
        credits=fields.pop("credits", 40),
        **fields,
    )
    if state == State.SUCCEEDED and with_video:
        creation = Creation(task=task, upstream_id=f"c-{task.pk}", duration=duration, width=1920, height=1080)
        creation.video.save(f"{task.uuid}.mp4", ContentFile(VIDEO_BYTES), save=False)
        creation.cover.save(f"{task.uuid}.jpg", ContentFile(png(fmt="JPEG")), save=False)
        creation.archived_at = now
        creation.save()
    return task


def csrf_post(client, url, data=None, page="/create/", **extra):
    """POST like a browser: fetch a page first for the CSRF cookie, then send the token."""
    if "csrftoken" not in client.cookies:
        client.get(page)
    token = client.cookies["csrftoken"].value
    return client.post(url, data or {}, HTTP_X_CSRFTOKEN=token, **extra)


HTMX = {"HTTP_HX_REQUEST": "true"}
