"""Helpers for the pipeline tests: fast settings, django-q2 run inline, a sweep driven to a condition."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils.module_loading import import_string

from vidu_web.studio import services
from vidu_web.studio.models import GenerationTask
from vidu_web.studio.sweep import Sweep

# What django-q2 would run for us; a test runs these inline, anything else is only recorded.
INLINE = ("vidu_web.studio.tasks.submit_task", "vidu_web.studio.tasks.archive_task")


@pytest.fixture
def pipeline(vidu_settings, settings, tmp_path, monkeypatch):
    """The pipeline in this process: fast waits, media in a temp dir, queued bodies run inline.

    Returns the list of (function, args) django-q2 was asked to run.
    """
    settings.PIPELINE_FAST = True
    settings.VIDU_TIMEOUT = 1
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VIDU_CALLBACK_BASE_URL = ""
    enqueued = []

    def async_task(func, *args, **kwargs):
        enqueued.append((func, args))
        if func in INLINE:
            import_string(func)(*args)

    monkeypatch.setattr("django_q.tasks.async_task", async_task)
    return enqueued


def text_task(team, user, prompt="a red fox runs through fresh snow", **params):
    return services.create_task(team, user, "text2video", {"model": "viduq2", "prompt": prompt, **params}, [])


def sweep_until(condition, timeout=15.0, sweep=None, pool_size=4):
    """Turn a sweep's loop until ``condition()`` is truthy; fail after ``timeout`` seconds."""
    sweep = sweep or Sweep(pool_size=pool_size)
    assert sweep.take_slot(), "another sweep holds the slot"
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(sweep.pool_size) as pool:
        try:
            while not condition():
                assert time.monotonic() < deadline, f"timed out after {timeout} s"
                sweep.step(pool)
        finally:
            sweep.drain()
            sweep.release()
    return sweep


def reload(task) -> GenerationTask:
    return GenerationTask.objects.get(pk=task.pk)


def state_of(task) -> str:
    return GenerationTask.objects.values_list("state", flat=True).get(pk=task.pk)
