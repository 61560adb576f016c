"""Teams, memberships and roles: who may see and do what."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.text import slugify


class Team(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120, unique=True)
    personal = models.BooleanField(default=False, help_text="Made for one user on first sign-in.")
    # Monthly credit budget; 0 means no budget is set.
    credit_budget = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            base = slugify(self.name)[:100] or "team"
            slug, n = base, 1
            while Team.objects.filter(slug=slug).exclude(pk=self.pk).exists():
                n += 1
                slug = f"{base}-{n}"
            self.slug = slug
        super().save(*args, **kwargs)

    @classmethod
    def personal_for(cls, user):
        """The user's personal team, made with them as owner."""
        team = cls.objects.create(name=f"{user.get_username()}'s team", personal=True)
        Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
        return team


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Credits this member may spend each calendar month (UTC); 0 means no cap.
    credit_cap = models.PositiveIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")]
        ordering = ["team__name"]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_create(self):
        return self.role != self.Role.VIEWER

    @property
    def is_admin(self):
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class AuditEvent(models.Model):
    """Who did what to a team, when and from where (teams/audit.py writes them)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="audit_events")
    # Kept when the account goes: the event stays, saying nobody.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    action = models.SlugField(max_length=40)  # e.g. "budget-changed", "video-deleted"
    target = models.CharField(max_length=200, blank=True)  # what it was done to, in words
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["team", "-at"], name="audit_by_team")]

    def __str__(self):
        return f"{self.action} {self.target} by {self.actor_id} at {self.at:%Y-%m-%d %H:%M}"
