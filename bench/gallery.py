"""Gallery with many team videos vs a trivial view of the same app: prints both times.

Runs on a throwaway database: SQLite in a temp dir, or with BENCH_POSTGRES=postgres://user@host:port
a database made (and dropped) on that PostgreSQL server. Requests go through
Django's full middleware stack with a signed-in user. The bar (design.md, "Quality bars: Pages"):
the first page, a two-word search and a page 40 pages down each under 3x the trivial view, with
the same number of SQL queries as in a team of 10 videos (a second team in the same database).

    .venv/bin/python bench/gallery.py [--videos 100000] [--rounds 30] [--instructions]

--instructions (SQLite) also counts the instructions of one request of each page under
valgrind's callgrind (``valgrind`` and a C compiler needed): a figure that doesn't move with the
machine's load, as wall and CPU times do. Each page is asked 3 times first, then counted over 3.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# One database per run, so that two runs on a shared server don't drop each other's.
DB_NAME = f"vidu_bench_gallery_{os.getpid()}"
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--instructions", action="store_true", help="count each request's instructions (callgrind)")
    parser.add_argument("--counted", nargs="+", help=argparse.SUPPRESS)  # the process run under callgrind
    args = parser.parse_args()
    if args.counted:
        return counted(args.counted)

    tmp = tempfile.TemporaryDirectory(prefix="bench-gallery-")
    server = os.environ.get("BENCH_POSTGRES", "").rstrip("/")
    if server:
        _postgres(f"CREATE DATABASE {DB_NAME}", server)
        os.environ["DATABASE_URL"] = f"{server}/{DB_NAME}"
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
    started = time.perf_counter()
    user = fill(args.videos, "Bench studio", "bench")
    small_user = fill(10, "Small studio", "small")
    filled = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    from django.test import Client

    client = Client()
    client.force_login(user)
    assert b"data-task-id" in client.get("/gallery/").content
    deep_url = "/gallery/"
    for _ in range(40):  # follow "more" 40 times: 960 videos down
        deep_url = next_page(client, deep_url)
    urls = {"first page": "/gallery/", "search": "/gallery/?q=desert+owl", "deep": deep_url,
            "rare search": "/gallery/?q=shot+4242"}
    assert client.get(urls["search"]).content.count(b"data-task-id") == 24
    bare = timed(client, "/bench/trivial/", args.rounds)
    trivial = timed(client, "/accounts/password_change/done/", args.rounds)
    times = {label: timed(client, url, args.rounds) for label, url in urls.items()}
    counts = {label: queries_of(client, url) for label, url in urls.items()}

    small = Client()
    small.force_login(small_user)
    small_urls = {"first page": "/gallery/", "search": "/gallery/?q=desert+owl",
                  "deep": next_page(small, "/gallery/", per_page=5), "rare search": "/gallery/?q=shot+4242"}
    small_counts = {label: queries_of(small, url) for label, url in small_urls.items()}

    print(f"videos in the team's gallery: {args.videos} ({connection.vendor}; filled in {filled:.0f} s)")
    print(f"bare HttpResponse view (no template):         median {bare * 1000:6.1f} ms")
    print(f"trivial page (base layout, no data):          median {trivial * 1000:6.1f} ms")
    lines = {"first page": "gallery, first page of 24:                   ",
             "search": "gallery, two-word search (q=desert owl):     ",
             "deep": "gallery, 40 pages down (960 videos scrolled):",
             "rare search": "gallery, rare two-word search (q=shot 4242):"}
    trivial_cpu = CPU["/accounts/password_change/done/"]
    for label, text in lines.items():
        print(f"{text} median {times[label] * 1000:6.1f} ms  ({times[label] / trivial:.2f}x the trivial page; "
              f"CPU {CPU[urls[label]] / trivial_cpu:.2f}x)  {counts[label]} queries (at 10 videos: {small_counts[label]})")
    print(f"load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    if args.instructions and not server:
        connection.close()
        trivial_url = "/accounts/password_change/done/"
        millions = instructions(tmp.name, [trivial_url, *urls.values()])
        print(f"instructions per request: trivial page {millions[trivial_url]:.1f} M; " + "; ".join(
            f"{label} {millions[url]:.1f} M ({millions[url] / millions[trivial_url]:.2f}x)" for label, url in urls.items()))
    ok = all(times[label] < 3 * trivial for label in ("first page", "search", "deep")) and counts == small_counts
    print("bar (< 3x, same query counts):", "met" if ok else "NOT met")
    tmp.cleanup()
    if server:
        connection.close()
        _postgres(f"DROP DATABASE {DB_NAME}", server)
    return 0 if ok else 1


def _postgres(statement, server):
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        if statement.startswith("CREATE"):
            conn.execute(statement)


def next_page(client, url, per_page=None):
    """The URL the page's "more" link loads (with ``per_page``, a cursor after that many rows)."""
    html = client.get(url).content.decode()
    if per_page is not None:
        from vidu_web.studio.models import GenerationTask

        row = GenerationTask.objects.filter(team__name="Small studio").order_by("-finished_at", "-id")[per_page - 1]
        return f"/gallery/?after={row.finished_at.isoformat()}_{row.id}".replace("+", "%2B")
    return "/gallery/?" + re.search(r'hx-get="/gallery/\?([^"]+)"', html)[1].replace("&amp;", "&")


def queries_of(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured)


def timed(client, url, rounds):
    """The median wall time of a request, and its median CPU time in this process (which holds
    SQLite's work too, not PostgreSQL's): the CPU figure moves less with the machine's load."""
    for _ in range(3):
        client.get(url)
    times, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert response.status_code == 200, (url, response.status_code)
    CPU[url] = statistics.median(cpu)
    return statistics.median(times)


CPU = {}  # url -> median CPU time (timed)
COUNTED_ROUNDS = 3
# Callgrind's client requests, called through ctypes around the counted requests.
CALLGRIND_C = """#include <valgrind/callgrind.h>
void start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; CALLGRIND_TOGGLE_COLLECT; }
void stop(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS; CALLGRIND_STOP_INSTRUMENTATION; }
"""


def instructions(folder, urls):
    """{url: millions of instructions per request}, counted by callgrind in a new process on this
    database; only the counted requests are instrumented (not Django's start)."""
    if not shutil.which("valgrind") or not shutil.which("cc"):
        print("--instructions: valgrind and cc are needed")
        return {url: float("nan") for url in urls}
    source, library = Path(folder, "cg.c"), Path(folder, "libcg.so")
    source.write_text(CALLGRIND_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", library, source], check=True)
    out = Path(folder, "callgrind.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
                    f"--callgrind-out-file={out}", sys.executable, __file__, "--counted", str(library), *urls],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    counts = {}
    for number, url in enumerate(urls, start=1):  # one dump per URL: callgrind.out.1, .2, ...
        totals = re.search(r"^(?:summary|totals): (\d+)", Path(f"{out}.{number}").read_text(), re.MULTILINE)
        counts[url] = int(totals[1]) / COUNTED_ROUNDS / 1e6
    return counts


def counted(argv):
    """Under callgrind: each URL asked 3 times, then COUNTED_ROUNDS times between start and stop."""
    import ctypes

    library, urls = ctypes.CDLL(argv[0]), argv[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vidu_web.settings")
    os.environ["VIDU_WEB_TESTING"] = "1"
    import django

    django.setup()
    from django.conf import settings

    settings.ROOT_URLCONF = "bench.gallery_urls"
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench0"))
    for url in urls:
        for _ in range(3):
            assert client.get(url).status_code == 200, url
        library.start()
        for _ in range(COUNTED_ROUNDS):
            client.get(url)
        library.stop()
    return 0


def fill(count, name, prefix):
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from vidu_web.studio.models import Creation, GenerationTask, Prompt, State
    from vidu_web.teams.models import Membership, Team

    words = ["fox", "owl", "city", "ocean", "forest", "neon", "rain", "desert", "snow", "robot"]
    models = ["viduq3-pro", "viduq2", "viduq1", "vidu2.0"]
    batch = 5000
    with transaction.atomic():
        team = Team.objects.create(name=name)
        users = [get_user_model().objects.create_user(f"{prefix}{n}", password="x") for n in range(5)]
        for user in users:
            Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
        now = timezone.now()
        for low in range(0, count, batch):
            span = range(low, min(count, low + batch))
            prompts = Prompt.objects.bulk_create(
                Prompt(team=team, author=users[n % 5], text=f"a {words[n % 10]} and a {words[(n * 7) % 10]}, shot {n}")
                for n in span
            )
            tasks = GenerationTask.objects.bulk_create(
                GenerationTask(team=team, creator=users[n % 5], prompt=prompts[n - low], mode="text2video",
                               model=models[n % 4], duration=5, resolution="720p", provider="sandbox",
                               state=State.SUCCEEDED, credits=40, created_at=now - timezone.timedelta(minutes=n + 2),
                               finished_at=now - timezone.timedelta(minutes=n))
                for n in span
            )
            Creation.objects.bulk_create(
                Creation(task=task, upstream_id=f"c{n}", video=f"videos/bench/{task.uuid}.mp4",
                         cover=f"covers/bench/{task.uuid}.jpg", archived_at=now)
                for n, task in zip(span, tasks, strict=True)
            )
    return users[0]


if __name__ == "__main__":
    sys.exit(main())
