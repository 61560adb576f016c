"""Sending a task to its provider exactly once: claim, build the request, create, record the answer.

The rule that shapes all of it: a create costs real credits, so a request that may have
reached the provider is never sent again. Only answers that prove nothing was created (an
error status, a refused connection) lead to a retry. The transitions are the model's
(``GenerationTask.claim_for_submit``, ``mark_create_sent``, ``record_create``, ...); this module
does the I/O between them.
"""

import logging

from vidu_web.vidu import images

from . import providers
from .models import GenerationTask, State

log = logging.getLogger(__name__)


def submit(task_id: int) -> None:
    """Claim a pending task and create it upstream; a no-op when another worker has it."""
    task = GenerationTask.objects.select_related("prompt").filter(pk=task_id, state=State.PENDING).first()
    if task is None or not task.claim_for_submit():
        return
    try:
        adapter = providers.for_task(task)
        body = adapter.build_request(task, [_read(image) for image in task.images.all()], task.callback_url())
    except images.ImageRejected as exc:
        task.fail("ImageFormatInvalid", str(exc), expected=State.SUBMITTING)
        return
    except providers.ProviderError as exc:
        task.fail(exc.reason, exc.friendly, expected=State.SUBMITTING)
        return
    except OSError:
        log.exception("task %s: its input images can't be read", task.uuid)
        task.fail("InputMissing", "Its input images could not be read; please upload them again.",
                  expected=State.SUBMITTING)
        return
    if not task.mark_create_sent():
        return
    try:
        created = adapter.create(task.mode, body)
    except providers.ProviderError as exc:
        on_error(task, exc)
    else:
        task.record_create(created)


def _read(image) -> bytes:
    with image.file.open("rb") as f:
        return f.read()


def on_error(task: GenerationTask, exc: providers.ProviderError) -> None:
    if exc.outcome_unknown:
        log.warning("task %s: create outcome unknown (%s)", task.uuid, exc)
        task.create_outcome_unknown()
    elif exc.retryable:
        log.warning("task %s: create attempt %s failed, retryable: %s", task.uuid, task.attempts, exc)
        task.retry_submit_later(exc)
    else:
        log.info("task %s: the provider refused the create: %s", task.uuid, exc)
        task.fail(exc.reason, exc.friendly, expected=State.SUBMITTING)
