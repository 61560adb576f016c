"""Keeping secrets out of logs and error pages: callback secrets, credentials in URLs, signed query strings.

Used on every log handler (``RedactFilter``, settings.LOGGING) and on Django's technical error
page and error reports (``SafeReporter`` and ``SafeReporterFilter``, DEFAULT_EXCEPTION_REPORTER*).
"""

import logging
import re

from django.conf import settings
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# /hooks/vidu/<task uuid>/<secret>/: whoever reads the secret can post callbacks for the task.
HOOK_SECRET = re.compile(r"(/hooks/vidu/[0-9a-fA-F-]{32,36}/)[^/\s\"'?#]+")
# postgres://user:password@host, redis://:password@host
URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s\"']+@", re.IGNORECASE)
# Presigned media URLs carry their signature in the query string (X-Amz-Signature=...).
URL_QUERY = re.compile(r"(\bhttps?://[^\s\"'?#]+)\?[^\s\"'#]+", re.IGNORECASE)
HIDDEN = "[hidden]"


def redact(text: str) -> str:
    text = HOOK_SECRET.sub(rf"\g<1>{HIDDEN}", text)
    text = URL_CREDENTIALS.sub(rf"\g<1>{HIDDEN}@", text)
    text = URL_QUERY.sub(rf"\g<1>?{HIDDEN}", text)
    for secret in _known_secrets():
        text = text.replace(secret, HIDDEN)
    return text


def _known_secrets():
    """The configured secrets themselves, wherever they turn up (a header echoed in an error...)."""
    values = (getattr(settings, "VIDU_API_KEY", ""), getattr(settings, "SECRET_KEY", ""))
    return [v for v in values if len(v) >= 8]


class RedactFilter(logging.Filter):
    """Rewrites a record's message and traceback with the secrets above hidden; drops nothing."""

    def filter(self, record):
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class QuietRequests(logging.Filter):
    """Drops the access-log lines nobody reads: the progress poll every 2 s of every open page,
    and static files, when they succeed. Other requests, and every 4xx and 5xx, stay."""

    QUIET = ("/tasks/progress/", "/static/", "/favicon.ico")

    def filter(self, record):
        if getattr(record, "status_code", 500) >= 400:
            return True
        parts = record.getMessage().split()
        path = parts[1] if len(parts) > 1 else ""
        return not path.startswith(self.QUIET)


class HealthAnswered(logging.Filter):
    """Drops Django's "Service Unavailable: /healthz" ERROR line: a 503 from /healthz is the
    answer working as meant (a load balancer polls it every few seconds), and the view has
    already logged one WARNING naming the failing check and why. Every other 5xx stays."""

    def filter(self, record):
        request = getattr(record, "request", None)
        return not (getattr(record, "status_code", None) == 503
                    and getattr(request, "path", "") == "/healthz")


class QuietQueue(logging.Filter):
    """Drops django-q2's line per job (each enqueue, each body run and done) below WARNING; its
    cluster lines (starting, ready, stopping, has stopped: which name the host) stay."""

    PER_JOB = re.compile(r"^(Enqueued |Processed |.* processing )")

    def filter(self, record):
        return record.levelno >= logging.WARNING or not self.PER_JOB.match(record.getMessage())


class SafeReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, wider: database and Redis URLs, credentials anywhere in a URL, callback
    secrets, and variables named like secrets, whether they come from settings, from
    request.META (runserver copies the whole environment into it) or from a frame's locals;
    and on with DEBUG too, since `make run` shows DEBUG pages."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|CREDENTIAL|DATABASE_URL|REDIS_URL|DSN|PRIVATE",
        flags=re.IGNORECASE,
    )

    def is_active(self, request):
        return True

    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        return redact(value) if isinstance(value, str) else value

    def cleanse_special_types(self, request, value):
        value = super().cleanse_special_types(request, value)
        if isinstance(value, str):
            return redact(value)
        try:
            text = repr(value)
        except Exception:  # a broken __repr__: show nothing rather than fail the error page
            return self.cleansed_substitute
        return self.cleansed_substitute if redact(text) != text else value

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self.cleansed_substitute if self.hidden_settings.search(name) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class SafeReporter(ExceptionReporter):
    """The technical error page with the exception's own message redacted too
    ("can't connect to postgres://user:password@...")."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if isinstance(data.get("exception_value"), str):
            data["exception_value"] = redact(data["exception_value"])
        return data
