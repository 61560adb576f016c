"""Public share links: a token that opens one video, or one project's videos, to anyone holding
it, and nothing else.

A link is made by a member who can see the video or project (a private one only by its creator),
shows the prompt and settings only if the sharer chose so, counts its views, and dies when
revoked, when it expires, or when its video is deleted or its video or project made private by
someone else than the sharer. A project link shows the project's videos the sharer could share
(not the private ones of others), as they are when the page is opened.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

log = logging.getLogger(__name__)

# What the share form offers (days; "" is never, the default).
EXPIRY_CHOICES = {"": "Never", "1": "In a day", "7": "In a week", "30": "In 30 days"}
TOKEN_BYTES = 32  # 43 URL-safe characters: not guessable


def _token():
    return secrets.token_urlsafe(TOKEN_BYTES)


class ShareLinkQuerySet(models.QuerySet):
    def live(self, now=None):
        """Links that still open their video or project (see ShareLink.is_live, which says the same)."""
        now = now or timezone.now()
        video = Q(task__isnull=False, task__deleted_at__isnull=True) & (
            Q(task__is_private=False) | Q(created_by=F("task__creator")))
        project = Q(project__isnull=False) & (Q(project__is_private=False) | Q(created_by=F("project__creator")))
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        ).filter(video | project)


class ShareLink(models.Model):
    """One public link to one video (``task``) or to one project (``project``): exactly one is set."""

    token = models.CharField(max_length=64, unique=True, default=_token, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="share_links")
    task = models.ForeignKey("studio.GenerationTask", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="share_links")
    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="share_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    show_prompt = models.BooleanField(default=False)
    show_settings = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    views = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One link, one thing shared: a video or a project, never both or neither.
            models.CheckConstraint(
                condition=Q(task__isnull=False, project__isnull=True) | Q(task__isnull=True, project__isnull=False),
                name="share_link_one_target",
            ),
        ]

    def __str__(self):
        what = f"video {self.task_id}" if self.task_id else f"project {self.project_id}"
        return f"Share link of {what} by {self.created_by_id}"

    @property
    def target(self):
        """What the link opens: its video or its project."""
        return self.task if self.task_id else self.project

    @property
    def is_live(self) -> bool:
        if self.revoked_at:
            return False
        if self.task_id and self.task.deleted_at:
            return False
        if self.expires_at and self.expires_at <= timezone.now():
            return False
        # Made private after it was shared: only the creator's own links keep working.
        target = self.target
        return not target.is_private or self.created_by_id == target.creator_id

    def videos(self):
        """A project link's videos: the project's finished ones the sharer could share (not
        deleted, not someone else's private one), oldest first. A video link has none here."""
        from .models import GenerationTask, State

        if not self.project_id:
            return GenerationTask.objects.none()
        return (GenerationTask.objects.filter(project_id=self.project_id, team_id=self.team_id,
                                              deleted_at__isnull=True, state=State.SUCCEEDED)
                .filter(Q(is_private=False) | Q(creator_id=self.created_by_id))
                .order_by("created_at", "id"))

    @classmethod
    def make(cls, task, user, *, show_prompt=False, show_settings=False, days=None) -> ShareLink:
        expires = timezone.now() + timedelta(days=days) if days else None
        link = cls.objects.create(team_id=task.team_id, task=task, created_by=user, show_prompt=show_prompt,
                                  show_settings=show_settings, expires_at=expires)
        audit_share(link, user, "share-made")
        return link

    @classmethod
    def make_for_project(cls, project, user, *, show_prompt=False, show_settings=False, days=None) -> ShareLink:
        expires = timezone.now() + timedelta(days=days) if days else None
        link = cls.objects.create(team_id=project.team_id, project=project, created_by=user, show_prompt=show_prompt,
                                  show_settings=show_settings, expires_at=expires)
        audit_share(link, user, "share-made")
        return link

    def may_revoke(self, user, membership) -> bool:
        """Its maker, or whoever may manage the video or project (its creator, a team owner or admin)."""
        if self.created_by_id == user.id:
            return True
        if self.task_id:
            return self.task.may_manage(user, membership)
        return self.project.creator_id == user.id or bool(membership and membership.is_admin)

    def revoke(self, user) -> bool:
        """Ends the link for good (a conditional update: a second revoke changes nothing)."""
        now = timezone.now()
        if not ShareLink.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=user):
            return False
        self.revoked_at, self.revoked_by = now, user
        audit_share(self, user, "share-revoked")
        return True

    def count_view(self) -> None:
        ShareLink.objects.filter(pk=self.pk).update(views=F("views") + 1)


def audit_share(link, user, action) -> None:
    """Every link made or revoked goes in the team's audit log (issue 10, item 3)."""
    from vidu_web.teams import audit

    what = f"video {link.task.uuid}" if link.task_id else f"project {link.project.uuid}"
    audit.record(link.target.team, user, action, what, link=link.pk)
