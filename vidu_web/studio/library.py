"""How a team organises its videos: projects, review statuses and time-coded comments.

A video (``GenerationTask``) belongs to at most one project (``GenerationTask.project``) and
carries its own review status (``GenerationTask.review_status``, with who set it and when), so
the gallery filters by either with a plain column. Comments are rows of their own.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from vidu_web.teams.models import Team

COMMENT_MAX = 5000


class Review(models.TextChoices):
    """A video's review status, as the design names them (``status`` and ``?review=``)."""

    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class Project(models.Model):
    """A named set of a team's videos: visible to the team, or private to its creator."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="projects")
    name = models.CharField(max_length=100)
    is_private = models.BooleanField(default=False, help_text="Only its creator sees it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            # "Trailer" and "trailer" are one name to a team: the form says so before this fires.
            models.UniqueConstraint(Lower("name"), "team", name="one_project_name_per_team"),
        ]

    def __str__(self):
        return self.name

    def visible_to(self, user) -> bool:
        return not self.is_private or self.creator_id == user.id


class Comment(models.Model):
    """A remark on a video, optionally at a time code (seconds) that the player seeks to."""

    task = models.ForeignKey("studio.GenerationTask", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="comments")
    body = models.TextField(max_length=COMMENT_MAX)
    at = models.FloatField(null=True, blank=True, help_text="Seconds into the video.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"Comment by {self.author} on {self.task_id}"

    @property
    def time_code(self) -> str:
        """``at`` as the player shows it (m:ss)."""
        if self.at is None:
            return ""
        whole = int(self.at)
        return f"{whole // 60}:{whole % 60:02d}"
