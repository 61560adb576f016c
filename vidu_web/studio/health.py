"""``GET /healthz``: is this host able to do its work? For load balancers and monitors.

Four checks, each bounded to a few seconds so a probe gets an answer before its own timeout:
the database, the broker (Redis when REDIS_URL is set, else the ORM queue table), media storage
(the S3 bucket, or MEDIA_ROOT being a writable directory) and the sweep (a heartbeat fresh
enough that running tasks are being polled somewhere). 200 when all pass, 503 otherwise; the
JSON body names every check and why a failing one failed, in words that carry no secret.

A small view rather than django-health-check: the sweep check is ours anyway, the broker check
depends on which broker is configured, and the answer's shape is fixed by design.md.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import timing
from .models import SweepSlot

log = logging.getLogger(__name__)

# A sweep beats every HEARTBEAT s and counts as dead after STALE_AFTER; the keeper schedule
# (every minute) then starts a new one. Until that could have happened, the sweep is healthy.
SWEEP_FRESH_SECONDS = timing.STALE_AFTER + 60 + 15
PROBE_TIMEOUT = 3  # seconds, per network check

_clients = threading.local()


class CheckFailed(Exception):
    """A check's plain reason, safe to show and log."""


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    if settings.REDIS_URL:
        import redis

        cached = getattr(_clients, "redis", None)
        if cached is None or cached[0] != settings.REDIS_URL:
            cached = _clients.redis = (settings.REDIS_URL, redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT))
        cached[1].ping()
    else:
        from django_q.models import OrmQ

        OrmQ.objects.using(settings.Q_CLUSTER["orm"]).exists()


def check_storage() -> None:
    bucket = getattr(default_storage, "bucket_name", None)
    if bucket:
        _s3_client().head_bucket(Bucket=bucket)
        return
    root = getattr(default_storage, "location", "")
    if not root or not os.path.isdir(root):
        raise CheckFailed("the media directory does not exist")
    if not os.access(root, os.W_OK):
        raise CheckFailed("the media directory is not writable")


def _s3_client():
    """A client for the configured bucket with short timeouts and no retries (one per thread)."""
    from botocore.config import Config
    from storages.backends.s3 import S3Storage

    options = dict(settings.STORAGES["default"].get("OPTIONS", {}))
    key = repr(sorted((k, str(v)) for k, v in options.items()))
    cached = getattr(_clients, "s3", None)
    if cached is None or cached[0] != key:
        short = Config(connect_timeout=PROBE_TIMEOUT, read_timeout=PROBE_TIMEOUT, retries={"max_attempts": 1, "mode": "standard"})
        options["client_config"] = options["client_config"].merge(short) if options.get("client_config") else short
        cached = _clients.s3 = (key, S3Storage(**options).connection.meta.client)
    return cached[1]


def check_sweep() -> None:
    fresh = timezone.now() - timedelta(seconds=SWEEP_FRESH_SECONDS * timing.scale())
    last = SweepSlot.objects.exclude(beat_at=None).order_by("-beat_at").values_list("beat_at", flat=True).first()
    if last is None:
        raise CheckFailed("no sweep has ever run: is a worker (make worker) running?")
    if last < fresh:
        age = int((timezone.now() - last).total_seconds())
        raise CheckFailed(f"the sweep's last heartbeat is {age} s old: is a worker (make worker) running?")


CHECKS = {"database": check_database, "broker": check_broker, "storage": check_storage, "sweep": check_sweep}


def reason(exc: Exception) -> str:
    """Why a check failed, without what an exception's text may carry (URLs, hosts, keys)."""
    if isinstance(exc, CheckFailed):
        return str(exc)
    code = getattr(exc, "response", None)
    code = code.get("Error", {}).get("Code") if isinstance(code, dict) else None
    return f"{type(exc).__name__}{f' ({code})' if code else ''}"


def run_checks() -> dict[str, str]:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            results[name] = reason(exc)
            log.warning("healthz: the %s check failed: %s", name, results[name])
        else:
            results[name] = "ok"
    return results


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def healthz(request):
    results = run_checks()
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "failing" if failing else "ok", "failing": failing, "checks": results}
    return JsonResponse(body, status=503 if failing else 200)
