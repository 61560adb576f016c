"""Public share links: a token that opens one video to anyone holding it, and nothing else.

A link is made by a member who can see the video (a private one only by its creator), shows the
prompt and settings only if the sharer chose so, counts its views, and dies when revoked, when
it expires, or when its video is deleted or made private by someone else than the sharer.
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
        """Links that still open their video (see ShareLink.is_live, which says the same)."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, task__deleted_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        ).filter(Q(task__is_private=False) | Q(created_by=F("task__creator")))


class ShareLink(models.Model):
    """One public link to one video (projects get theirs with the Project model)."""

    token = models.CharField(max_length=64, unique=True, default=_token, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="share_links")
    task = models.ForeignKey("studio.GenerationTask", on_delete=models.CASCADE, related_name="share_links")
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

    def __str__(self):
        return f"Share link of {self.task_id} by {self.created_by_id}"

    @property
    def is_live(self) -> bool:
        task = self.task
        if self.revoked_at or task.deleted_at:
            return False
        if self.expires_at and self.expires_at <= timezone.now():
            return False
        # Made private after it was shared: only the creator's own links keep working.
        return not task.is_private or self.created_by_id == task.creator_id

    @classmethod
    def make(cls, task, user, *, show_prompt=False, show_settings=False, days=None) -> ShareLink:
        expires = timezone.now() + timedelta(days=days) if days else None
        link = cls.objects.create(team_id=task.team_id, task=task, created_by=user, show_prompt=show_prompt,
                                  show_settings=show_settings, expires_at=expires)
        audit_share(link, user, "share-made")
        return link

    def may_revoke(self, user, membership) -> bool:
        """Its maker, or whoever may manage the video (its creator, a team owner or admin)."""
        return self.created_by_id == user.id or self.task.may_manage(user, membership)

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

    audit.record(link.task.team, user, action, f"video {link.task.uuid}", link=link.pk)
