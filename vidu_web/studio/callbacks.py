"""The endpoint Vidu calls when a task changes state (vidu-api.md §5).

The URL carries the task's UUID and a per-task secret, so a caller who doesn't know the secret
changes nothing. When the provider signs callbacks (Vidu itself), the signature, its Date and
its nonce are checked too; then a progress update is applied at once, and a final state makes
us query the task now (the query is authoritative and brings fresh URLs). A gateway's callback
can't be verified: it is only a hint to query that task now.
"""

import hmac
import json
import logging
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from vidu_web.vidu import signing
from vidu_web.vidu.types import TaskResult

from . import results
from .models import POLLED_STATES, GenerationTask, State
from .upstream import callback_url, provider

log = logging.getLogger(__name__)


class CachedNonces:
    """Nonces seen lately, in Django's cache so every web worker shares them."""

    def add(self, nonce: str, now: float) -> bool:
        return cache.add(f"vidu-nonce:{nonce[:200]}", 1, timeout=2 * signing.MAX_SKEW)


@csrf_exempt
@login_not_required
@require_POST
def vidu_callback(request, task_uuid, secret):
    task = GenerationTask.objects.filter(uuid=task_uuid).first()
    if task is None or not hmac.compare_digest(secret.encode(), task.callback_secret.encode()):
        log.warning("callback for %s refused: unknown task or wrong secret", task_uuid)
        return HttpResponseForbidden("unknown task")
    verified = False
    if provider().signs_callbacks and settings.VIDU_CALLBACK_BASE_URL:
        try:
            signing.verify(settings.VIDU_API_KEY, callback_url(task), dict(request.headers), nonces=CachedNonces(),
                           now=time.time())
        except signing.SignatureError as exc:
            log.warning("callback for task %s refused: %s", task.uuid, exc)
            return HttpResponseForbidden("bad signature")
        verified = True
    handle(task, parse(task, request.body), verified)
    return HttpResponse("ok")


def parse(task, body: bytes) -> TaskResult | None:
    try:
        return TaskResult.parse(json.loads(body))
    except (ValueError, RecursionError):  # RecursionError: nesting too deep for json, e.g. "[" * 100000
        log.warning("callback for task %s has a body we can't read; polling instead", task.uuid)
        return None


def handle(task: GenerationTask, result: TaskResult | None, verified: bool) -> None:
    if result is None:
        poll_now(task)
    elif task.state == State.SUBMITTING and not task.vidu_task_id:
        adopt(task, result)
    elif result.id != task.vidu_task_id:
        log.warning("callback for task %s names Vidu task %s, not %s; ignored", task.uuid, result.id, task.vidu_task_id)
    elif verified and not result.is_final and task.state in POLLED_STATES:
        results.apply(task, result, queried=False)
    else:
        poll_now(task)


def adopt(task: GenerationTask, result: TaskResult) -> None:
    """A create whose answer we never got: Vidu's callback tells us the id it was given."""
    if result.payload != str(task.uuid) or not result.id:
        log.warning("callback for submitting task %s doesn't carry its UUID; ignored", task.uuid)
        return
    if task.set_state(State.QUEUED, expected=State.SUBMITTING, note=f"Vidu's callback named it {result.id}",
                      vidu_task_id=result.id[:40], err_code="", error="", lease_until=None,
                      next_attempt_at=timezone.now()):
        log.info("task %s: adopted Vidu task %s from a callback", task.uuid, result.id)


def poll_now(task: GenerationTask) -> None:
    GenerationTask.objects.filter(pk=task.pk, state__in=POLLED_STATES).update(next_attempt_at=timezone.now())
