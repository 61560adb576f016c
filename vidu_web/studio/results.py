"""Turning Vidu's answer about a task (a query, or a verified callback) into our state.

Every write is conditional on the state we read, so an answer that arrives late (a callback
racing a poll) can never move a task backwards.
"""

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from vidu_web.vidu.errors import friendly
from vidu_web.vidu.types import TaskResult

from . import jobs, timing
from .models import Creation, GenerationTask, State

log = logging.getLogger(__name__)

# Vidu's states onto ours; "success" means archiving (the gallery waits for our copy).
STATE_MAP = {
    "created": State.QUEUED,
    "queueing": State.QUEUED,
    "scheduling": State.QUEUED,
    "processing": State.PROCESSING,
    "success": State.ARCHIVING,
    "failed": State.FAILED,
}
# When a presigned URL doesn't say how long it lives, assume the shortest lifetime Vidu uses.
DEFAULT_URL_TTL = 3600


def apply(task: GenerationTask, result: TaskResult, *, queried: bool = True) -> None:
    """Record ``result`` on ``task`` (as read by the caller) and decide when to look next.

    ``queried`` says the answer came from a query we sent (counted in ``api_calls``), not
    from a callback.
    """
    now = timezone.now()
    if result.payload and result.payload != str(task.uuid):
        log.error("task %s: Vidu task %s carries payload %r, not ours; ignored", task.uuid, result.id, result.payload[:80])
        if queried:
            poll_failed(task, "Vidu answered about another task")
        return
    common = {"vidu_state": result.state[:20], "poll_failures": 0}
    if queried:  # the caller holds the lease; a callback leaves it to whoever does
        common.update(last_polled_at=now, api_calls=F("api_calls") + 1, lease_until=None)
    if result.progress is not None:
        common["progress"] = result.progress
    if result.credits is not None:
        common["credits"] = result.credits
    if result.state == "success":
        succeeded(task, result, common)
    elif result.state == "failed":
        failed(task, result, common)
    else:
        running(task, result, common, now)


def running(task, result, common, now) -> None:
    state = STATE_MAP.get(result.state)
    if state is None:
        log.warning("task %s: Vidu reported an unknown state %r; treating it as running", task.uuid, result.state)
        state = task.state if task.state in (State.QUEUED, State.PROCESSING) else State.QUEUED
    if state == State.QUEUED and task.state == State.PROCESSING:
        state = State.PROCESSING  # never backwards
    common["next_attempt_at"] = now + timing.poll_delay(_as_state(task, state), now)
    if state != task.state:
        task.set_state(state, **common)
    else:
        GenerationTask.objects.filter(pk=task.pk, state=task.state).update(updated_at=now, **common)


def _as_state(task, state):
    """``task`` as it will be once in ``state`` (the cadence depends on the state)."""
    if task.state == state:
        return task
    return GenerationTask(state=state, params=task.params, created_at=task.created_at, submitted_at=task.submitted_at)


def succeeded(task, result, common) -> None:
    """Vidu made the video: store the creations and hand the task to the archiver."""
    if not result.creations:
        log.warning("task %s: Vidu reported success with no creations; asking again later", task.uuid)
        poll_failed(task, "success without creations")
        return
    with transaction.atomic():
        # The archive is enqueued now; the sweep re-enqueues it only if that message is lost.
        grace = timezone.now() + timing.seconds(timing.ENQUEUE_GRACE)
        if not task.set_state(State.ARCHIVING, next_attempt_at=grace, **common):
            return
        store_creations(task, result)
        transaction.on_commit(lambda: enqueue_archive(task.pk))


def failed(task, result, common) -> None:
    code = result.err_code or "InternalServiceFailure"
    if code == "UserCancelled":
        task.set_state(State.CANCELLED, err_code=code, error=friendly(code), **common)
    else:
        task.fail(code, friendly(code), **common)


def store_creations(task, result: TaskResult) -> None:
    """Create or refresh the task's Creation rows with Vidu's (fresh) URLs; stored copies stay."""
    for item in result.creations:
        expires = min(filter(None, (url_expiry(item.url), url_expiry(item.cover_url))), default=None)
        Creation.objects.update_or_create(task_id=task.pk, vidu_id=item.id[:40], defaults={
            "url": item.url, "cover_url": item.cover_url, "watermarked_url": item.watermarked_url,
            "urls_expire_at": expires, "duration": item.video.duration, "fps": item.video.fps,
            "width": item.video.width, "height": item.video.height,
        })


def url_expiry(url: str) -> datetime | None:
    """When a presigned URL stops working, from its X-Amz-Date and X-Amz-Expires."""
    if not url:
        return None
    query = {k.lower(): v for k, v in parse_qsl(urlsplit(url).query)}
    try:
        ttl = int(query.get("x-amz-expires") or DEFAULT_URL_TTL)
    except ValueError:
        ttl = DEFAULT_URL_TTL
    signed = query.get("x-amz-date", "")
    try:
        start = datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        start = timezone.now()
    return start + timedelta(seconds=ttl)


def poll_failed(task, reason: str, retry_after: float | None = None, long: bool = False) -> bool:
    """A query that told us nothing: back off; after too many in a row, give up visibly.

    Returns False when the task was failed because of it.
    """
    failures = task.poll_failures + 1
    if failures >= MAX_POLL_FAILURES:
        task.fail("InternalServiceFailure", f"We lost contact with Vidu about this task ({reason}).",
                  poll_failures=failures, api_calls=F("api_calls") + 1)
        return False
    delay = timing.backoff(failures, retry_after, base=30 if long else 2, cap=900 if long else 300)
    GenerationTask.objects.filter(pk=task.pk, state=task.state).update(
        poll_failures=F("poll_failures") + 1, lease_until=None, next_attempt_at=timezone.now() + delay,
        api_calls=F("api_calls") + 1, last_polled_at=timezone.now())
    return True


# Queries failing in a row before a task is given up; with the backoff cap that is over an hour.
MAX_POLL_FAILURES = 20


def enqueue_archive(task_id: int) -> None:
    jobs.archive(task_id)  # a broker outage is logged there; the sweep enqueues it again
