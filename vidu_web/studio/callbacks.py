"""The endpoint a provider calls when a task changes state (vidu-api.md §5).

The URL carries the task's UUID and a per-task secret, so a caller who doesn't know the secret
changes nothing. When the task's provider signs callbacks (Vidu itself), the signature, its
Date and its nonce are checked too; then a progress update is applied at once, a create whose
answer we never got is adopted, and a final state makes us query the task now (the query is
authoritative and brings fresh URLs). A callback that can't be verified (a gateway's) is only
a hint to query that task now: its body is never trusted.
"""

import hmac
import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from vidu_web.vidu import signing

from . import providers
from .models import POLLED_STATES, GenerationTask, State

log = logging.getLogger(__name__)


class CachedNonces:
    """Nonces seen lately, in Django's cache so every web worker shares them."""

    def add(self, nonce: str, now: float) -> bool:
        return cache.add(f"vidu-nonce:{nonce[:200]}", 1, timeout=2 * signing.MAX_SKEW)


@csrf_exempt
@require_POST
def vidu_callback(request, task_uuid, secret):
    task = GenerationTask.objects.filter(uuid=task_uuid).first()
    if task is None or not hmac.compare_digest(secret.encode(), task.callback_secret.encode()):
        log.warning("callback for %s refused: unknown task or wrong secret", task_uuid)
        return HttpResponseForbidden("unknown task")
    try:
        adapter = providers.for_task(task)
    except providers.ProviderError:
        log.warning("callback for task %s: its provider %r is unknown here; ignored", task.uuid, task.provider)
        return HttpResponse("ok")
    verified = False
    if adapter.signs_callbacks and settings.VIDU_CALLBACK_BASE_URL:
        try:
            adapter.verify_callback(task.callback_url(), dict(request.headers), nonces=CachedNonces())
        except ValueError as exc:
            log.warning("callback for task %s refused: %s", task.uuid, exc)
            return HttpResponseForbidden("bad signature")
        verified = True
    handle(task, parse(task, adapter, request.body) if verified else None)
    return HttpResponse("ok")


def parse(task, adapter, body: bytes):
    try:
        return adapter.parse_callback(body)
    except (ValueError, OverflowError, RecursionError):
        log.warning("callback for task %s has a body we can't read; polling instead", task.uuid)
        return None


def handle(task: GenerationTask, answer) -> None:
    """Act on a verified callback's ``answer``; ``None`` (unverified or unreadable): poll now."""
    if answer is None:
        task.poll_soon()
    elif task.state == State.SUBMITTING and not task.upstream_id:
        if task.adopt(answer):
            log.info("task %s: adopted upstream task %s from a callback", task.uuid, answer.id)
    elif answer.id != task.upstream_id:
        log.warning("callback for task %s names upstream task %s, not %s; ignored", task.uuid, answer.id,
                    task.upstream_id)
    elif not answer.is_final and task.state in POLLED_STATES:
        task.apply_answer(answer, queried=False)
    else:
        task.poll_soon()
