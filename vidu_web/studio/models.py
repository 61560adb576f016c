"""Prompts, generation tasks and their creations (the videos Vidu made)."""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from vidu_web.teams.models import Team
from vidu_web.vidu.catalog import MODES


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
# States in which Vidu holds the task and the sweep queries it.
POLLED_STATES = (State.QUEUED, State.PROCESSING)
# The column that records when a task entered each state (besides its TaskEvent).
STATE_TIMESTAMPS = {
    State.SUBMITTING: "submitted_at",
    State.QUEUED: "queued_at",
    State.PROCESSING: "started_at",
    State.ARCHIVING: "generated_at",
    State.SUCCEEDED: "finished_at",
    State.FAILED: "finished_at",
    State.CANCELLED: "finished_at",
}
# err_code of a create whose outcome is unknown: it may exist at Vidu, so it is never resent.
OUTCOME_UNKNOWN = "OutcomeUnknown"
OUTCOME_UNKNOWN_TEXT = (
    "We sent this to Vidu but got no answer, so we can't tell whether it started; it was not sent "
    "again to avoid paying twice. Try again to submit it anew."
)


def _secret():
    return secrets.token_urlsafe(24)


class GenerationTask(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tasks")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="tasks")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="tasks")
    mode = models.CharField(max_length=20, choices=list(MODES.items()))
    model = models.CharField(max_length=40)
    duration = models.PositiveSmallIntegerField()
    resolution = models.CharField(max_length=8)
    # The other validated request fields (aspect_ratio, movement_amplitude, seed, bgm, audio,
    # off_peak, watermark, style), with Vidu's names, exactly as they will be sent.
    params = models.JSONField(default=dict, blank=True)
    provider = models.CharField(max_length=20)
    # The failed task this one tries again (at most one copy each, so a double click pays once).
    retry_of = models.OneToOneField("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retried_as")

    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING, db_index=True)
    vidu_task_id = models.CharField(max_length=40, blank=True, db_index=True)
    vidu_state = models.CharField(max_length=20, blank=True)
    progress = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Vidu's progress, when it gives one.")
    credits = models.IntegerField(null=True, blank=True)
    seed_used = models.BigIntegerField(null=True, blank=True)
    err_code = models.CharField(max_length=60, blank=True)
    error = models.TextField(blank=True, help_text="Why it failed, in words a creator understands.")

    attempts = models.PositiveSmallIntegerField(default=0, help_text="Submissions tried.")
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When the pipeline looks at it next.")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A worker holds it until then.")
    # Set just before the create request goes out: a worker killed after this point may have
    # created the task at Vidu, so recovery must not resend it.
    create_sent_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_failures = models.PositiveSmallIntegerField(default=0, help_text="Queries failed in a row.")
    api_calls = models.PositiveIntegerField(default=0, help_text="Requests sent to Vidu for this task.")
    callback_secret = models.CharField(max_length=64, default=_secret, editable=False)

    is_private = models.BooleanField(default=False, help_text="Hidden from the team's gallery.")
    deleted_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True, help_text="When Vidu reported success.")
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

    @property
    def is_active(self):
        return self.state in ACTIVE_STATES

    def set_state(self, state, *, expected=None, vidu_state=None, note="", **fields) -> bool:
        """Move to ``state`` if the row is still in ``expected`` (default: this object's state).

        A conditional update, so a worker whose view is stale (another worker, a callback or an
        admin moved the task on) changes nothing; returns whether it won. Writes the matching
        timestamp column and a TaskEvent, and updates this object on success.
        """
        expected = expected or self.state
        expected = (expected,) if isinstance(expected, str) else tuple(expected)
        now = timezone.now()
        changes = {"state": state, "updated_at": now, **fields}
        if vidu_state is not None:
            changes["vidu_state"] = vidu_state
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
                TaskEvent.objects.create(task_id=self.pk, state=state, vidu_state=changes.get("vidu_state", self.vidu_state),
                                         at=now, note=note[:1000])
        for name, value in changes.items():
            setattr(self, name, value)
        return True

    def fail(self, err_code, error, *, expected=None, **fields) -> bool:
        """End the task failed, with Vidu's reason code and a sentence for the creator."""
        return self.set_state(State.FAILED, expected=expected, err_code=err_code[:60], error=error,
                              note=f"{err_code}: {error}", **fields)


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
    vidu_state = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.state} at {self.at:%Y-%m-%d %H:%M:%S}"


class Creation(models.Model):
    """One video Vidu made for a task, with our own stored copies."""

    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="creations")
    vidu_id = models.CharField(max_length=40)
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
        constraints = [models.UniqueConstraint(fields=["task", "vidu_id"], name="one_row_per_vidu_creation")]

    def __str__(self):
        return f"Creation {self.vidu_id} of {self.task_id}"

    @property
    def is_archived(self):
        return bool(self.video) and (bool(self.cover) or not self.cover_url)

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
