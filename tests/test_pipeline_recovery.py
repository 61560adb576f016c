"""Recovery in seconds (design.md, "Quality bars: Pipeline"), each with a real qcluster process.

- SIGKILL of a cluster and a new one started: polling resumes within 10 s, and a submission
  whose message died with the cluster is sent, once, within 15 s. Production timings (no
  PIPELINE_FAST), since those are what the bars are about.
- The broker (a private redis-server) down, then back: the sweep survives and keeps polling,
  and work that could not be enqueued meanwhile goes out once it is back.
- SIGTERM to the process group: every process gone within 10 s, nothing lost.
"""

import socket
import subprocess
import time

import pytest
import redis
from cluster import Cluster, running_cluster, wait_for
from django.utils import timezone
from pipeline_helpers import text_task

from vidu_web.studio.models import FINAL_STATES, OUTCOME_UNKNOWN, GenerationTask, State, SweepSlot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]


def ids(tasks):
    return [t.pk for t in tasks]


def all_final(tasks):
    return not GenerationTask.objects.filter(pk__in=ids(tasks)).exclude(state__in=FINAL_STATES).exists()


def all_sent(tasks):
    return not GenerationTask.objects.filter(pk__in=ids(tasks), upstream_id="").exists()


def polled_since(tasks, moment):
    return GenerationTask.objects.filter(pk__in=ids(tasks), last_polled_at__gt=moment).exists()


def lost_task(team, user, monkeypatch, prompt):
    """A saved, pending task whose submit message never reached a worker."""
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.submit", lambda task_id: None)
        return text_task(team, user, prompt=prompt)


def assert_each_created_once(sandbox, tasks):
    counts = sandbox.counts()
    assert {str(t.uuid): 1 for t in tasks} == counts, counts


def test_after_sigkill_a_new_cluster_polls_within_10_s_and_sends_a_lost_submission_within_15_s(
        cluster_settings, sandbox, team_a, alice, monkeypatch):
    cluster_settings.PIPELINE_FAST = False  # production waits, here and in the cluster
    sandbox.configure(step=1.5)  # the provider takes a few seconds per task
    tasks = [text_task(team_a, alice, prompt=f"take {n}: a lighthouse") for n in range(6)]
    with running_cluster(env={"PIPELINE_FAST": "0"}) as cluster:
        wait_for(lambda: all_sent(tasks) and polled_since(tasks, timezone.now() - timezone.timedelta(seconds=1)),
                 timeout=30, interval=0.2, message=f"tasks to be polled; log:\n{cluster.log()[-3000:]}")
        lost = lost_task(team_a, alice, monkeypatch, "the one that got away")
        cluster.kill()
        killed = timezone.now()
        cluster.start()
        restarted = time.monotonic()
        wait_for(lambda: polled_since(tasks, killed), timeout=15, interval=0.1,
                 message=f"a poll after the restart; log:\n{cluster.log()[-3000:]}")
        first_poll = time.monotonic() - restarted
        wait_for(lambda: sandbox.counts().get(str(lost.uuid)), timeout=20, interval=0.1,
                 message=f"the lost submission to be sent; log:\n{cluster.log()[-3000:]}")
        lost_sent = time.monotonic() - restarted
        wait_for(lambda: all_final([*tasks, lost]), timeout=40, interval=0.3, message="every task to finish")
    print(f"\nSIGKILL + restart: first poll after {first_poll:.1f} s, lost submission sent after {lost_sent:.1f} s")
    assert first_poll <= 10
    assert lost_sent <= 15
    assert_each_created_once(sandbox, [*tasks, lost])
    assert set(GenerationTask.objects.filter(pk__in=ids([*tasks, lost])).values_list("state", flat=True)) == {
        State.SUCCEEDED}


@pytest.fixture
def private_redis():
    """A redis-server of this test's own, on a free port (never the shared one): ``.stop()``, ``.start()``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        process = None

        def start(self):
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(lambda: self.ping(), timeout=10, message="redis-server to start")

        def stop(self):
            self.process.terminate()
            self.process.wait(timeout=10)

        def ping(self):
            try:
                return redis.Redis(port=port, socket_timeout=1).ping()
            except redis.ConnectionError:
                return False

    server = Server()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def test_with_the_broker_down_the_sweep_keeps_polling_and_work_goes_out_when_it_is_back(
        cluster_settings, sandbox, team_a, alice, monkeypatch, private_redis):
    sandbox.configure(step=1.0)
    # This process enqueues into the ORM broker, which the cluster does not read: every submit
    # reaches the cluster the way lost ones do, through the sweep's chores (through Redis).
    tasks = [text_task(team_a, alice, prompt=f"shot {n}: rain on glass") for n in range(3)]
    with running_cluster(env={"REDIS_URL": private_redis.url}) as cluster:
        wait_for(lambda: all_sent(tasks), timeout=30, interval=0.2,
                 message=f"the tasks to be sent through Redis; log:\n{cluster.log()[-3000:]}")
        owner = SweepSlot.objects.get(slot=0).owner
        private_redis.stop()
        down = timezone.now()
        during = lost_task(team_a, alice, monkeypatch, "made while Redis was down")
        wait_for(lambda: polled_since(tasks, down + timezone.timedelta(seconds=1)), timeout=10, interval=0.1,
                 message=f"polling to go on with Redis down; log:\n{cluster.log()[-3000:]}")
        time.sleep(3)  # the outage goes on: the sweep tries to enqueue `during` every second
        private_redis.start()
        back = time.monotonic()
        wait_for(lambda: sandbox.counts().get(str(during.uuid)), timeout=20, interval=0.1,
                 message=f"the submission made during the outage to be sent; log:\n{cluster.log()[-3000:]}")
        sent = time.monotonic() - back
        wait_for(lambda: all_final([*tasks, during]), timeout=40, interval=0.3, message="every task to finish")
        log = cluster.log()
        # A cluster stops within 10 s with the broker down, too (django-q2's pusher sleeps 10 s
        # after a broker error before it looks at its stop event).
        private_redis.stop()
        time.sleep(1)
        took = cluster.stop(timeout=10)
    print(f"\nSIGTERM with Redis down: gone after {took:.1f} s")
    print(f"\nRedis back: the submission made during the outage sent after {sent:.1f} s")
    assert sent <= 15
    # One sweep all along: it survived the outage instead of dying and being replaced.
    assert SweepSlot.objects.get(slot=0).owner in (owner, ""), log[-3000:]
    assert log.count("the job broker is unreachable") == 1, log[-3000:]
    assert "job broker is reachable again" in log
    assert_each_created_once(sandbox, [*tasks, during])
    assert set(GenerationTask.objects.filter(pk__in=ids([*tasks, during])).values_list("state", flat=True)) == {
        State.SUCCEEDED}


def test_sigterm_to_the_group_stops_the_cluster_within_10_s_and_loses_nothing(cluster_settings, sandbox, team_a, alice):
    sandbox.configure(step=0.5)
    tasks = [text_task(team_a, alice, prompt=f"frame {n}: a kite") for n in range(12)]
    cluster = Cluster().start()
    try:
        wait_for(lambda: GenerationTask.objects.filter(pk__in=ids(tasks), state=State.SUCCEEDED).exists(),
                 timeout=40, interval=0.1, message=f"a first task to finish; log:\n{cluster.log()[-3000:]}")
        took = cluster.stop(timeout=10)  # fails unless every process of the group is gone by then
        log = cluster.log()
        assert "Q Cluster vidu_web@" in log and "has stopped" in log, log[-3000:]
        # The sweep wrote what it had and freed its slot: the next cluster need not wait for it to go stale.
        assert SweepSlot.objects.get(slot=0).owner == "", log[-3000:]
        running = GenerationTask.objects.filter(pk__in=ids(tasks)).exclude(state__in=FINAL_STATES).count()
        cluster.start()
        wait_for(lambda: all_final(tasks), timeout=60, interval=0.3,
                 message=f"every task to finish after the restart; log:\n{cluster.log()[-3000:]}")
    finally:
        cluster.stop()
    print(f"\nSIGTERM to the group: gone after {took:.1f} s ({running} tasks still running then)")
    assert_each_created_once(sandbox, tasks)
    assert not GenerationTask.objects.filter(pk__in=ids(tasks), err_code=OUTCOME_UNKNOWN).exists()
    assert set(GenerationTask.objects.filter(pk__in=ids(tasks)).values_list("state", flat=True)) == {State.SUCCEEDED}


def test_a_worker_that_never_takes_its_stop_is_killed_after_the_grace():
    """The stop's last resort (cluster.kill_stragglers): an idle worker (timer -1) is spared by
    the first deadline, which kills only busy ones, and killed by the second."""
    import multiprocessing

    from vidu_web.studio.cluster import Sentinel

    worker = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,), daemon=True)
    worker.timer = multiprocessing.Value("f", -1)  # idle, as django-q2 marks a worker between jobs
    worker.start()
    sentinel = Sentinel.__new__(Sentinel)  # only its pool matters here
    sentinel.pool = [worker]
    try:
        sentinel.kill_busy_workers()
        worker.join(0.5)
        assert worker.is_alive()  # an idle worker may hold the task queue's lock: not killed first
        sentinel.kill_stragglers()
        worker.join(5)
        assert not worker.is_alive() and worker.exitcode == -9
    finally:
        if worker.is_alive():
            worker.kill()
