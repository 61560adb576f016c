"""The worker's memory while archiving a 500 MB video: peak resident size above its idle size.

The sandbox (a separate process) serves a video of N MB ([bigvideo:N]); this process runs the
pipeline like a worker does, up to the archive step, then copies the video into a temporary
MEDIA_ROOT while a thread samples VmRSS every 5 ms. Goal (design.md): under 50 MB above idle.

    .venv/bin/python bench/archive_memory.py [--mb 500]
"""

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pipeline import free_port, wait_http  # bench/ is this script's own folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb(field="VmRSS"):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=500)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="bench-archive-")
    port = free_port()
    os.environ.update({"DATABASE_URL": f"sqlite:///{tmp.name}/bench.sqlite3", "MEDIA_ROOT": f"{tmp.name}/media",
                       "VIDU_WEB_TESTING": "1", "VIDU_PROVIDER": "sandbox", "SANDBOX_PORT": str(port),
                       "PIPELINE_FAST": "1", "DJANGO_SETTINGS_MODULE": "vidu_web.settings"})
    os.environ.pop("VIDU_BASE_URL", None)
    os.environ.pop("VIDU_CALLBACK_BASE_URL", None)
    sandbox = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "vidu_sandbox", "--port", str(port),
                                "--step", "0.2"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/_sandbox/health")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        run(args.mb)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


def run(mb):
    from concurrent.futures import ThreadPoolExecutor

    import django_q.tasks
    from django.contrib.auth.models import User
    from django.utils.module_loading import import_string

    from vidu_web.studio import archive, services
    from vidu_web.studio.models import Creation, GenerationTask, State
    from vidu_web.studio.sweep import Sweep
    from vidu_web.teams.models import Team

    # Submissions run inline; the archive waits for us to run it under the meter.
    django_q.tasks.async_task = lambda func, *a, **k: import_string(func)(*a) if func.endswith("submit_task") else None
    user = User.objects.create(username="bench")
    task = services.create_task(Team.personal_for(user), user, "text2video",
                                {"model": "viduq2", "prompt": f"long take [bigvideo:{mb}]"}, [])
    sweep = Sweep(pool_size=2)
    assert sweep.take_slot()
    with ThreadPoolExecutor(2) as pool:
        while GenerationTask.objects.get(pk=task.pk).state != State.ARCHIVING:
            sweep.step(pool)
    sweep.release()

    gc.collect()
    time.sleep(0.2)
    idle = rss_mb()
    peak = [idle]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.perf_counter()
    archive.archive(task.pk)
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    task.refresh_from_db()
    creation = Creation.objects.get(task=task)
    assert task.state == State.SUCCEEDED, task.error
    size = creation.video_bytes / 2**20
    print(f"archive of a {size:.0f} MB video: {seconds:.1f} s, worker RSS idle {idle:.1f} MB, "
          f"peak {peak[0]:.1f} MB, +{peak[0] - idle:.1f} MB above idle (goal < 50 MB)")



if __name__ == "__main__":
    main()
