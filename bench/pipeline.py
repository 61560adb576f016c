"""Pipeline figures: one sweep over 1,000 running tasks, and Vidu calls per finished task.

- sweep: 1,000 tasks running at the sandbox (a separate process, slowed so none finishes),
  all due at once; the time until one sweep (PIPELINE_POOL_SIZE threads) has queried and
  written every one of them. Goal (design.md): under 5 s on 2 cores.
- calls: 30 tasks from create to archived video, with callbacks on (a runserver process
  receives the sandbox's signed callbacks) and off; Vidu requests per finished task (the
  create, the queries, any URL refresh), after a first batch of 30 that gives the team its
  usual times. Goals: close to 2 (one create, one final query) with callbacks on; at most
  3.0 with polling only, while the median delay from the provider's success (seen by a
  separate client every 0.1 s) to our archived video stays under 5 s.

Runs on a throwaway PostgreSQL database (BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432),
made and dropped here.

    .venv/bin/python bench/pipeline.py [--tasks 1000] [--rounds 3] [--finished 30]
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "vidu_bench_pipeline"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def sandbox_call(base, name, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/_sandbox/{name}", data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def psql(server, sql):
    subprocess.run(["psql", f"{server}/postgres", "-qc", sql], check=True, capture_output=True)


def fresh_database(name, prefix):
    """A new, empty PostgreSQL database ``name`` on BENCH_POSTGRES and a temporary media folder:
    (the server's URL, the folder). The caller drops the database with ``psql`` when done."""
    server = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    psql(server, f"DROP DATABASE IF EXISTS {name}")
    psql(server, f"CREATE DATABASE {name}")
    return server, tempfile.TemporaryDirectory(prefix=prefix)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--finished", type=int, default=30)
    args = parser.parse_args()

    server, media = fresh_database(DB, "bench-pipeline-")
    sandbox_port, web_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": f"{server}/{DB}", "MEDIA_ROOT": media.name, "VIDU_WEB_TESTING": "1",
           "SANDBOX_PORT": str(sandbox_port), "VIDU_PROVIDER": "sandbox", "VIDU_API_KEY": "bench-key",
           "PIPELINE_FAST": "1", "DJANGO_SETTINGS_MODULE": "vidu_web.settings"}
    env.pop("VIDU_BASE_URL", None)
    env.pop("VIDU_CALLBACK_BASE_URL", None)
    os.environ.update(env)
    children = []
    try:
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], check=True, env=env)
        # The callback view checks nonces in the cache (a table, as `make setup` makes it):
        # without it every callback answered 500 and "callbacks on" measured the safety-net poll.
        subprocess.run([*manage, "createcachetable"], check=True, env=env)
        children.append(subprocess.Popen([*manage, "vidu_sandbox", "--port", str(sandbox_port)], env=env,
                                         stderr=subprocess.DEVNULL))
        # The web process verifies the sandbox's signed callbacks against the URL we registered.
        web_env = {**env, "VIDU_CALLBACK_BASE_URL": f"http://127.0.0.1:{web_port}"}
        children.append(subprocess.Popen([*manage, "runserver", f"127.0.0.1:{web_port}", "--noreload",
                                          "--skip-checks"], env=web_env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL))
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        wait_http(f"{sandbox}/_sandbox/health")
        wait_http(f"http://127.0.0.1:{web_port}/accounts/login/")
        import django

        django.setup()
        sweep_figures(sandbox, args.tasks, args.rounds)
        calls_figures(sandbox, f"http://127.0.0.1:{web_port}", args.finished)
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        psql(server, f"DROP DATABASE IF EXISTS {DB}")


def team_and_user():
    from django.contrib.auth.models import User

    from vidu_web.teams.models import Team

    user, _ = User.objects.get_or_create(username="bench")
    team = Team.objects.filter(memberships__user=user).first() or Team.personal_for(user)
    return team, user


def sweep_figures(sandbox, n, rounds):
    from django.conf import settings
    from django.utils import timezone

    from vidu_web.studio import providers
    from vidu_web.studio.models import GenerationTask, Prompt, State
    from vidu_web.studio.sweep import Sweep

    sandbox_call(sandbox, "config", {"step": 3600, "max_running": 100000})
    team, user = team_and_user()
    prompt = Prompt.objects.create(team=team, author=user, text="bench")
    target = providers.current()
    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(lambda i: _create(providers.adapter(target.name, target.endpoint), i), range(n)))
    now = timezone.now()
    GenerationTask.objects.bulk_create([
        GenerationTask(team=team, creator=user, prompt=prompt, mode="text2video", model="viduq2", duration=5,
                       resolution="720p", provider=target.name, endpoint=target.endpoint, state=State.QUEUED, upstream_id=vid,
                       submitted_at=now, next_attempt_at=now) for vid in ids])
    times = []
    for _ in range(rounds):
        start = timezone.now()
        GenerationTask.objects.update(next_attempt_at=start, lease_until=None)
        sweep = Sweep(pool_size=settings.PIPELINE_POOL_SIZE)
        assert sweep.take_slot()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(sweep.pool_size) as pool:
            while GenerationTask.objects.filter(last_polled_at__lt=start).exists() or \
                    GenerationTask.objects.filter(last_polled_at__isnull=True).exists():
                sweep.step(pool)
            sweep.drain()
        times.append(time.perf_counter() - t0)
        sweep.release()
    print(f"sweep over {n} running tasks (pool {settings.PIPELINE_POOL_SIZE}): "
          f"median {statistics.median(times):.2f} s, runs {', '.join(f'{t:.2f}' for t in times)} (goal < 5 s)")
    GenerationTask.objects.all().delete()


def _create(adapter, i):
    return adapter.create("text2video", {"model": "viduq2", "prompt": f"bench {i}"}).id


def calls_figures(sandbox, web, n):
    """Vidu calls per finished task and the delay from the provider's success to our archived
    video, with callbacks on and with polling only. A first batch of the same settings runs
    uncounted, so the team has the history a working install has (the usual time per settings)."""
    import django_q.tasks
    from django.conf import settings
    from django.utils.module_loading import import_string

    from vidu_web.studio import progress

    # Run the queued bodies inline; this measures requests to Vidu, not django-q2.
    django_q.tasks.async_task = lambda func, *a, **k: import_string(func)(*a) if "sweep" not in func else None
    sandbox_call(sandbox, "config", {"step": 0.5, "max_running": 5})
    settings.PIPELINE_FAST = False  # the production cadence: what a real deployment pays
    team, user = team_and_user()
    settings.VIDU_CALLBACK_BASE_URL = ""
    run_batch(team, user, n, "history")
    progress.forget()
    for label, callback_base in (("on", web), ("off (polling only)", "")):
        settings.VIDU_CALLBACK_BASE_URL = callback_base
        calls, done, delays = run_batch(team, user, n, label)
        print(f"Vidu calls per finished task, callbacks {label}: {calls / max(done, 1):.2f} "
              f"({calls} calls, {done}/{n} succeeded; minimum 2)")
        print(f"  provider's success to our archived video, callbacks {label}: median {statistics.median(delays):.2f} s, "
              f"max {max(delays):.2f} s (goal: median < 5 s)")


def run_batch(team, user, n, label):
    """``n`` tasks from create to archived video; (calls, succeeded, success-to-archived delays)."""
    import threading

    from django.db.models import Sum

    from vidu_web.studio import services
    from vidu_web.studio.models import GenerationTask, State
    from vidu_web.studio.providers import for_task
    from vidu_web.studio.sweep import Sweep

    tasks = [services.create_task(team, user, "text2video", {"model": "viduq2", "prompt": f"{label} {i}"}, [])
             for i in range(n)]
    pks = [t.pk for t in tasks]
    upstream_ids = dict(GenerationTask.objects.filter(pk__in=pks).values_list("upstream_id", "pk"))
    # When the provider finished each task, seen by a separate client every 0.1 s (not counted).
    succeeded_at, stop = {}, threading.Event()

    def watch():
        adapter = for_task(tasks[0])  # this thread's own adapter (its own session)
        while not stop.is_set() and len(succeeded_at) < len(upstream_ids):
            for upstream_id in set(upstream_ids) - set(succeeded_at):
                if adapter.query(upstream_id).is_final:
                    succeeded_at[upstream_id] = time.time()
            stop.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    sweep = Sweep(pool_size=8)
    assert sweep.take_slot()
    deadline = time.monotonic() + 300
    running = GenerationTask.objects.filter(pk__in=pks).exclude(state__in=(State.SUCCEEDED, State.FAILED))
    with ThreadPoolExecutor(8) as pool:
        while running.exists():
            assert time.monotonic() < deadline, "tasks did not finish"
            sweep.step(pool)
        sweep.drain()
    sweep.release()
    stop.set()
    watcher.join()
    batch = GenerationTask.objects.filter(pk__in=pks)
    done = batch.filter(state=State.SUCCEEDED)
    delays = [finished.timestamp() - succeeded_at[upstream_id] for upstream_id, finished in
              done.values_list("upstream_id", "finished_at") if upstream_id in succeeded_at]
    return batch.aggregate(n=Sum("api_calls"))["n"], done.count(), delays


if __name__ == "__main__":
    main()
