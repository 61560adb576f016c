"""The progress fragment (/tasks/progress/, what every open page asks every 2 s) at 0 and 5,000
past tasks of the same settings: prints both times. The bar (design.md): its cost does not grow
with the team's history.

Runs on a throwaway PostgreSQL database (BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432),
made and dropped here. Requests go through Django's full middleware stack with a signed-in user;
the page asks about 5 running tasks of two kinds, with no token (each answer is the full one) and
the usual times forgotten before each (each reads the history).

    .venv/bin/python bench/progress.py [--history 5000] [--rounds 200]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "vidu_bench_progress"

from bench.pipeline import fresh_database, psql  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--history", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    server, media = fresh_database(DB, "bench-progress-")
    os.environ.update(DATABASE_URL=f"{server}/{DB}", MEDIA_ROOT=media.name, VIDU_WEB_TESTING="1",
                      DJANGO_SETTINGS_MODULE="vidu_web.settings")
    import django

    django.setup()
    try:
        run(args.history, args.rounds)
    finally:
        from django.db import connections

        connections.close_all()
        psql(server, f"DROP DATABASE IF EXISTS {DB}")


def run(history, rounds):
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from vidu_web.studio import progress
    from vidu_web.studio.models import GenerationTask, Prompt, State
    from vidu_web.teams.models import Team

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", password="x")
    team = Team.personal_for(user)
    prompt = Prompt.objects.create(team=team, author=user, text="a fox in the snow")
    now = timezone.now()
    kinds = [dict(model="viduq2", duration=5, resolution="720p"), dict(model="viduq2", duration=8, resolution="1080p")]

    def task(i, **fields):
        return GenerationTask(team=team, creator=user, prompt=prompt, mode="text2video", provider="sandbox",
                              **kinds[i % 2], **fields)

    running = GenerationTask.objects.bulk_create([
        task(i, state=State.PROCESSING, progress=None if i % 2 else 40, created_at=now - timedelta(seconds=20),
             started_at=now - timedelta(seconds=10)) for i in range(5)])
    ids = ",".join(str(t.uuid) for t in running)
    client = Client()
    client.force_login(user)

    def measure():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        url = f"/tasks/progress/?ids={ids}"
        headers = {"HTTP_HX_REQUEST": "true"}
        assert client.get(url, **headers).content.count(b"data-task-id=") == 5
        times = []
        for _ in range(rounds):
            progress.forget()  # polls remember the usual times a minute: measure the answer that reads them
            t0 = time.perf_counter()
            client.get(url, **headers)
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times), sorted(times)[int(len(times) * 0.95)]

    figures = {0: measure()}
    made = 0
    # 500 is past the rows read per kind (progress.HISTORY_ROWS): from there on it must stay flat.
    for size in (500, history):
        GenerationTask.objects.bulk_create([
            task(i, state=State.SUCCEEDED, created_at=now - timedelta(hours=1, seconds=i + 40 + i % 30),
                 finished_at=now - timedelta(hours=1, seconds=i)) for i in range(made, size)], batch_size=2000)
        made = size
        figures[size] = measure()
    print("progress fragment, 5 running tasks of 2 kinds (goal: does not grow with history): " + ", ".join(
        f"{size:,} past tasks {median:.2f} ms (p95 {p95:.2f})" for size, (median, p95) in figures.items()))

if __name__ == "__main__":
    main()
