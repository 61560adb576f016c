"""Gallery with 10,000 team videos vs a trivial view of the same app: prints both times.

Runs on a throwaway database: SQLite in a temp dir, or with BENCH_POSTGRES=postgres://user@host:port
a database made (and dropped) on that PostgreSQL server. Requests go through
Django's full middleware stack with a signed-in user. The bar (design.md): under 3x the trivial view.

    .venv/bin/python bench/gallery.py [--videos 10000] [--rounds 30]
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="bench-gallery-")
    server = os.environ.get("BENCH_POSTGRES", "").rstrip("/")
    if server:
        _postgres("CREATE DATABASE vidu_bench_gallery", server)
        os.environ["DATABASE_URL"] = f"{server}/vidu_bench_gallery"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vidu_web.settings")
    os.environ["MEDIA_ROOT"] = tmp.name
    # Test-like settings: no HTTPS redirect, no static manifest; DEBUG stays off.
    os.environ["VIDU_WEB_TESTING"] = "1"
    import django

    django.setup()
    from django.conf import settings

    settings.ROOT_URLCONF = "bench.gallery_urls"
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    user = fill(args.videos)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    from django.test import Client

    client = Client()
    client.force_login(user)
    assert b"data-task-id" in client.get("/gallery/").content
    bare = timed(client, "/bench/trivial/", args.rounds)
    trivial = timed(client, "/accounts/password_change/done/", args.rounds)
    gallery = timed(client, "/gallery/", args.rounds)
    search = timed(client, "/gallery/?q=fox&model=viduq2", args.rounds)
    deep_url = "/gallery/"
    for _ in range(40):  # follow "more" 40 times: 960 videos down
        deep_url = "/gallery/?" + re.search(r'hx-get="/gallery/\?([^"]+)"', client.get(deep_url).content.decode())[1].replace("&amp;", "&")
    deep = timed(client, deep_url, args.rounds)
    print(f"videos in the team's gallery: {args.videos} ({connection.vendor})")
    print(f"bare HttpResponse view (no template):         median {bare * 1000:6.1f} ms")
    print(f"trivial page (base layout, no data):          median {trivial * 1000:6.1f} ms")
    print(f"gallery, first page of 24:                    median {gallery * 1000:6.1f} ms  ({gallery / trivial:.2f}x the trivial page)")
    print(f"gallery, search + model filter:               median {search * 1000:6.1f} ms  ({search / trivial:.2f}x)")
    print(f"gallery, 40 pages down (960 videos scrolled): median {deep * 1000:6.1f} ms  ({deep / trivial:.2f}x)")
    ok = gallery < 3 * trivial
    print("bar (< 3x):", "met" if ok else "NOT met")
    tmp.cleanup()
    if server:
        connection.close()
        _postgres("DROP DATABASE vidu_bench_gallery", server)
    return 0 if ok else 1


def _postgres(statement, server):
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS vidu_bench_gallery")
        if statement.startswith("CREATE"):
            conn.execute(statement)


def timed(client, url, rounds):
    for _ in range(3):
        client.get(url)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def fill(count):
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from vidu_web.studio.models import Creation, GenerationTask, Prompt, State
    from vidu_web.teams.models import Membership, Team

    words = ["fox", "owl", "city", "ocean", "forest", "neon", "rain", "desert", "snow", "robot"]
    models = ["viduq3-pro", "viduq2", "viduq1", "vidu2.0"]
    with transaction.atomic():
        team = Team.objects.create(name="Bench studio")
        users = [get_user_model().objects.create_user(f"bench{n}", password="x") for n in range(5)]
        for user in users:
            Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
        now = timezone.now()
        prompts = Prompt.objects.bulk_create(
            Prompt(team=team, author=users[n % 5], text=f"a {words[n % 10]} and a {words[(n * 7) % 10]}, shot {n}")
            for n in range(count)
        )
        tasks = GenerationTask.objects.bulk_create(
            GenerationTask(team=team, creator=users[n % 5], prompt=prompts[n], mode="text2video", model=models[n % 4],
                           duration=5, resolution="720p", provider="sandbox", state=State.SUCCEEDED, credits=40,
                           created_at=now - timezone.timedelta(minutes=n + 2),
                           finished_at=now - timezone.timedelta(minutes=n))
            for n in range(count)
        )
        Creation.objects.bulk_create(
            Creation(task=task, upstream_id=f"c{n}", video=f"videos/bench/{task.uuid}.mp4", cover=f"covers/bench/{task.uuid}.jpg",
                     archived_at=now)
            for n, task in enumerate(tasks)
        )
    return users[0]


if __name__ == "__main__":
    sys.exit(main())
