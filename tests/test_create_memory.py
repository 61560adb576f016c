"""design.md, "Quality bars: Storage": a create with the most and largest images allowed raises
the web process's memory by less than 100 MB (issue 8, item 18).

Measured as a real process would feel it: a fresh Python process (tests/create_memory_probe.py)
runs Django's WSGI handler against the test database and streams the request body from a file;
its peak RSS over the create is compared with its RSS just before. Ten 4000x4000 PNGs of
almost 20 MB each (keyframes: a start image and 9 key images, the most images a mode takes): the
most pixels a PNG may have and the most bytes an image may have.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from PIL import Image

from tests.cluster import database_url
from tests.studio_helpers import png
from vidu_web.studio.models import GenerationTask
from vidu_web.vidu import images

PROBE = Path(__file__).with_name("create_memory_probe.py")
BOUNDARY = "----vidu-memory-probe"
TOKEN = "a" * 32
BAR_MB = 100


def largest_png() -> bytes:
    """A PNG at the pixel limit, as close to the byte limit as noise makes it."""
    side = 4000
    assert side * side <= images.MAX_PIXELS
    rows = settings.UPLOAD_MAX_BYTES // (side * 3) - 40
    picture = Image.new("RGB", (side, side), (40, 90, 160))
    picture.paste(Image.frombytes("RGB", (side, rows), os.urandom(side * 3 * rows)), (0, 0))
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    data = out.getvalue()
    assert settings.UPLOAD_MAX_BYTES * 0.95 < len(data) <= settings.UPLOAD_MAX_BYTES, len(data)
    return data


def write_body(path, fields, files, names=None):
    """A multipart body: ``fields``, then ``files`` under ``names`` (one each; "images" by default)."""
    with open(path, "wb") as out:
        for name, value in fields.items():
            out.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for n, data in enumerate(files):
            field = names[n] if names else "images"
            out.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="ref{n}.png"\r\n'
                      f"Content-Type: image/png\r\n\r\n".encode())
            out.write(data)
            out.write(b"\r\n")
        out.write(f"--{BOUNDARY}--\r\n".encode())
    return str(path)


def session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}; {settings.CSRF_COOKIE_NAME}={TOKEN}"


def test_the_largest_allowed_create_stays_under_the_memory_bar(transactional_db, alice, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the probe process shares the test database only on PostgreSQL (make test uses it)")
    warm = write_body(tmp_path / "warm", {"mode": "reference2video", "model": "viduq1", "prompt": "keep these faces",
                                          "duration": "5", "resolution": "1080p"}, [png(300, 200)])
    big = largest_png()
    most = settings.UPLOAD_MAX_FILES
    fields = {"mode": "multiframe", "model": "viduq2-pro", "resolution": "720p"}
    body = write_body(tmp_path / "body", fields, [big] * most, ["start_image"] + ["key_images"] * (most - 1))
    assert os.path.getsize(body) <= settings.UPLOAD_MAX_REQUEST_BYTES
    env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(tmp_path / "media"),
           "DJANGO_SECRET_KEY": settings.SECRET_KEY, "VIDU_WEB_TESTING": "1"}
    env.pop("REDIS_URL", None)
    run = subprocess.run([sys.executable, str(PROBE), session_cookie(alice), TOKEN,
                          f"multipart/form-data; boundary={BOUNDARY}", warm, body],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"largest create: {most} x {len(big) / 2**20:.1f} MB, web process grew {figures['growth_mb']:.1f} MB")
    assert figures["statuses"] == ["302 Found", "302 Found"], run.stderr[-3000:]
    created = GenerationTask.objects.order_by("id").last()
    assert created.images.count() == most  # the whole create ran: checked, decoded and stored
    assert figures["growth_mb"] < BAR_MB, figures
