"""jobs.py, the one place that enqueues pipeline jobs: a broker outage never fails the caller."""

import logging
import socket

import pytest
from django_q.conf import Conf

from tests.studio_helpers import csrf_post
from vidu_web.studio import jobs
from vidu_web.studio.models import GenerationTask, State


@pytest.fixture
def broker_down(monkeypatch):
    """django-q2's Redis broker pointed at a port nobody listens on: every enqueue is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setattr(jobs, "_broker_down", False)


@pytest.mark.django_db(transaction=True)  # the submission is enqueued on commit, for real
def test_create_answers_success_with_the_broker_down_and_logs_the_outage_once(
        alice_client, settings, tmp_path, broker_down, caplog):
    settings.MEDIA_ROOT = tmp_path
    form = {"mode": "text2video", "prompt": "a fox in snow", "model": "viduq2", "duration": "4",
            "resolution": "720p", "aspect_ratio": "16:9"}
    with caplog.at_level(logging.WARNING, logger="vidu_web.studio.jobs"):
        first = csrf_post(alice_client, "/create/", form)
        second = csrf_post(alice_client, "/create/", form)
    assert first.status_code == second.status_code == 302 and first["Location"] == "/create/"
    # Both saved, pending: the sweep's chores enqueue them once the broker is back.
    assert list(GenerationTask.objects.values_list("state", flat=True)) == [State.PENDING, State.PENDING]
    outage = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage) == 1, caplog.text
    assert "127.0.0.1" not in caplog.text  # the broker's URL (it may hold a password) is never logged


def test_an_enqueue_says_whether_it_went_out_and_logs_the_recovery(broker_down, monkeypatch, caplog):
    with caplog.at_level(logging.WARNING, logger="vidu_web.studio.jobs"):
        assert jobs.submit(1) is False
        assert jobs.archive(1) is False
        assert jobs.sweep(0, "sweep-0") is False
        monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: None)
        assert jobs.submit(1) is True
        assert jobs.submit(2) is True
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "unreachable" in messages[0] and "reachable again" in messages[1], messages


@pytest.mark.django_db(transaction=True)  # the sweep closes a broken connection, as in a worker
def test_the_sweep_survives_database_errors_and_logs_them_once(monkeypatch, caplog):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import OperationalError

    from vidu_web.studio.sweep import Sweep

    sweep = Sweep(pool_size=1)
    assert sweep.take_slot()
    real_claim, outage = sweep.claim, iter(range(3))

    def claim(limit):
        if next(outage, None) is not None:
            raise OperationalError("server closed the connection unexpectedly")
        return real_claim(limit)

    monkeypatch.setattr(sweep, "claim", claim)
    monkeypatch.setattr("vidu_web.studio.sweep.time.sleep", lambda seconds: None)
    with caplog.at_level(logging.WARNING, logger="vidu_web.studio.sweep"), ThreadPoolExecutor(1) as pool:
        assert all(sweep.step(pool) for _ in range(5))  # it goes on: a False would end the sweep
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "database error" in messages[0] and "working again" in messages[1], messages
    sweep.release()
