"""A real ``manage.py qcluster`` subprocess against the test database and the test sandbox.

``running_cluster(env=None)`` starts one (in its own process group) and stops it on exit; the
handle's ``.kill()`` sends SIGKILL to the whole group (the cluster's sentinel, workers, monitor
and pusher), ``.stop()`` a SIGTERM to the group (as systemd does) and fails the test if the
cluster is not gone within its timeout, ``.start()`` starts it again, ``.log()`` returns its
output. A started cluster starts its own sweep (its keeper), as in production.

The subprocess inherits what the test configured through Django's settings: the test
database (its real name, so tests must use ``transactional_db`` to share rows with it), the
Vidu provider, base URL and key, MEDIA_ROOT and VIDU_CALLBACK_BASE_URL; it runs with
PIPELINE_FAST and a 2 s Vidu timeout unless ``env`` says otherwise. Only PostgreSQL (or a
file-backed SQLite) can be shared with a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from sandbox_fixtures import wait_for  # noqa: F401 (re-exported for the cluster tests)

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """A DATABASE_URL naming the database this test process is connected to (the test DB)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        name = str(db["NAME"])
        if "memory" in name or not name:
            raise RuntimeError("an in-memory SQLite test database can't be shared with a cluster")
        return f"sqlite:///{name}"
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


def cluster_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTEST_CURRENT_TEST")}
    env.update({
        "DATABASE_URL": database_url(),
        "VIDU_PROVIDER": settings.VIDU_PROVIDER,
        "VIDU_BASE_URL": settings.VIDU_BASE_URL,
        "VIDU_PATH_PREFIX": settings.VIDU_PATH_PREFIX,
        "VIDU_AUTH_SCHEME": settings.VIDU_AUTH_SCHEME,
        "VIDU_API_KEY": settings.VIDU_API_KEY,
        "VIDU_CALLBACK_BASE_URL": settings.VIDU_CALLBACK_BASE_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PIPELINE_FAST": "1",
        "VIDU_TIMEOUT": "2",
        "Q_WORKERS": "3",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


class Cluster:
    def __init__(self, env: dict | None = None):
        self.extra = env or {}
        self.process: subprocess.Popen | None = None
        self.logfile = tempfile.NamedTemporaryFile(prefix="qcluster-", suffix=".log", delete=False)

    def start(self) -> Cluster:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT, env=cluster_env(self.extra),
            stdout=self.logfile, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL the cluster and every process it started: nothing gets to clean up."""
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM to every process of the cluster (as systemd and ``make run`` do); returns the
        seconds until every one of them was gone. Fails if that takes over ``timeout``: the tests
        of the 10 s bar (test_pipeline_recovery, test_pipeline_cluster) pass ``timeout=10``; a
        block's end allows more, so a loaded machine fails those tests, not every cluster test."""
        if self.process is None or self.process.poll() is not None:
            self._reap()
            return 0.0
        started = time.monotonic()
        self._signal(signal.SIGTERM)
        while self.group_alive() and time.monotonic() - started < timeout:
            time.sleep(0.05)
        took = time.monotonic() - started
        if self.group_alive():
            self._reap()
            raise AssertionError(f"the cluster ignored SIGTERM for {timeout} s; log:\n{self.log()[-3000:]}")
        self.process.wait(timeout=1)
        return took

    def group_alive(self) -> bool:
        """Whether any process of the cluster's group is left (the main one counts until reaped)."""
        if self.process.poll() is None:
            return True
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def _signal(self, sig) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def _reap(self) -> None:
        """Clean up after a failed test: nothing of the cluster may outlive it."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return Path(self.logfile.name).read_text(errors="replace")


@contextmanager
def running_cluster(env: dict | None = None):
    """A qcluster subprocess for the duration of the block; see the module docstring."""
    cluster = Cluster(env).start()
    try:
        yield cluster
    finally:
        cluster.stop()
        Path(cluster.logfile.name).unlink(missing_ok=True)

