"""Teams, memberships and roles: who may see and do what; invitations; the audit trail."""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
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
    # When the user last chose to work in this team (the switcher, or joining it): a new session
    # starts there, never in whichever team sorts first (someone could name a team to be first).
    chosen_at = models.DateTimeField(null=True, blank=True)

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

    def choose(self):
        """Remember this team as the one the user works in."""
        self.chosen_at = timezone.now()
        Membership.objects.filter(pk=self.pk).update(chosen_at=self.chosen_at)


def new_token():
    return secrets.token_urlsafe(24)  # 32 characters, 192 bits


class InvitationQuerySet(models.QuerySet):
    def open(self, now=None):
        """Invitations that can still be accepted: not revoked, not expired, not used up."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, uses__lt=F("max_uses"))


class Invitation(models.Model):
    """A link to join a team with a role. Anyone holding it may accept it, unless it was made
    for one user (``invitee``: "add by username"), who then sees it after signing in."""

    DEFAULT_DAYS = 7

    class Closed(Exception):
        """Revoked, expired or used up meanwhile."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    email = models.EmailField(blank=True, help_text="Where the link was sent, if anywhere.")
    invitee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="invitations_received", help_text="Only this user may accept it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="invitations_made")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(uses__lte=F("max_uses")), name="invitation_uses_within_max")]

    def __str__(self):
        return f"{self.get_role_display()} in {self.team}"

    def save(self, *args, **kwargs):
        if self.expires_at is None:
            self.expires_at = timezone.now() + timedelta(days=self.DEFAULT_DAYS)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("join", args=[self.token])

    @property
    def uses_left(self):
        return self.max_uses - self.uses

    def may_accept(self, user):
        return self.invitee_id is None or (user.is_authenticated and self.invitee_id == user.pk)

    def accept(self, user):
        """Use the invitation for ``user``: one use taken and the membership made, together or
        not at all. Raises ``Closed`` if it was revoked, expired or used up meanwhile."""
        with transaction.atomic():
            taken = Invitation.objects.open().filter(pk=self.pk).update(uses=F("uses") + 1)
            if not taken:
                raise Invitation.Closed
            membership = Membership.objects.create(team=self.team, user=user, role=self.role,
                                                   chosen_at=timezone.now())
        self.uses += 1
        return membership

    def revoke(self):
        return bool(Invitation.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))


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
