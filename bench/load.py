"""Load on `make serve` (gunicorn, deploy/gunicorn.conf.py, its default sizes), DEBUG off, PostgreSQL.

Three figures (design.md, "Quality bars: Load"):

1. **Open pages polling progress.** ``--pages`` (100, then 300) pages, each on its own keep-alive connection
   as a browser keeps one, ask /tasks/progress/ for their user's running tasks every 2 s, paced as
   the page's ``every 2s`` trigger (a fixed tick, skipped while the previous poll is unanswered);
   their starts are spread over the first 2 s. The team has 10,000 finished videos (the history
   progress estimates read) and each of 10 members has 3 running tasks. Prints p50, p99, max,
   errors (a status other than 200 or 204, a broken connection, no answer within 10 s) and skipped
   ticks. Each page sends back the token its last full answer carried (X-Progress-Seen, as
   static/js/app.js does), so most polls are answered 204 No Content while nothing changes; the
   share of full answers is printed. The bar: p99 under 300 ms with no errors.
2. **Slow downloads.** Three clients download a 300 MB video at 2 MB/s each (reading slowly, so the
   server's socket buffers fill and it waits on them, as with a slow network) from the media view,
   which streams it itself (no nginx, no S3: the worst case). Meanwhile a trivial page and the
   gallery are fetched one at a time; their times are printed next to the same without the
   downloads. The bar: a page still answers in under 1 s.
3. **The gallery under concurrency.** 1, 10 and 30 clients each fetch the gallery's first page
   (24 of the 10,000 videos) as fast as they are answered: requests a second, p50, p99, errors.

Why a Python script and not wrk: the pages must be paced (a poll every 2 s per page, not as fast
as possible, which is what wrk measures; wrk2 paces but is not in Debian), each page asks for its
own user's tasks with its own session, and the downloads must read slowly. asyncio with one raw
HTTP/1.1 connection per page (no dependency) keeps 300 pages in one thread at low cost. The
client shares the machine's cores with the server it measures: on 2 cores its own CPU time (under
a tenth of a core at 150 polls a second; printed) is part of what is measured.

Runs on a throwaway PostgreSQL database (BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432),
made and dropped here, a private redis-server (REDIS_URL, as the README's deployment has it: the
the cache; --no-redis leaves it out), and a temporary MEDIA_ROOT and STATIC_ROOT;
`make serve` on a free port.

    .venv/bin/python bench/load.py [--pages 100,300] [--seconds 60] [--videos 10000] [--only polling,downloads,gallery]
                                   [--no-redis] [--changes SECONDS]

``--changes 2`` is the worst case for the short answer: every card changes between two polls, so
every poll gets the full answer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "vidu_bench_load"
USERS = 10
TIMEOUT = 10.0


def psql(server, sql):
    subprocess.run(["psql", f"{server}/postgres", "-qc", sql], check=True, capture_output=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", default="100,300", help="open pages, one run per number")
    parser.add_argument("--seconds", type=float, default=60, help="how long the pages poll (after a 10 s warm-up)")
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--running-per-user", type=int, default=3)
    parser.add_argument("--download-mb", type=int, default=300)
    parser.add_argument("--only", default="polling,downloads,gallery")
    parser.add_argument("--no-redis", action="store_true", help="no REDIS_URL: the cache in the database")
    parser.add_argument("--changes", type=float, default=0,
                        help="every this many seconds every running task's figure moves (0: never, the default)")
    args = parser.parse_args()

    server = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    psql(server, f"DROP DATABASE IF EXISTS {DB}")
    psql(server, f"CREATE DATABASE {DB}")
    tmp = tempfile.TemporaryDirectory(prefix="bench-load-")
    media, static = Path(tmp.name) / "media", Path(tmp.name) / "static"
    secret = secrets.token_urlsafe(50)  # the server's too: the sessions made here are signed with it
    os.environ.update(DATABASE_URL=f"{server}/{DB}", MEDIA_ROOT=str(media), DJANGO_SECRET_KEY=secret,
                      VIDU_WEB_TESTING="1", DJANGO_SETTINGS_MODULE="vidu_web.settings")
    redis = None if args.no_redis else start_redis()
    if redis:
        os.environ["REDIS_URL"] = redis["url"]
    import django

    django.setup()
    web = None
    try:
        data = fill(args.videos, args.running_per_user, args.download_mb, media)
        port = free_port()
        web = start_serve(port, os.environ["DATABASE_URL"], secret, media, static, Path(tmp.name) / "serve.log",
                          redis and redis["url"])
        print(machine())
        print(f"make serve: {web['workers']} processes x {web['threads']} threads (gthread), DEBUG off, PostgreSQL, "
              f"{'Redis (the cache)' if redis else 'no Redis (the cache in PostgreSQL)'}; "
              f"team: {args.videos:,} finished videos, {USERS} members x {args.running_per_user} running tasks")
        asyncio.run(run(args, port, data, web["process"].pid, redis and redis["process"].pid))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if web:
            stop(web["process"])
        if redis:
            redis["process"].terminate()
            redis["process"].wait(timeout=10)
        from django.db import connections

        connections.close_all()
        psql(server, f"DROP DATABASE IF EXISTS {DB}")
        tmp.cleanup()


def machine():
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    return (f"machine: {os.cpu_count()} cores ({model}), shared with other work: load average before "
            f"{os.getloadavg()[0]:.2f} (figures are noisy)")


def fill(videos, running_per_user, download_mb, media):
    """The team: USERS members, ``videos`` finished videos, running tasks; one large video on disk."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from vidu_web.studio.models import Creation, GenerationTask, Prompt, State
    from vidu_web.teams.models import Membership, Team

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    words = ["fox", "owl", "city", "ocean", "forest", "neon", "rain", "desert", "snow", "robot"]
    kinds = [dict(model="viduq2", duration=5, resolution="720p"), dict(model="viduq1", duration=5, resolution="1080p")]
    now = timezone.now()
    with transaction.atomic():
        team = Team.objects.create(name="Load studio")
        users = [get_user_model().objects.create_user(f"load{n}", password="x") for n in range(USERS)]
        for user in users:
            Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
        prompts = Prompt.objects.bulk_create(
            Prompt(team=team, author=users[n % USERS], text=f"a {words[n % 10]} and a {words[(n * 7) % 10]}, shot {n}")
            for n in range(videos + USERS * running_per_user))
        done = GenerationTask.objects.bulk_create(
            GenerationTask(team=team, creator=users[n % USERS], prompt=prompts[n], mode="text2video", **kinds[n % 2],
                           provider="sandbox", state=State.SUCCEEDED, credits=40,
                           created_at=now - timedelta(minutes=n + 2), started_at=now - timedelta(minutes=n + 2),
                           finished_at=now - timedelta(minutes=n, seconds=30))
            for n in range(videos))
        Creation.objects.bulk_create(
            Creation(task=task, upstream_id=f"c{n}", video=f"videos/load/{task.uuid}.mp4",
                     cover=f"covers/load/{task.uuid}.jpg", archived_at=now, video_bytes=1000)
            for n, task in enumerate(done))
        running = GenerationTask.objects.bulk_create(
            GenerationTask(team=team, creator=users[n % USERS], prompt=prompts[videos + n], mode="text2video",
                           **kinds[n % 2], provider="sandbox", state=State.PROCESSING, progress=None if n % 2 else 40,
                           upstream_id=f"u{n}", created_at=now - timedelta(seconds=20), started_at=now - timedelta(seconds=10),
                           next_attempt_at=now + timedelta(days=1))
            for n in range(USERS * running_per_user))
    # The large video: a real MP4 header, then a sparse file (no 300 MB written to disk).
    big = f"videos/load/big-{done[0].uuid}.mp4"
    path = media / big
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
        f.truncate(download_mb * 1024 * 1024)
    Creation.objects.filter(task=done[0]).update(video=big, video_bytes=download_mb * 1024 * 1024)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    sessions = []
    for user in users:
        client = Client()
        client.force_login(user)
        sessions.append(client.cookies["sessionid"].value)
    ids = {}
    for task in running:
        ids.setdefault(task.creator_id, []).append(str(task.uuid))
    return {"sessions": sessions, "ids": [",".join(ids[u.pk]) for u in users], "big": big,
            "big_bytes": download_mb * 1024 * 1024}


def start_redis():
    """A private redis-server on a free port, keeping nothing on disk."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return {"process": process, "url": f"redis://127.0.0.1:{port}/0"}
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("redis-server did not start") from None
            time.sleep(0.1)


def start_serve(port, database_url, secret, media, static, log, redis_url=None):
    """`make serve` as an operator runs it, with its default sizes, plain HTTP on 127.0.0.1."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIDU_", "DJANGO_", "DATABASE_URL", "REDIS_URL", "S3_", "AWS_", "PORT", "MEDIA_",
                                "STATIC_ROOT", "GUNICORN_"))}
    env.update(DJANGO_SETTINGS_MODULE="vidu_web.settings", DJANGO_SECRET_KEY=secret, DATABASE_URL=database_url,
               MEDIA_ROOT=str(media), STATIC_ROOT=str(static), PORT=str(port), DJANGO_SSL_REDIRECT="false")
    if redis_url:
        env["REDIS_URL"] = redis_url
    process = subprocess.Popen(["make", "--no-print-directory", "serve"], cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"make serve did not start:\n{Path(log).read_text()[-3000:]}") from None
            time.sleep(0.2)
    workers = int(env.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
    return {"process": process, "workers": workers, "threads": int(env.get("WEB_THREADS") or 8)}


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


class Connection:
    """One keep-alive HTTP/1.1 connection, as a browser tab holds one. No dependency: a load
    client on the same 2 cores must cost as little as it can."""

    def __init__(self, port, session):
        self.port, self.session = port, session
        self.reader = self.writer = None

    async def get(self, path, headers="", read=True, keep=False):
        """(status, body length, or the body itself with ``keep``) of GET ``path``; reconnects once
        if a reused connection was closed."""
        for attempt in (0, 1):
            reused = self.writer is not None
            if not reused:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                              f"Cookie: sessionid={self.session}\r\n{headers}\r\n".encode())
            try:
                await self.writer.drain()
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle connection: a browser retries too
                raise
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if not read:
            return status, fields
        if fields.get("transfer-encoding") == "chunked":
            chunks = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")
            body = b"".join(chunks)
        else:
            body = await self.reader.readexactly(int(fields.get("content-length", 0)))
        body = body if keep else len(body)
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pgid, redis_pid=None):
    """{pid: (kind, CPU seconds so far)} of the web server (every process of `make serve`'s group),
    of the PostgreSQL backends serving this database (their titles name it) and of our redis-server."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition(" (")[2].rpartition(") ")
            fields = rest.split()
            used = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
            if int(fields[2]) == pgid:
                found[stat.parent.name] = ("web", used)
            elif stat.parent.name == str(redis_pid):
                found[stat.parent.name] = ("redis", used)
            elif name == "postgres" and f" {DB} ".encode() in (stat.parent / "cmdline").read_bytes():
                found[stat.parent.name] = ("db", used)
        except (OSError, IndexError, ValueError):
            continue
    return found


class CpuMeter:
    """Server CPU per request over a phase: what the load costs, whatever else runs on the machine.
    Sampled every half second, so a process that ends meanwhile (Django closes a database
    connection after CONN_MAX_AGE, its backend exits) loses at most its last half second."""

    def __init__(self, pgid, redis_pid=None):
        self.pgid, self.redis_pid = pgid, redis_pid

    async def __aenter__(self):
        self.start = cpu_seconds(self.pgid, self.redis_pid)
        self.seen = dict(self.start)
        self.client, self.own = time.process_time(), 0.0
        self.sampler = asyncio.create_task(self._sample())
        return self

    async def _sample(self):
        while True:
            await asyncio.sleep(0.5)
            self.seen.update(await asyncio.to_thread(self._measured))

    def _measured(self):
        began = time.thread_time()
        found = cpu_seconds(self.pgid, self.redis_pid)
        self.own += time.thread_time() - began  # the meter's own cost is not the load client's
        return found

    async def __aexit__(self, *exc):
        self.sampler.cancel()
        self.seen.update(cpu_seconds(self.pgid, self.redis_pid))
        used = {"web": 0.0, "db": 0.0, "redis": 0.0}
        for pid, (kind, seconds) in self.seen.items():
            used[kind] += seconds - self.start.get(pid, (kind, 0.0))[1]
        self.web, self.db, self.redis = used["web"], used["db"], used["redis"]
        self.client = time.process_time() - self.client - self.own

    def per(self, requests):
        n = max(requests, 1)
        redis = f" + Redis {self.redis / n * 1000:.2f} ms" if self.redis_pid else ""
        return (f"CPU per request: web {self.web / n * 1000:.2f} ms + PostgreSQL {self.db / n * 1000:.2f} ms{redis} "
                f"= {(self.web + self.db + self.redis) / n * 1000:.2f} ms (load client {self.client / n * 1000:.2f} ms)")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def summary(times, errors, seconds):
    ms = [t * 1000 for t in times]
    return (f"{len(times) / seconds:6.1f} req/s, p50 {percentile(ms, 0.5):6.1f} ms, p99 {percentile(ms, 0.99):6.1f} ms, "
            f"max {max(ms, default=float('nan')):6.1f} ms, errors {errors}")


async def timed_get(conn, path, headers=""):
    start = time.perf_counter()
    status, _ = await asyncio.wait_for(conn.get(path, headers), TIMEOUT)
    return time.perf_counter() - start, status


async def run(args, port, data, pgid, redis_pid=None):
    check = Connection(port, data["sessions"][0])
    status, body = await check.get(f"/tasks/progress/?ids={data['ids'][0]}", "HX-Request: true\r\n")
    assert status == 200 and body > 0, status
    assert (await check.get("/gallery/"))[0] == 200
    check.close()
    only = set(args.only.split(","))
    if "polling" in only:
        for pages in map(int, args.pages.split(",")):
            await polling(pages, args.seconds, port, data, pgid, redis_pid, changes=args.changes)
    if "downloads" in only:
        await downloads(port, data)
    if "gallery" in only:
        for clients in (1, 10, 30):
            await gallery(port, data, clients, 15, pgid, redis_pid)


SEEN = re.compile(rb'data-seen="([^"]+)"')


def move_figures():
    """What a sweep does to the cards when the provider gives a figure: every running task's moves."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE studio_generationtask SET progress = COALESCE(progress, 0) % 98 + 1 "
                       "WHERE state = 'processing'")
    connection.close()


async def polling(pages, seconds, port, data, pgid, redis_pid=None, interval=2.0, warmup=10.0, changes=0.0):
    loop = asyncio.get_running_loop()
    begin = loop.time()
    measure_from, end = begin + warmup, begin + warmup + seconds
    times, errors, skipped, total, full = [], [], 0, 0, 0

    async def page(n):
        nonlocal skipped, total, full
        conn = Connection(port, data["sessions"][n % USERS])
        path = f"/tasks/progress/?ids={data['ids'][n % USERS]}"
        seen = ""  # the poller's data-seen, sent back as app.js does
        tick = begin + random.uniform(0, interval)
        while tick < end:
            await asyncio.sleep(max(0.0, tick - loop.time()))
            sent = loop.time()
            headers = "HX-Request: true\r\n" + (f"X-Progress-Seen: {seen}\r\n" if seen else "")
            try:
                start = time.perf_counter()
                status, body = await asyncio.wait_for(conn.get(path, headers, keep=True), TIMEOUT)
                took = time.perf_counter() - start
                failed = status not in (200, 204) and f"HTTP {status}"
                if status == 200:
                    found = SEEN.search(body)
                    seen = found.group(1).decode() if found else ""
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                took, failed, status = loop.time() - sent, type(exc).__name__, None
                conn.close()
            total += 1
            if sent >= measure_from:
                times.append(took)
                full += status == 200
                if failed:
                    errors.append(failed)
            tick += interval
            while tick < loop.time():  # still waiting when the next tick came: the page skips it
                tick += interval
                skipped += sent >= measure_from
        conn.close()

    async def mover():
        while loop.time() < end:
            await asyncio.sleep(changes)
            await asyncio.to_thread(move_figures)

    async with CpuMeter(pgid, redis_pid) as meter:
        movers = [mover()] if changes else []
        await asyncio.gather(*(page(n) for n in range(pages)), *movers)
    kinds = {e: errors.count(e) for e in set(errors)}
    moved = f", every running task's figure moving every {changes:g} s" if changes else ""
    print(f"{pages} pages polling every {interval:.0f} s for {seconds:.0f} s{moved}: "
          f"{summary(times, len(errors), seconds)} {kinds or ''}, skipped ticks {skipped}, "
          f"full answers {full} ({100 * full / max(len(times), 1):.0f} %, the rest 204)")
    print(f"  {meter.per(total)}")


async def downloads(port, data, clients=3, rate=2 * 1024 * 1024, seconds=20.0):
    """Three slow downloads hold their connections while single pages are timed."""
    pages = {"trivial page": "/accounts/password_change/done/", "gallery": "/gallery/"}
    before = await sample_pages(port, data, pages, 5.0)
    received = [0] * clients
    stop_at = asyncio.get_running_loop().time() + seconds

    async def slow(n):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /media/{data['big']} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Cookie: sessionid={data['sessions'][n]}\r\nConnection: close\r\n\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        start = time.perf_counter()
        while asyncio.get_running_loop().time() < stop_at:
            chunk = await reader.read(64 * 1024)
            if not chunk:
                break
            received[n] += len(chunk)
            await asyncio.sleep(max(0.0, received[n] / rate - (time.perf_counter() - start)))
        writer.close()

    loads = [asyncio.create_task(slow(n)) for n in range(clients)]
    await asyncio.sleep(2.0)  # the downloads are under way and the server is blocked on them
    during = await sample_pages(port, data, pages, seconds - 4.0)
    await asyncio.gather(*loads)
    mb = [r / 1024 / 1024 for r in received]
    print(f"{clients} downloads of a {data['big_bytes'] // 1024 // 1024} MB video at 2 MB/s, streamed by the media view "
          f"(no nginx, no S3): received {', '.join(f'{m:.0f}' for m in mb)} MB in {seconds:.0f} s")
    for name in pages:
        (b50, bmax), (d50, dmax) = before[name], during[name]
        print(f"  {name:13s} alone: median {b50 * 1000:6.1f} ms, max {bmax * 1000:6.1f} ms;"
              f"  during the downloads: median {d50 * 1000:6.1f} ms, max {dmax * 1000:6.1f} ms")


async def sample_pages(port, data, pages, seconds):
    """Each page in turn, one at a time, every 0.25 s, for ``seconds``: {page: (median, max)}."""
    conn = Connection(port, data["sessions"][USERS - 1])
    times = {name: [] for name in pages}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for name, path in pages.items():
            took, status = await timed_get(conn, path)
            assert status == 200, (path, status)
            times[name].append(took)
        await asyncio.sleep(0.25)
    conn.close()
    return {name: (statistics.median(t), max(t)) for name, t in times.items()}


async def gallery(port, data, clients, seconds, pgid, redis_pid=None):
    times, errors = [], 0
    end = time.perf_counter() + seconds

    async def client(n):
        nonlocal errors
        conn = Connection(port, data["sessions"][n % USERS])
        while time.perf_counter() < end:
            try:
                took, status = await timed_get(conn, "/gallery/")
                times.append(took)
                errors += status != 200
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                errors += 1
                conn.close()
        conn.close()

    async with CpuMeter(pgid, redis_pid) as meter:
        await asyncio.gather(*(client(n) for n in range(clients)))
    print(f"gallery first page, {clients:2d} clients as fast as answered for {seconds:.0f} s: {summary(times, errors, seconds)}")
    print(f"  {meter.per(len(times))}")


if __name__ == "__main__":
    main()
