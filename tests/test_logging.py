"""The logging config (settings.LOGGING): secrets never reach a log line, and the console stays readable.

Each test emits records through the configured loggers and reads what every handler on the
way actually wrote, so it checks the config in use, not a copy of it.
"""

import io
import logging
import uuid
from contextlib import contextmanager

import pytest

SECRET = "Xq3_vErY-s3cret-callback-0123456789"
HOOK = f"/hooks/vidu/{uuid.uuid4()}/{SECRET}/"
SIGNED = "https://prod-ss-vidu.s3.amazonaws.com/infer/v.mp4?X-Amz-Signature=5d33293d94f4abbddd1c42ec&X-Amz-Expires=86400"


def handlers_for(name):
    """Every handler a record logged on ``name`` reaches, as logging walks the hierarchy."""
    logger, found = logging.getLogger(name), []
    while logger:
        found += logger.handlers
        logger = logger.parent if logger.propagate else None
    return found


@contextmanager
def console(name):
    streams = {}
    for handler in handlers_for(name):
        if type(handler) is logging.StreamHandler:  # ours; pytest adds capturing subclasses
            streams[handler] = handler.setStream(io.StringIO())
    out = io.StringIO()
    try:
        yield out
    finally:
        for handler, old in streams.items():
            out.write(handler.setStream(old).getvalue())


def runserver_line(status, request_line):
    """What Django's runserver logs for one request (django.core.servers.basehttp)."""
    level = logging.WARNING if status >= 400 else logging.INFO
    logging.getLogger("django.server").log(level, '"%s" %s %s', request_line, str(status), "12",
                                           extra={"status_code": status, "request": None, "server_time": "now"})


@pytest.mark.parametrize("status", [200, 403])
def test_the_access_log_hides_callback_secrets(status):
    with console("django.server") as out:
        runserver_line(status, f"POST {HOOK} HTTP/1.1")
    assert "/hooks/vidu/" in out.getvalue() and SECRET not in out.getvalue()


def test_gunicorn_access_lines_hide_callback_secrets():
    with console("gunicorn.access") as out:
        logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": f"POST {HOOK} HTTP/1.1",
                                                                           "s": "200"})
    assert "10.0.0.1" in out.getvalue() and SECRET not in out.getvalue()


def test_error_lines_hide_secrets_and_signed_urls_in_messages_and_tracebacks():
    with console("vidu_web.studio.archive") as out:
        try:
            raise OSError(f"403 Client Error: Forbidden for url: {SIGNED}")
        except OSError:
            logging.getLogger("vidu_web.studio.archive").exception("task x: copy of %s failed", SIGNED)
        logging.getLogger("django.request").error("Internal Server Error: %s", HOOK)
    text = out.getvalue()
    assert "copy of https://prod-ss-vidu.s3.amazonaws.com/infer/v.mp4?" in text and "Forbidden for url" in text
    assert "X-Amz-Signature" not in text and "5d33293d" not in text and SECRET not in text
    assert text.count("Internal Server Error") == 1  # once, not again through Django's own handler


def test_credentials_in_urls_and_the_api_key_are_hidden(settings):
    settings.VIDU_API_KEY = "vda_1234567890abcdef"
    with console("vidu_web") as out:
        logging.getLogger("vidu_web").warning("can't reach postgres://vidu:hunter2@db:5432/vidu with %s",
                                              "Token vda_1234567890abcdef")
    assert "postgres://" in out.getvalue() and "hunter2" not in out.getvalue()
    assert "vda_1234567890abcdef" not in out.getvalue()


@pytest.mark.parametrize("request_line", ["GET /tasks/progress/?ids=3f1a HTTP/1.1", "GET /static/css/app.css HTTP/1.1"])
def test_progress_polls_and_static_files_are_not_logged(request_line):
    with console("django.server") as out:
        for _ in range(5):
            runserver_line(200, request_line)
    assert out.getvalue() == ""


def test_pages_and_failing_requests_are_still_logged():
    with console("django.server") as out:
        runserver_line(200, "GET /gallery/ HTTP/1.1")
        runserver_line(500, "GET /tasks/progress/?ids=x HTTP/1.1")
        runserver_line(404, "GET /nope/ HTTP/1.1")
    assert [line.split('"')[1] for line in out.getvalue().splitlines()] == [
        "GET /gallery/ HTTP/1.1", "GET /tasks/progress/?ids=x HTTP/1.1", "GET /nope/ HTTP/1.1"]


def test_django_q_enqueues_stay_off_the_console_but_its_errors_do_not():
    with console("django-q") as out:
        logging.getLogger("django-q").info("Enqueued [vidu_web] 42")
        logging.getLogger("django-q").info("Process-1:1 processing [submit-7] 'vidu_web.studio.tasks.submit_task'")
        logging.getLogger("django-q").error("Failed [submit-7] - boom")
    assert out.getvalue().count("\n") == 1 and "Failed [submit-7]" in out.getvalue()


def test_django_q_cluster_lines_stay_they_name_the_host():
    with console("django-q") as out:
        logging.getLogger("django-q").info("Q Cluster vidu_web@host-a starting.")
        logging.getLogger("django-q").info("Q Cluster vidu_web@host-a has stopped.")
    assert "vidu_web@host-a starting" in out.getvalue() and "has stopped" in out.getvalue()


def test_the_pipelines_own_info_lines_stay():
    with console("vidu_web.studio.callbacks") as out:
        logging.getLogger("vidu_web.studio.callbacks").info("task 1: adopted Vidu task 2 from a callback")
    assert "adopted Vidu task 2" in out.getvalue()


def test_each_task_state_change_is_one_console_line(db, team_a, alice, settings, tmp_path):
    from tests.studio_helpers import make_task
    from vidu_web.studio.models import State

    settings.MEDIA_ROOT = tmp_path
    task = make_task(team_a, alice, state=State.QUEUED, with_video=False)
    with console("vidu_web.studio.events") as out:
        task.set_state(State.PROCESSING, upstream_state="processing")
        task.fail("CreationPolicyViolation", "The prompt broke the rules.", expected=State.PROCESSING)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert f"task #{task.pk} is processing" in lines[0] and f"task #{task.pk} is failed" in lines[1]
    assert "CreationPolicyViolation" in lines[1]
