"""Sending a task to Vidu exactly once: claim, build the request, create, record the answer.

The rule that shapes all of it: a create costs real credits, so a request that may have
reached Vidu is never sent again. Only answers that prove nothing was created (an error
status, a refused connection) lead to a retry.
"""

import logging

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from vidu_web.vidu import images
from vidu_web.vidu.errors import ViduError

from . import timing
from .models import OUTCOME_UNKNOWN, OUTCOME_UNKNOWN_TEXT, GenerationTask, State
from .upstream import callback_url, get_client

log = logging.getLogger(__name__)

# Room left in the 20 MB body for everything but the images (prompt, fields, JSON syntax).
BODY_MARGIN = 256 * 1024


def submit(task_id: int) -> None:
    """Claim a pending task and create it at Vidu; a no-op when another worker has it."""
    task = claim(task_id)
    if task is None:
        return
    try:
        body = build_request(task)
    except images.ImageRejected as exc:
        task.fail("ImageFormatInvalid", str(exc), expected=State.SUBMITTING)
        return
    except OSError:
        log.exception("task %s: its input images can't be read", task.uuid)
        task.fail("InputMissing", "Its input images could not be read; please upload them again.",
                  expected=State.SUBMITTING)
        return
    if not mark_sent(task):
        return
    client = get_client()
    client.timeout = (3.05, settings.VIDU_TIMEOUT)
    try:
        result = client.create(task.mode, body)
    except ViduError as exc:
        on_error(task, exc)
    else:
        record(task, result)


def claim(task_id: int) -> GenerationTask | None:
    """pending -> submitting, atomically: only one worker gets the task."""
    task = GenerationTask.objects.select_related("prompt").filter(pk=task_id).first()
    if task is None or task.state != State.PENDING:
        return None
    lease = timezone.now() + timing.request_lease()
    if not task.set_state(State.SUBMITTING, expected=State.PENDING, lease_until=lease,
                          attempts=F("attempts") + 1, create_sent_at=None):
        return None
    task.refresh_from_db(fields=["attempts"])
    return task


def build_request(task: GenerationTask) -> dict:
    """The create body: the stored parameters, the images as data URIs, our UUID as payload."""
    body = {"model": task.model, "duration": task.duration, "resolution": task.resolution, **task.params}
    if task.prompt.text:
        body["prompt"] = task.prompt.text
    stored = list(task.images.all())
    if stored:
        budget = (images.BODY_LIMIT - BODY_MARGIN - len(task.prompt.text.encode())) // len(stored)
        body["images"] = [images.to_data_uri(_read(image), budget=budget) for image in stored]
    body["payload"] = str(task.uuid)
    url = callback_url(task)
    if url:
        body["callback_url"] = url
    return body


def _read(image) -> bytes:
    with image.file.open("rb") as f:
        return f.read()


def mark_sent(task: GenerationTask) -> bool:
    """Record that the create is about to go out, so recovery after a crash won't resend it.

    Only while this worker's claim holds: the lease it took is still the row's and has not run
    out. A worker that stalled past its lease may have been recovered (the task is pending
    again, or claimed by another worker), and must then not send a second create.
    """
    now = timezone.now()
    lease = now + timing.request_lease()
    sent = GenerationTask.objects.filter(pk=task.pk, state=State.SUBMITTING, lease_until=task.lease_until,
                                         lease_until__gt=now).update(
        create_sent_at=now, lease_until=lease, api_calls=F("api_calls") + 1)
    if sent:
        task.create_sent_at, task.lease_until = now, lease
    return bool(sent)


def record(task: GenerationTask, result) -> None:
    """Store Vidu's task id and first answer; the sweep follows it from here."""
    now = timezone.now()
    fields = {"vidu_task_id": result.task_id, "credits": result.credits, "seed_used": result.seed,
              "lease_until": None, "err_code": "", "error": "",
              "next_attempt_at": now + timing.poll_delay(task, now)}
    if task.set_state(State.QUEUED, expected=State.SUBMITTING, vidu_state=result.state, **fields):
        return
    # Given up as "outcome unknown" while the create was in flight (its lease ran out): this
    # answer proves the task exists at Vidu and is paid for, so follow it after all.
    if GenerationTask.objects.filter(pk=task.pk, state=State.FAILED, err_code=OUTCOME_UNKNOWN,
                                     vidu_task_id="").update(vidu_task_id=result.task_id):
        task.set_state(State.QUEUED, expected=State.FAILED, vidu_state=result.state, finished_at=None,
                       note=f"Vidu's late answer named it {result.task_id}", **fields)
        return
    # Someone else moved it on while we waited: Vidu's callback got here first (fine), or an
    # admin did. Vidu has the task now, so keep its id: never create it again.
    if not GenerationTask.objects.filter(pk=task.pk, vidu_task_id=result.task_id).exists():
        GenerationTask.objects.filter(pk=task.pk, vidu_task_id="").update(vidu_task_id=result.task_id)
        log.error("task %s: created at Vidu as %s but its row had moved on", task.uuid, result.task_id)


def on_error(task: GenerationTask, exc: ViduError) -> None:
    if exc.outcome_unknown:
        log.warning("task %s: create outcome unknown (%s)", task.uuid, exc)
        outcome_unknown(task)
    elif exc.retryable:
        log.warning("task %s: create attempt %s failed, retryable: %s", task.uuid, task.attempts, exc)
        retry_later(task, exc)
    else:
        log.info("task %s: Vidu refused the create: %s", task.uuid, exc)
        task.fail(exc.reason, exc.friendly, expected=State.SUBMITTING)


def retry_later(task: GenerationTask, exc: ViduError) -> None:
    """Back to pending with a backoff, unless the attempts are used up."""
    if task.attempts >= settings.PIPELINE_SUBMIT_ATTEMPTS:
        error = f"{exc.friendly} We tried {task.attempts} times; try again later."
        task.fail(exc.reason, error, expected=State.SUBMITTING)
        return
    delay = timing.backoff(task.attempts, exc.retry_after)
    task.set_state(State.PENDING, expected=State.SUBMITTING, note=str(exc), err_code=exc.reason,
                   next_attempt_at=timezone.now() + delay, lease_until=None, create_sent_at=None)


def outcome_unknown(task: GenerationTask) -> None:
    """The create may exist at Vidu: never resend it.

    With callbacks on, Vidu's callback carries our UUID and lets us adopt its task id, so we
    wait a while for it; otherwise the task ends failed, saying so plainly.
    """
    now = timezone.now()
    if callback_url(task) and task.err_code != OUTCOME_UNKNOWN:
        GenerationTask.objects.filter(pk=task.pk, state=State.SUBMITTING).update(
            err_code=OUTCOME_UNKNOWN, lease_until=None, next_attempt_at=now + timing.seconds(timing.RECONCILE_WINDOW))
        return
    task.fail(OUTCOME_UNKNOWN, OUTCOME_UNKNOWN_TEXT, expected=State.SUBMITTING)


def recover(task: GenerationTask) -> None:
    """A submitting task whose worker vanished (its lease ran out)."""
    if task.create_sent_at is None:
        # It died before sending: nothing can exist at Vidu, so it may simply go again.
        task.set_state(State.PENDING, expected=State.SUBMITTING, note="its worker stopped before sending",
                       lease_until=None, next_attempt_at=timezone.now())
    else:
        outcome_unknown(task)
