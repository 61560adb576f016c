"""Two hosts, each a web server (`make serve`: gunicorn with deploy/gunicorn.conf.py) and a cluster,
sharing PostgreSQL (the test database), Redis (a private ``redis-server`` started here: the broker
and the cache) and an S3 server (``moto_server``). Nothing is shared on disk: each host has its
own MEDIA_ROOT, which must stay empty.

100 tasks are submitted over HTTP, half through each host; once some have finished, the host
whose cluster holds the sweep is killed with SIGKILL (its web server and every process of its
cluster). The other host finishes the work alone, the killed host's web server comes back, and
then: every task reached an end (none lost), the sandbox saw at most one create per task (none
created twice), and every video is served by both hosts from the bucket.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import redis
import requests
from cluster import Cluster, cluster_env, wait_for
from django.test import Client
from prod_fixtures import free_port, s3_server, serve, stop  # noqa: F401

from vidu_web.studio.models import FINAL_STATES, OUTCOME_UNKNOWN, Creation, GenerationTask, State, SweepSlot

pytestmark = [pytest.mark.slow, pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

TASKS = 100


@contextmanager
def running_redis():
    """A private Redis on a free port, in memory only: the shared one is never touched."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for(lambda: _pings(url), timeout=10, message="redis-server to answer")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _pings(url):
    try:
        return redis.Redis.from_url(url, socket_timeout=0.5).ping()
    except redis.RedisError:
        return False


class Host:
    """One host: `make serve` on a free port and one qcluster, each in its own process group."""

    def __init__(self, name, tmp_path, env):
        self.name, self.tmp_path = name, tmp_path
        self.media = tmp_path / f"{name}-media"
        self.env = {**env, "MEDIA_ROOT": str(self.media)}
        self.web = self.cluster = None

    def start_web(self):
        self.web = serve(self.tmp_path, **self.env)
        return self

    def start_cluster(self):
        self.cluster = Cluster(self.env).start()
        return self

    def kill(self):
        """SIGKILL to every process of the host: no clean-up runs anywhere."""
        os.killpg(self.web.process.pid, signal.SIGKILL)
        self.web.process.wait(timeout=10)
        self.cluster.kill()

    def stop(self):
        if self.web is not None:
            stop(self.web.process)
        if self.cluster is not None:
            self.cluster.stop(timeout=15)

    def reap(self):
        for process in (self.web and self.web.process, self.cluster and self.cluster.process):
            if process is not None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def log(self):
        return self.cluster.log() if self.cluster else ""


def signed_in(user):
    """Headers of a browser signed in as ``user``: the session is a row in the shared database,
    signed with the shared DJANGO_SECRET_KEY, so either host accepts it. The CSRF cookie's
    secret is sent back as the token, as Django accepts (the hosts serve plain HTTP here, so
    the Secure cookies are passed by hand)."""
    client = Client()
    client.force_login(user)
    csrf = secrets.token_hex(16)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}", "X-CSRFToken": csrf,
            "Host": "localhost"}


def sweep_host(hosts):
    """The host whose cluster runs the sweep (its slot's owner is ``host:pid:token``), if any."""
    owner = SweepSlot.objects.filter(slot=0).values_list("owner", flat=True).first() or ""
    try:
        group = os.getpgid(int(owner.split(":")[1]))
    except (IndexError, ValueError, ProcessLookupError):  # starting, or just handed over
        return None
    return next((host for host in hosts if host.cluster.process.pid == group), None)


def states(tasks):
    rows = list(GenerationTask.objects.filter(pk__in=tasks).values_list("state", flat=True))
    return {state: rows.count(state) for state in set(rows)}


def succeeded_here(log):
    """Tasks this cluster took to the end (each state change is logged by the process making it)."""
    return len(re.findall(r"vidu_web\.studio\.events task #\d+ is succeeded", log))


def test_two_hosts_lose_nothing_double_nothing_and_both_serve_every_video(
        cluster_settings, sandbox, s3_server, team_a, alice, tmp_path):  # noqa: F811
    # 25 running at once upstream (not Vidu's 5): the test is about the hosts, not Vidu's queue.
    sandbox.configure(step=0.2, max_running=25)
    bucket = s3_server.new_bucket()
    headers = signed_in(alice)
    with running_redis() as redis_url:
        shared = {k: v for k, v in cluster_env().items() if k.startswith(("VIDU_", "PIPELINE_"))}
        shared.update(s3_server.env(bucket), REDIS_URL=redis_url, DJANGO_SECRET_KEY=cluster_settings.SECRET_KEY,
                      DJANGO_SSL_REDIRECT="false")
        hosts = [Host("host-a", tmp_path, shared), Host("host-b", tmp_path, shared)]
        try:
            with ThreadPoolExecutor(2) as pool:  # `make serve` collects static files first: in parallel
                list(pool.map(Host.start_web, hosts))
            for host in hosts:
                host.start_cluster()

            def submit(n):
                host = hosts[n % 2]
                response = requests.post(f"{host.web.url}/create/", headers=headers, allow_redirects=False, timeout=30,
                                         data={"mode": "text2video", "model": "viduq2", "prompt": f"take {n}: a lighthouse"})
                assert response.status_code == 302 and response.headers["Location"] == "/create/", (
                    host.name, response.status_code, response.text[:500])

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(submit, range(TASKS)))
            tasks = list(GenerationTask.objects.filter(team=team_a).values_list("pk", flat=True))
            assert len(tasks) == TASKS

            # Mid-run: some done, most still going. Kill the host whose cluster runs the sweep, so the
            # other must take polling over too, not just the queue.
            wait_for(lambda: GenerationTask.objects.filter(pk__in=tasks, state=State.SUCCEEDED).count() >= 10,
                     timeout=60, interval=0.2, message=f"some tasks to finish: {states(tasks)}")
            victim = wait_for(lambda: sweep_host(hosts), timeout=10, message="a sweep to hold the slot")
            survivor = hosts[1 - hosts.index(victim)]
            victim.kill()
            at_kill = states(tasks)
            assert sum(n for s, n in at_kill.items() if s not in FINAL_STATES) > 0, at_kill
            with pytest.raises(requests.ConnectionError):
                requests.get(victim.web.url + "/healthz", timeout=2)

            # The host's web server comes back meanwhile (its cluster need not: the survivor's finishes).
            with ThreadPoolExecutor(1) as pool:
                back = pool.submit(victim.start_web)
                wait_for(lambda: not GenerationTask.objects.filter(pk__in=tasks).exclude(state__in=FINAL_STATES).exists(),
                         timeout=90, interval=0.5,
                         message=f"every task to end on {survivor.name}: {states(tasks)}; log:\n{survivor.log()[-3000:]}")
                back.result()

            # None lost: every task ended; the only failures are creates cut off by the kill (the
            # outcome unknown, so never resent). None created twice.
            outcome = states(tasks)
            counts = sandbox.counts()
            by_task = dict(GenerationTask.objects.filter(pk__in=tasks).values_list("pk", "uuid"))
            assert set(counts) <= {str(u) for u in by_task.values()}, "a create without our UUID as payload"
            assert max(counts.values()) == 1, {k: v for k, v in counts.items() if v > 1}
            for task in GenerationTask.objects.filter(pk__in=tasks).exclude(state=State.SUCCEEDED):
                assert task.state == State.FAILED and task.err_code == OUTCOME_UNKNOWN, (task.state, task.err_code, task.error)
            assert outcome.get(State.SUCCEEDED, 0) >= TASKS - 5, (at_kill, outcome)

            # Both clusters worked before the kill; the survivor finished what the victim held.
            assert succeeded_here(victim.log()) > 0 and succeeded_here(survivor.log()) > 0, (victim.log()[-2000:], survivor.log()[-2000:])

            # Every video, archived by either cluster into the bucket, is served by both hosts.
            stored = {o["Key"]: o["Size"] for page in s3_server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
                      for o in page.get("Contents", [])}
            creations = list(Creation.objects.filter(task__in=tasks, task__state=State.SUCCEEDED))
            assert len(creations) == outcome[State.SUCCEEDED]

            def served(pair):
                host, creation = pair
                assert counts[str(by_task[creation.task_id])] == 1
                assert stored[creation.video.name] == creation.video_bytes > 0 and creation.cover.name in stored
                response = requests.get(f"{host.web.url}/media/{creation.video.name}", headers=headers,
                                        allow_redirects=False, timeout=10)
                assert response.status_code == 302, (host.name, response.status_code)
                video = requests.get(response.headers["Location"], timeout=10)
                assert video.status_code == 200 and video.content[4:8] == b"ftyp"
                assert len(video.content) == creation.video_bytes
                return host.name

            with ThreadPoolExecutor(4) as pool:
                by_host = list(pool.map(served, [(host, c) for host in hosts for c in creations]))
            assert {name: by_host.count(name) for name in set(by_host)} == {h.name: len(creations) for h in hosts}
            for host in hosts:  # nothing went to a host's own disk
                assert not host.media.exists() or not any(host.media.rglob("*.mp4")), host.name
            print(f"\ntwo hosts, {TASKS} tasks, {victim.name} killed at {at_kill}: {outcome}, creates "
                  f"{sum(counts.values())}, finished by {victim.name} {succeeded_here(victim.log())}, "
                  f"by {survivor.name} {succeeded_here(survivor.log())}")
        finally:
            for host in hosts:
                try:
                    host.stop()  # a killed cluster is already gone; a restarted web server stops
                finally:
                    host.reap()
