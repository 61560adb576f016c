"""Prompts, generation tasks and their creations (the videos Vidu made)."""

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from vidu_web.teams.models import Team
from vidu_web.vidu import catalog
from vidu_web.vidu.catalog import ENDPOINTS

from .library import Comment, Project, Review  # noqa: F401 (the app's models are all reached from here)
from .providers import base as providers_base

log = logging.getLogger(__name__)


class Prompt(models.Model):
    """The text a creator wrote; kept apart so a remix or a retry can reuse it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="prompts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="prompts")
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.text[:80] or "(no prompt)"


class State(models.TextChoices):
    """Our states, shown as-is in ``data-state``."""

    PENDING = "pending", "Waiting to submit"
    SUBMITTING = "submitting", "Submitting"
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Generating"
    ARCHIVING = "archiving", "Saving"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATES = (State.PENDING, State.SUBMITTING, State.QUEUED, State.PROCESSING, State.ARCHIVING)
FINAL_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)
# States in which the provider holds the task and the sweep queries it.
POLLED_STATES = (State.QUEUED, State.PROCESSING)
# Cancel is offered while the provider still allows it: before we send it, and while it queues.
CANCELLABLE_STATES = (State.PENDING, State.QUEUED)
RETRYABLE_STATES = (State.FAILED, State.CANCELLED)
# The columns the list queries sort and estimate by; TaskEvent keeps every change with its time
# and reason, so no other timestamp is stored.
STATE_TIMESTAMPS = {
    State.SUBMITTING: "submitted_at",
    State.PROCESSING: "started_at",
    State.SUCCEEDED: "finished_at",
    State.FAILED: "finished_at",
    State.CANCELLED: "finished_at",
}
# What a provider's answer means for our task (its success becomes "archiving": the gallery
# waits for our copy).
ANSWER_STATES = {
    providers_base.QUEUED: State.QUEUED,
    providers_base.PROCESSING: State.PROCESSING,
    providers_base.SUCCEEDED: State.ARCHIVING,
    providers_base.FAILED: State.FAILED,
    providers_base.CANCELLED: State.CANCELLED,
}
# err_code of a create whose outcome is unknown: it may exist upstream, so it is never resent.
OUTCOME_UNKNOWN = "OutcomeUnknown"
OUTCOME_UNKNOWN_TEXT = (
    "We sent this to Vidu but got no answer, so we can't tell whether it started; it was not sent "
    "again to avoid paying twice. Try again to submit it anew."
)
# Queries failing in a row before a task is given up; with the backoff cap that is over an hour.
MAX_POLL_FAILURES = 20


def _secret():
    return secrets.token_urlsafe(24)


def counted(changes: dict, calls: int) -> dict:
    """``changes`` plus ``calls`` requests sent upstream: the one place ``api_calls`` grows."""
    if calls:
        changes["api_calls"] = F("api_calls") + calls
    return changes


class GenerationTask(models.Model):
    """One video asked of a provider, from the create form to our archived copy.

    Its life is here, as healthchecks keeps a check's on ``Check``: each transition is a method
    that claims the row with a conditional update (``set_state``), so a worker whose view is
    stale changes nothing, and writes a TaskEvent. The pipeline modules (``submission``,
    ``sweep``, ``archive``) do the I/O and call these; views, admin, templates and the page
    script ask the predicates (``is_active``, ``can_cancel``, ``can_retry``, ``may_manage``).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tasks")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="tasks")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="tasks")
    mode = models.CharField(max_length=20, choices=list(ENDPOINTS.items()))
    model = models.CharField(max_length=40)
    duration = models.PositiveSmallIntegerField()
    resolution = models.CharField(max_length=8)
    # The other validated request fields (aspect_ratio, movement_amplitude, seed, bgm, audio,
    # off_peak, watermark, style), with Vidu's names, exactly as they will be sent.
    params = models.JSONField(default=dict, blank=True)
    # The provider and endpoint the task was created with: every later call goes there, whatever
    # the settings say now (see providers.for_task).
    provider = models.CharField(max_length=20)
    endpoint = models.CharField(max_length=300, blank=True)
    # The failed task this one tries again (at most one copy each, so a double click pays once).
    retry_of = models.OneToOneField("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retried_as")
    # The video this one was made from (a remix, a try again; later an extend or an upscale), and
    # its family: the first version's UUID, shared by every version, so the video page lists a
    # family and the gallery folds one with a plain column, however long the chain.
    source = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="versions")
    family = models.UUIDField(null=True, blank=True, db_index=True)
    # Library (library.py): at most one project, and the review status with who set it and when.
    project = models.ForeignKey(Project, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    review_status = models.CharField(max_length=20, choices=Review.choices, default=Review.DRAFT)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # The prompt the provider wrote for it (is_rec), when its answer carried one.
    prompt_used = models.TextField(blank=True)

    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING, db_index=True)
    upstream_id = models.CharField(max_length=40, blank=True, db_index=True)
    upstream_state = models.CharField(max_length=20, blank=True)
    progress = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The provider's progress, when it gives one.")
    credits = models.IntegerField(null=True, blank=True)
    # What it was expected to cost when made (teams/spend.py): held against the budget and the
    # creator's cap until the provider's ``credits`` settle it.
    estimate = models.IntegerField(null=True, blank=True)
    seed_used = models.BigIntegerField(null=True, blank=True)
    err_code = models.CharField(max_length=60, blank=True)
    error = models.TextField(blank=True, help_text="Why it failed, in words a creator understands.")

    attempts = models.PositiveSmallIntegerField(default=0, help_text="Submissions tried.")
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When the pipeline looks at it next.")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A worker holds it until then.")
    # Set just before the create request goes out: a worker killed after this point may have
    # created the task upstream, so recovery must not resend it.
    create_sent_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_failures = models.PositiveSmallIntegerField(default=0, help_text="Queries failed in a row.")
    api_calls = models.PositiveIntegerField(default=0, help_text="Requests sent to the provider for this task.")
    callback_secret = models.CharField(max_length=64, default=_secret, editable=False)

    is_private = models.BooleanField(default=False, help_text="Hidden from the team's gallery.")
    deleted_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="task_due"),
            models.Index(fields=["team", "state", "-finished_at"], name="task_gallery"),
            models.Index(fields=["creator", "-created_at"], name="task_by_creator"),
            # progress.typical_seconds: a kind's latest successes, however long the team's history.
            models.Index(fields=["team", "model", "duration", "resolution", "-finished_at"], name="task_typical",
                         condition=models.Q(state="succeeded")),
        ]

    def __str__(self):
        return f"{self.get_mode_display()} {self.uuid} ({self.state})"

    def save(self, *args, **kwargs):
        if self.family is None:
            self.family = (self.source.family or self.source.uuid) if self.source_id else self.uuid
        super().save(*args, **kwargs)

    # --- what every layer asks --------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def can_cancel(self) -> bool:
        """Offered while the provider still allows it (it refuses once it has scheduled the task)."""
        return self.state in CANCELLABLE_STATES

    @property
    def can_retry(self) -> bool:
        return self.state in RETRYABLE_STATES

    @property
    def live_retry(self):
        """The task that tried this one again, unless it was deleted since (then this one may be
        tried again); the list queries fetch it with the cards."""
        retry = getattr(self, "retried_as", None)  # a reverse one-to-one: getattr says None when absent
        return retry if retry is not None and retry.deleted_at is None else None

    def may_manage(self, user, membership) -> bool:
        """Cancel or delete: its creator, or an owner or admin of its team (``membership``)."""
        return self.creator_id == user.id or bool(membership and membership.is_admin)

    def may_set_privacy(self, user) -> bool:
        return self.creator_id == user.id

    def may_review(self, membership) -> bool:
        """Members and up set the review status; viewers may only comment."""
        return bool(membership and membership.can_create)

    def set_review(self, status: str, user) -> None:
        """Record the review status with who set it and when (the last word wins)."""
        now = timezone.now()
        GenerationTask.objects.filter(pk=self.pk).update(review_status=status, reviewed_by=user, reviewed_at=now,
                                                         updated_at=now)
        self.review_status, self.reviewed_by, self.reviewed_at = status, user, now

    @property
    def video_seconds(self) -> float:
        """How long the video is: the stored creation's measure when there is one, else the length asked."""
        creations = [c for c in self.creations.all() if c.duration]
        return creations[0].duration if creations else float(self.duration)

    # --- versions: extend and upscale make a newer version of a finished video (§2b) ---------

    def output(self):
        """The video the provider made for this task (it makes one), or None; uses a prefetch."""
        return next(iter(sorted(self.creations.all(), key=lambda c: c.id)), None)

    def derive_problems(self, endpoint: str, creation) -> dict[str, str]:
        """Why this video can't be extended or upscaled (``endpoint``); empty when it can.

        A video is named to the provider by its creation's id, so it must be finished and the
        provider's own; its length (and frame rate) must fit the endpoint's limits."""
        verb = "extended" if endpoint == catalog.EXTEND else "upscaled"
        if self.state != State.SUCCEEDED:
            return {"video": f"Only a finished video can be {verb}."}
        if creation is None or not creation.upstream_id:
            return {"video": f"This video wasn't made by Vidu and has no address Vidu can read, so it can't be {verb}."}
        return catalog.check_source(endpoint, creation.duration or self.duration, creation.fps)

    def upscale_choices(self, creation) -> list[str]:
        """The upscale resolutions above this video's: from our copy's frame size, else its own."""
        side = catalog.frame_side(creation.width, creation.height) if creation else 0
        return catalog.upscale_choices(side or catalog.RESOLUTION_SIDES.get(self.resolution, 0))

    def callback_url(self) -> str:
        """The URL the provider calls back (with this task's secret), or "" when callbacks are off."""
        if not settings.VIDU_CALLBACK_BASE_URL:
            return ""
        return settings.VIDU_CALLBACK_BASE_URL + reverse("vidu-callback", args=[self.uuid, self.callback_secret])

    # --- the one way a task's state changes -------------------------------------------------

    def set_state(self, state, *, expected=None, upstream_state=None, note="", calls=0, **fields) -> bool:
        """Move to ``state`` if the row is still in ``expected`` (default: this object's state).

        A conditional update, so a worker whose view is stale (another worker, a callback or an
        admin moved the task on) changes nothing; returns whether it won. Writes the matching
        timestamp column and a TaskEvent, counts ``calls`` upstream requests, and updates this
        object on success.
        """
        expected = expected or self.state
        expected = (expected,) if isinstance(expected, str) else tuple(expected)
        now = timezone.now()
        changes = counted({"state": state, "updated_at": now, **fields}, calls)
        if upstream_state is not None:
            changes["upstream_state"] = upstream_state
        column = STATE_TIMESTAMPS.get(state)
        if column and state not in expected:
            changes.setdefault(column, now)
        if state in FINAL_STATES:
            changes.setdefault("lease_until", None)
            changes.setdefault("next_attempt_at", None)
        with transaction.atomic():
            won = GenerationTask.objects.filter(pk=self.pk, state__in=expected).update(**changes)
            if not won:
                return False
            if state not in expected or note:
                TaskEvent.objects.create(task_id=self.pk, state=state, upstream_state=changes.get("upstream_state", self.upstream_state),
                                         at=now, note=note[:1000])
        for name, value in changes.items():
            if not hasattr(value, "resolve_expression"):
                setattr(self, name, value)
        return True

    def _update(self, *, calls=0, **changes) -> bool:
        """A conditional write that keeps the state (the row must still be in ours)."""
        return bool(GenerationTask.objects.filter(pk=self.pk, state=self.state).update(
            updated_at=timezone.now(), **counted(changes, calls)))

    def count_calls(self, calls: int = 1) -> None:
        """Requests sent upstream that no transition records (a refused cancel, a URL refresh)."""
        GenerationTask.objects.filter(pk=self.pk).update(**counted({}, calls))

    def fail(self, err_code, error, *, expected=None, **fields) -> bool:
        """End the task failed, with the provider's reason code and a sentence for the creator."""
        return self.set_state(State.FAILED, expected=expected, err_code=err_code[:60], error=error,
                              note=f"{err_code}: {error}", **fields)

    # --- submit (submission.py does the I/O) ------------------------------------------------

    def claim_for_submit(self) -> bool:
        """pending -> submitting with a short lease (``mark_create_sent`` extends it to cover the
        request): only one worker gets the task, and one killed before sending is recovered soon."""
        from . import timing

        if not self.set_state(State.SUBMITTING, expected=State.PENDING, lease_until=timezone.now() + timing.claim_lease(),
                              attempts=F("attempts") + 1, create_sent_at=None):
            return False
        self.refresh_from_db(fields=["attempts"])
        return True

    def mark_create_sent(self) -> bool:
        """Record that the create is about to go out, so recovery after a crash won't resend it.

        Only while this worker's claim holds: the lease it took is still the row's and has not
        run out. A worker that stalled past its lease may have been recovered (the task is
        pending again, or claimed by another worker), and must then not send a second create.
        """
        from . import timing

        now = timezone.now()
        lease = now + timing.request_lease()
        sent = GenerationTask.objects.filter(pk=self.pk, state=State.SUBMITTING, lease_until=self.lease_until,
                                             lease_until__gt=now).update(
            **counted({"create_sent_at": now, "lease_until": lease}, 1))
        if sent:
            self.create_sent_at, self.lease_until = now, lease
        return bool(sent)

    def record_create(self, created: providers_base.Created) -> None:
        """Store the provider's id and first answer; the sweep follows the task from here."""
        from . import timing

        now = timezone.now()
        fields = {"upstream_id": created.id, "credits": created.credits, "seed_used": created.seed,
                  "lease_until": None, "err_code": "", "error": "", **self._prompt_used(created.prompt),
                  "next_attempt_at": now + timing.poll_delay(self, now, state=State.QUEUED)}
        if self.set_state(State.QUEUED, expected=State.SUBMITTING, upstream_state=created.upstream_state, **fields):
            return
        # Given up as "outcome unknown" while the create was in flight (its lease ran out): this
        # answer proves the task exists upstream and is paid for, so follow it after all.
        if GenerationTask.objects.filter(pk=self.pk, state=State.FAILED, err_code=OUTCOME_UNKNOWN,
                                         upstream_id="").update(upstream_id=created.id):
            self.set_state(State.QUEUED, expected=State.FAILED, upstream_state=created.upstream_state, finished_at=None,
                           note=f"the provider's late answer named it {created.id}", **fields)
            return
        # Someone else moved it on while we waited: the callback got here first (fine), or an
        # admin did. The provider has the task now, so keep its id: never create it again.
        if not GenerationTask.objects.filter(pk=self.pk, upstream_id=created.id).exists():
            GenerationTask.objects.filter(pk=self.pk, upstream_id="").update(upstream_id=created.id)
            log.error("task %s: created upstream as %s but its row had moved on", self.uuid, created.id)

    def _prompt_used(self, prompt: str) -> dict:
        """The provider's prompt (is_rec) to keep, if its answer carried one; §2b: don't assume it does."""
        if not (self.params or {}).get("is_rec") or not prompt or prompt == self.prompt.text:
            return {}
        return {"prompt_used": prompt[:5000]}

    def retry_submit_later(self, error: providers_base.ProviderError) -> None:
        """Back to pending with a backoff after a retryable refusal, unless attempts are used up."""
        from . import timing

        if self.attempts >= settings.PIPELINE_SUBMIT_ATTEMPTS:
            self.fail(error.reason, f"{error.friendly} We tried {self.attempts} times; try again later.",
                      expected=State.SUBMITTING)
            return
        delay = timing.backoff(self.attempts, error.retry_after)
        self.set_state(State.PENDING, expected=State.SUBMITTING, note=str(error), err_code=error.reason[:60],
                       next_attempt_at=timezone.now() + delay, lease_until=None, create_sent_at=None)

    def create_outcome_unknown(self) -> None:
        """The create may exist upstream: never resend it.

        With callbacks on, the provider's callback carries our UUID and lets us adopt its id, so
        we wait a while for it; otherwise the task ends failed, saying so plainly.
        """
        from . import timing

        if self.callback_url() and self.err_code != OUTCOME_UNKNOWN:
            GenerationTask.objects.filter(pk=self.pk, state=State.SUBMITTING).update(
                err_code=OUTCOME_UNKNOWN, lease_until=None,
                next_attempt_at=timezone.now() + timing.seconds(timing.RECONCILE_WINDOW))
            return
        self.fail(OUTCOME_UNKNOWN, OUTCOME_UNKNOWN_TEXT, expected=State.SUBMITTING)

    def recover_submit(self) -> None:
        """A submitting task whose worker vanished (its lease ran out)."""
        if self.create_sent_at is None:
            # It died before sending: nothing can exist upstream, so it may simply go again.
            self.set_state(State.PENDING, expected=State.SUBMITTING, note="its worker stopped before sending",
                           lease_until=None, next_attempt_at=timezone.now())
        else:
            self.create_outcome_unknown()

    def adopt(self, answer: providers_base.Answer) -> bool:
        """A create whose answer we never got: a verified callback names the id it was given."""
        if answer.payload != str(self.uuid) or not answer.id:
            log.warning("callback for submitting task %s doesn't carry its UUID; ignored", self.uuid)
            return False
        return self.set_state(State.QUEUED, expected=State.SUBMITTING, note=f"the provider's callback named it {answer.id}",
                              upstream_id=answer.id, err_code="", error="", lease_until=None,
                              next_attempt_at=timezone.now())

    # --- follow (a query's or a verified callback's answer) ---------------------------------

    def apply_answer(self, answer: providers_base.Answer, *, queried: bool = True) -> None:
        """Record what the provider says (about this task as the caller read it) and decide
        when to look next. ``queried``: the answer came from a query we sent (the caller holds
        the lease, and the call is counted), not from a callback."""
        from . import timing

        now = timezone.now()
        if answer.payload and answer.payload != str(self.uuid):
            log.error("task %s: upstream task %s carries payload %r, not ours; ignored", self.uuid, answer.id,
                      answer.payload[:80])
            if queried:
                self.poll_failed("the provider answered about another task")
            return
        common = {"upstream_state": answer.upstream_state, "poll_failures": 0}
        if queried:
            common.update(last_polled_at=now, lease_until=None, calls=1)
        if answer.progress is not None:
            common["progress"] = answer.progress
        if answer.credits is not None:
            common["credits"] = answer.credits
        if answer.prompt and answer.prompt != self.prompt_used:
            common.update(self._prompt_used(answer.prompt))
        state = ANSWER_STATES[answer.state]
        if state == State.ARCHIVING:
            self._succeeded_upstream(answer, common)
        elif state in FINAL_STATES:
            self.set_state(state, err_code=answer.err_code, error=answer.error,
                           note=f"{answer.err_code}: {answer.error}" if state == State.FAILED else "", **common)
        else:
            if state == State.QUEUED and self.state == State.PROCESSING:
                state = State.PROCESSING  # never backwards
            common["next_attempt_at"] = now + timing.poll_delay(self, now, state=state, progress=answer.progress)
            if state != self.state:
                self.set_state(state, **common)
            else:
                self._update(**common)

    def _succeeded_upstream(self, answer, common) -> None:
        """The provider made the video: store its outputs and hand the task to the archiver."""
        from . import jobs, timing

        if not answer.outputs:
            log.warning("task %s: the provider reported success with no video; asking again later", self.uuid)
            self.poll_failed("success without a video")
            return
        with transaction.atomic():
            # The archive is enqueued now; the sweep re-enqueues it only if that message is lost.
            grace = timezone.now() + timing.seconds(timing.ENQUEUE_GRACE)
            if not self.set_state(State.ARCHIVING, next_attempt_at=grace, **common):
                return
            Creation.store(self, answer.outputs)
            transaction.on_commit(lambda: jobs.archive(self.pk))

    def poll_failed(self, reason: str, retry_after: float | None = None, long: bool = False) -> bool:
        """A query that told us nothing: back off; after too many in a row, give up visibly.

        Returns False when the task was failed because of it.
        """
        from . import timing

        failures = self.poll_failures + 1
        if failures >= MAX_POLL_FAILURES:
            self.fail("InternalServiceFailure", f"We lost contact with the provider about this task ({reason}).",
                      poll_failures=failures, calls=1)
            return False
        delay = timing.backoff(failures, retry_after, base=30 if long else 2, cap=900 if long else 300)
        now = timezone.now()
        self._update(poll_failures=F("poll_failures") + 1, lease_until=None, next_attempt_at=now + delay,
                     last_polled_at=now, calls=1)
        return True

    def slow_down(self, seconds: float) -> None:
        """The provider asked us to slow down (429): look again after ``seconds``."""
        self._update(lease_until=None, next_attempt_at=timezone.now() + timedelta(seconds=seconds), calls=1)

    def poll_soon(self) -> bool:
        """Have the sweep query this task at its next turn (within about a second)."""
        return bool(GenerationTask.objects.filter(pk=self.pk, state__in=POLLED_STATES)
                    .update(next_attempt_at=timezone.now()))

    # --- archive (archive.py does the I/O) --------------------------------------------------

    def finish_archive(self) -> bool:
        return self.set_state(State.SUCCEEDED, expected=State.ARCHIVING, progress=100, err_code="", error="")

    def archive_later(self, delay: timedelta) -> None:
        GenerationTask.objects.filter(pk=self.pk, state=State.ARCHIVING).update(
            lease_until=None, next_attempt_at=timezone.now() + delay)

    def reopen_archive(self) -> bool:
        """Back to archiving (a failed copy, or our copy went missing): an admin's "save again"."""
        from . import timing

        return self.set_state(State.ARCHIVING, expected=(State.SUCCEEDED, State.FAILED), note="re-archive",
                              err_code="", error="", lease_until=None, finished_at=None,
                              next_attempt_at=timezone.now() + timing.seconds(timing.ENQUEUE_GRACE))

    # --- the creator's actions --------------------------------------------------------------

    def cancel_unsent(self) -> bool:
        """Cancel before it was sent: nothing exists upstream."""
        return self.set_state(State.CANCELLED, expected=State.PENDING, err_code="UserCancelled", error="Cancelled.")

    def cancelled_upstream(self) -> bool:
        """The provider accepted our cancel (and refunds the task)."""
        return self.set_state(State.CANCELLED, expected=POLLED_STATES, err_code="UserCancelled", error="Cancelled.",
                              note="cancelled upstream (refunded)", calls=1)

    def reset_for_retry(self, user, estimate=None) -> bool:
        """A submission refused (or never sent) goes again as the same task: nothing exists
        upstream. ``estimate`` is what it holds against the budget again until it is charged."""
        from . import timing

        if self.state != State.FAILED or self.upstream_id or self.err_code == OUTCOME_UNKNOWN:
            return False
        return self.set_state(State.PENDING, expected=State.FAILED, note=f"retried by {user}", attempts=0,
                              err_code="", error="", create_sent_at=None, finished_at=None, credits=None,
                              estimate=estimate,
                              next_attempt_at=timezone.now() + timing.seconds(timing.ENQUEUE_GRACE))


class SweepSlot(models.Model):
    """A sweep's heartbeat: one row per sweep allowed to run across all clusters.

    A sweep owns a slot while its ``beat_at`` is fresh; the keeper schedule starts a new one
    for a slot whose heartbeat went stale (its worker died).
    """

    slot = models.PositiveSmallIntegerField(unique=True)
    owner = models.CharField(max_length=100, blank=True)
    beat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"sweep slot {self.slot} ({self.owner or 'free'})"


class TaskImage(models.Model):
    """An input image, in the order the mode needs (first frame, last frame, references)."""

    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField()
    file = models.FileField(upload_to="inputs/%Y/%m/")
    mime = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["task", "position"], name="one_image_per_position")]

    def __str__(self):
        return f"Image {self.position + 1} of {self.task_id}"


class TaskEvent(models.Model):
    """Every state change with the time it happened: progress, ETA and figures come from these."""

    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="events")
    state = models.CharField(max_length=12, choices=State.choices)
    upstream_state = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.state} at {self.at:%Y-%m-%d %H:%M:%S}"


class Creation(models.Model):
    """One video Vidu made for a task, with our own stored copies."""

    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="creations")
    upstream_id = models.CharField(max_length=40)
    url = models.URLField(max_length=2000, blank=True)
    cover_url = models.URLField(max_length=2000, blank=True)
    watermarked_url = models.URLField(max_length=2000, blank=True)
    urls_expire_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(default=0)
    fps = models.FloatField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    video = models.FileField(upload_to="videos/%Y/%m/", blank=True)
    cover = models.FileField(upload_to="covers/%Y/%m/", blank=True)
    watermarked = models.FileField(upload_to="videos/%Y/%m/", blank=True)
    video_bytes = models.BigIntegerField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    archive_attempts = models.PositiveSmallIntegerField(default=0)
    archive_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "upstream_id"], name="one_row_per_upstream_creation")]

    def __str__(self):
        return f"Creation {self.upstream_id} of {self.task_id}"

    @property
    def is_archived(self):
        """Every file the provider offered is in our storage (the watermarked copy too, if any)."""
        return (bool(self.video) and (bool(self.cover) or not self.cover_url)
                and (bool(self.watermarked) or not self.watermarked_url))

    @classmethod
    def store(cls, task, outputs) -> None:
        """Create or refresh ``task``'s rows with the provider's (fresh) URLs; stored copies stay."""
        for item in outputs:
            expires = min(filter(None, (url_expiry(item.url), url_expiry(item.cover_url),
                                        url_expiry(item.watermarked_url))), default=None)
            cls.objects.update_or_create(task_id=task.pk, upstream_id=item.id[:40], defaults={
                "url": item.url, "cover_url": item.cover_url, "watermarked_url": item.watermarked_url,
                "urls_expire_at": expires, "duration": item.duration, "fps": item.fps,
                "width": item.width, "height": item.height,
            })

    def urls_expired(self, margin=60) -> bool:
        """True when Vidu's presigned URLs are (about to be) no longer valid."""
        if self.urls_expire_at is None:
            return False
        return self.urls_expire_at <= timezone.now() + timedelta(seconds=margin)


class Favorite(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorites")
    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="favorites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "task"], name="one_favorite_per_user")]

    def __str__(self):
        return f"{self.user} likes {self.task_id}"


# When a presigned URL doesn't say how long it lives, assume the shortest lifetime Vidu uses.
DEFAULT_URL_TTL = 3600


def url_expiry(url: str) -> datetime | None:
    """When a presigned URL stops working, from its X-Amz-Date and X-Amz-Expires."""
    if not url:
        return None
    query = {k.lower(): v for k, v in parse_qsl(urlsplit(url).query)}
    try:
        ttl = min(int(query.get("x-amz-expires") or DEFAULT_URL_TTL), 7 * 86400)
    except ValueError:
        ttl = DEFAULT_URL_TTL
    signed = query.get("x-amz-date", "")
    try:
        start = datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        start = timezone.now()
    return start + timedelta(seconds=ttl)


from .shares import ShareLink  # noqa: E402,F401  (its own module: public share links)
