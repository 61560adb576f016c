"""Helpers for the production tests: a real S3-compatible server, free ports, production processes.

``moto_server`` (from ``moto[server]``, a dev dependency) is a separate process speaking S3 over
HTTP on a free port: the storage is exercised through django-storages and boto3 exactly as it
would be against a real bucket. Each test gets a bucket of its own.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing-key-id", "AWS_SECRET_ACCESS_KEY": "testing-secret"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 20, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process serving {url} exited with code {process.returncode}")
        try:
            requests.get(url, timeout=1, allow_redirects=False)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url} within {timeout} s")


class S3Server:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port
        self.url = f"http://127.0.0.1:{port}"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def new_bucket(self) -> str:
        name = f"vidu-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str) -> dict:
        """The environment a process (a cluster, a web server) needs to use ``bucket``."""
        return {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": self.url, "S3_REGION": "us-east-1", **CREDENTIALS}


@contextmanager
def running_s3():
    port = free_port()
    process = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/", process=process)
        yield S3Server(process, port)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server():
    """One moto S3 server process for the session (about a second to start)."""
    with running_s3() as server:
        yield server


@pytest.fixture
def s3_media(settings, s3_server):
    """Media on a fresh bucket of the S3 server, through django-storages (as S3_BUCKET would set)."""
    from vidu_web.settings import s3_storage

    bucket = s3_server.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(
        bucket, s3_server.url, "us-east-1", CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"], 120)}
    return bucket


def production_env(**extra) -> dict:
    """A clean production environment (DEBUG off) for a subprocess: no variable of ours inherited."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIDU_", "DJANGO_", "DATABASE_URL", "REDIS_URL", "S3_", "AWS_", "PORT", "MEDIA_",
                                "STATIC_ROOT", "WEB_", "PYTEST_", "GUNICORN_"))}
    env.update(DJANGO_SETTINGS_MODULE="vidu_web.settings", DJANGO_DEBUG="false",
               DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
               PYTHONUNBUFFERED="1")
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


class Served:
    def __init__(self, process, port, static_root):
        self.process, self.port, self.static_root = process, port, static_root
        self.url = f"http://127.0.0.1:{port}"


def serve(tmp_path, **env):
    """`make serve` on a free port against the test database (tests using it need transactional_db)."""
    port = free_port()
    static_root = tmp_path / f"static-{port}"
    from cluster import database_url

    process = subprocess.Popen(["make", "--no-print-directory", "serve"], cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"serve-{port}.log", "w"),
                               env=production_env(PORT=str(port), STATIC_ROOT=str(static_root), DATABASE_URL=database_url(),
                                                  WEB_CONCURRENCY="1", WEB_THREADS="4", **env))
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, process=process)
    except AssertionError:
        stop(process)
        raise AssertionError((tmp_path / f"serve-{port}.log").read_text()[-3000:]) from None
    return Served(process, port, static_root)


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
