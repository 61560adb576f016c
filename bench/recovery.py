"""Recovery figures (design.md, "Quality bars: Pipeline"), with real qcluster processes in production timings.

- SIGKILL + restart: a cluster polling 20 running tasks is killed with SIGKILL (the whole
  process group) and a new one started at once; the time from the restart to the first query
  of a task, and to the create of a submission whose message died with the cluster. Goals:
  10 s and 15 s.
- broker down/up: the cluster runs on a private redis-server, which is stopped for 20 s; the
  longest gap between two queries meanwhile, the time from Redis being back to the next query,
  and to the create of a task made during the outage. Goals: 10 s, and 15 s for the create.
- SIGTERM: to the cluster's process group while it works; the time until every process of it
  has exited. Goal: 10 s.

Runs on a throwaway PostgreSQL database (BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432),
made and dropped here, with the sandbox in a separate process.

    .venv/bin/python bench/recovery.py [--rounds 3] [--outage 20]
"""

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
DB = "vidu_bench_recovery"
PRODUCTION = {"PIPELINE_FAST": "0", "VIDU_TIMEOUT": "30"}

from bench.pipeline import free_port, fresh_database, psql, sandbox_call, team_and_user, wait_http  # noqa: E402


def wait(check, timeout, what):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--outage", type=float, default=20)
    args = parser.parse_args()

    server, media = fresh_database(DB, "bench-recovery-")
    sandbox_port = free_port()
    env = {**os.environ, "DATABASE_URL": f"{server}/{DB}", "MEDIA_ROOT": media.name, "VIDU_WEB_TESTING": "1",
           "SANDBOX_PORT": str(sandbox_port), "VIDU_PROVIDER": "sandbox", "VIDU_API_KEY": "bench-key",
           "DJANGO_SETTINGS_MODULE": "vidu_web.settings", **PRODUCTION}
    for name in ("VIDU_BASE_URL", "VIDU_CALLBACK_BASE_URL", "REDIS_URL"):
        env.pop(name, None)
    os.environ.clear()
    os.environ.update(env)
    sandbox = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "vidu_sandbox", "--port", str(sandbox_port)],
                               env=env, stderr=subprocess.DEVNULL)
    try:
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True, env=env)
        base = f"http://127.0.0.1:{sandbox_port}"
        wait_http(f"{base}/_sandbox/health")
        import django

        django.setup()
        print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
              f"Python {platform.python_version()}, {platform.platform()}")
        kill_figures(base, args.rounds)
        broker_figures(base, args.outage)
        sigterm_figures(base, args.rounds)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        psql(server, f"DROP DATABASE IF EXISTS {DB}")


def make_tasks(n, label, enqueue=True):
    from vidu_web.studio import jobs, services

    team, user = team_and_user()
    original = jobs.submit
    if not enqueue:
        jobs.submit = lambda task_id: None  # its message is lost
    try:
        return [services.create_task(team, user, "text2video", {"model": "viduq2", "prompt": f"{label} {i}"}, [])
                for i in range(n)]
    finally:
        jobs.submit = original


def last_poll(tasks):
    from django.db.models import Max

    from vidu_web.studio.models import GenerationTask

    return GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).aggregate(t=Max("last_polled_at"))["t"]


def polled_after(tasks, moment):
    from vidu_web.studio.models import GenerationTask

    return GenerationTask.objects.filter(pk__in=[t.pk for t in tasks], last_polled_at__gt=moment).exists()


def sent(base, task):
    return sandbox_call(base, "counts")["creates"].get(str(task.uuid), 0) > 0


def all_sent(tasks):
    from vidu_web.studio.models import GenerationTask

    return not GenerationTask.objects.filter(pk__in=[t.pk for t in tasks], upstream_id="").exists()


def show(label, values, goal):
    print(f"{label}: median {statistics.median(values):.1f} s (runs {', '.join(f'{v:.1f}' for v in values)}; "
          f"goal {goal} s)", flush=True)


def kill_figures(base, rounds):
    from cluster import Cluster
    from django.utils import timezone

    sandbox_call(base, "config", {"step": 3600, "max_running": 100000})  # they run until we are done
    def one_round(r):
        tasks = make_tasks(20, f"kill round {r}")
        cluster = Cluster(PRODUCTION).start()
        wait(lambda: all_sent(tasks) and polled_after(tasks, timezone.now() - timezone.timedelta(seconds=2)),
             60, "the first cluster to poll")
        lost = make_tasks(1, f"lost {r}", enqueue=False)[0]
        cluster.kill()
        killed = timezone.now()
        cluster.start()
        restarted = time.monotonic()
        poll = wait(lambda: polled_after(tasks, killed), 60, "a poll after the restart") - restarted
        create = wait(lambda: sent(base, lost), 60, "the lost submission") - restarted
        cluster.stop()
        finish(tasks + [lost])
        return poll, create

    polls, creates = zip(*[one_round(r) for r in range(rounds)], strict=True)
    show("SIGKILL + restart -> first poll", polls, 10)
    show("SIGKILL + restart -> lost submission sent", creates, 15)


def broker_figures(base, outage):
    from cluster import Cluster, wait_for
    from django.utils import timezone

    sandbox_call(base, "config", {"step": 3600, "max_running": 100000})
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]

    def redis_up():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    redis = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    wait_for(redis_up, timeout=10)
    tasks = make_tasks(20, "broker")
    cluster = Cluster({**PRODUCTION, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}).start()
    try:
        wait(lambda: all_sent(tasks) and last_poll(tasks), 60, "the tasks to be sent through Redis and polled")
        redis.terminate()
        redis.wait(timeout=10)
        down = timezone.now()
        during = make_tasks(1, "during the outage")[0]
        gaps, seen = [0.0], last_poll(tasks)
        until = time.monotonic() + outage
        while time.monotonic() < until:
            time.sleep(0.1)
            latest = last_poll(tasks)
            gaps.append((timezone.now() - latest).total_seconds())
            seen = latest
        redis = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        wait_for(redis_up, timeout=10)
        back_at, back = timezone.now(), time.monotonic()
        poll = wait(lambda: polled_after(tasks, back_at), 60, "a poll after Redis is back") - back
        create = wait(lambda: sent(base, during), 60, "the submission made during the outage") - back
        log = cluster.log()
    finally:
        cluster.stop()
        redis.terminate()
        redis.wait(timeout=10)
    print(f"broker down {outage:.0f} s: longest gap between queries meanwhile {max(gaps):.1f} s "
          f"(polls seen until {(seen - down).total_seconds():.1f} s into the outage)")
    print(f"broker back -> next poll {poll:.1f} s (goal 10 s); -> submission made during the outage sent "
          f"{create:.1f} s (goal 15 s); 'broker is unreachable' logged {log.count('job broker is unreachable')}x")
    finish(tasks + [during])


def sigterm_figures(base, rounds):
    from cluster import Cluster

    sandbox_call(base, "config", {"step": 1.0, "max_running": 5})
    def one_round(r):
        tasks = make_tasks(10, f"sigterm round {r}")
        cluster = Cluster(PRODUCTION).start()
        wait(lambda: all_sent(tasks[:3]), 60, "work in progress")
        took = cluster.stop(timeout=30)
        finish(tasks)
        return took

    took = [one_round(r) for r in range(rounds)]
    show("SIGTERM to the group -> every process gone", took, 10)


def finish(tasks):
    """Out of the next round's way: these count as done."""
    from vidu_web.studio.models import GenerationTask, State

    GenerationTask.objects.filter(pk__in=[t.pk for t in tasks]).update(state=State.CANCELLED)


if __name__ == "__main__":
    main()
