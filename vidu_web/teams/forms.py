"""The team page's forms: invite (by link, or an existing user by name), change a role, remove
(or leave), set the budget.

Each form gets the acting membership and checks the role rules in ``clean``, so a view only
locks the team, validates and saves. The view validates under a lock on the team row: counting
owners is only safe there (two owners demoting each other at once must not leave none).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from .models import Invitation, Membership, Team

Role = Membership.Role
BUDGET_MAX = 2**31 - 1  # PostgreSQL's integer; a bigger number would be a 500, not a message


def _owner_count(team):
    return team.memberships.filter(role=Role.OWNER).count()


def _owner_rule(actor, old_role, new_role):
    """Only an owner makes or unmakes owners."""
    touches_owner = Role.OWNER in (old_role, new_role) and old_role != new_role
    if touches_owner and actor.role != Role.OWNER:
        return "Only an owner can make or unmake owners."
    return None


def _role_for(actor, role):
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise forms.ValidationError("Only an owner can make someone an owner.")
    return role


class InviteForm(forms.Form):
    """An invitation link with a role; sent to ``email`` too when email is configured."""

    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    email = forms.EmailField(required=False, max_length=254, help_text="Optional: we email the link there.")
    days = forms.IntegerField(min_value=1, max_value=30, required=False, initial=Invitation.DEFAULT_DAYS,
                              label="Expires after (days)")
    uses = forms.IntegerField(min_value=1, max_value=100, required=False, initial=1, label="Number of uses")

    def __init__(self, *args, team: Team, actor: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.team, self.actor = team, actor

    def clean_role(self):
        return _role_for(self.actor, self.cleaned_data["role"])

    def clean_email(self):
        email = self.cleaned_data["email"]
        if email and self.team.memberships.filter(user__email__iexact=email).exists():
            raise forms.ValidationError(f"Someone with {email} is already in {self.team.name}.")
        return email

    def save(self):
        from datetime import timedelta

        from django.utils import timezone

        data = self.cleaned_data
        return Invitation.objects.create(
            team=self.team, role=data["role"], email=data["email"], created_by=self.actor.user,
            expires_at=timezone.now() + timedelta(days=data["days"] or Invitation.DEFAULT_DAYS),
            max_uses=data["uses"] or 1)


class AddMemberForm(forms.Form):
    """"Add by username" invites that user: nobody joins a team without accepting."""

    username = forms.CharField(max_length=150, strip=True, error_messages={"required": "Type their username."})
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, team: Team, actor: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.team, self.actor = team, actor
        self.user = None

    def clean_username(self):
        name = self.cleaned_data["username"]
        # Same message for a missing and an inactive account: nothing more about other users.
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No one is signed up as “{name}”. Check the spelling: usernames are exact.")
        if self.team.memberships.filter(user=user).exists():
            raise forms.ValidationError(f"{name} is already in {self.team.name}.")
        if self.team.invitations.open().filter(invitee=user).exists():
            raise forms.ValidationError(f"{name} is invited already: they'll see it when they sign in.")
        self.user = user
        return name

    def clean_role(self):
        return _role_for(self.actor, self.cleaned_data["role"])

    def save(self):
        return Invitation.objects.create(team=self.team, invitee=self.user, role=self.cleaned_data["role"],
                                         created_by=self.actor.user)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)

    def __init__(self, *args, member: Membership, actor: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.member, self.actor = member, actor

    def clean_role(self):
        role = self.cleaned_data["role"]
        problem = _owner_rule(self.actor, self.member.role, role)
        if problem:
            raise forms.ValidationError(problem)
        if self.member.role == Role.OWNER and role != Role.OWNER and _owner_count(self.member.team) <= 1:
            raise forms.ValidationError("The last owner stays an owner: make someone else an owner first.")
        return role

    def save(self):
        self.member.role = self.cleaned_data["role"]
        self.member.save(update_fields=["role"])
        return self.member


class RemoveForm(forms.Form):
    """No fields: removing (or leaving) is allowed or not by the roles alone."""

    def __init__(self, *args, member: Membership, actor: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.member, self.actor = member, actor

    @property
    def leaving(self):
        return self.member.pk == self.actor.pk

    def clean(self):
        if self.member.role == Role.OWNER:
            if not self.leaving and self.actor.role != Role.OWNER:
                raise forms.ValidationError("Only an owner can remove an owner.")
            if _owner_count(self.member.team) <= 1:
                who = "You are" if self.leaving else "They are"
                raise forms.ValidationError(f"{who} the last owner: make someone else an owner first.")
        return super().clean()

    def save(self):
        self.member.delete()


class BudgetForm(forms.ModelForm):
    credit_budget = forms.IntegerField(
        label="Monthly credit budget",
        min_value=0,
        max_value=BUDGET_MAX,
        help_text="Credits the team may spend each calendar month (UTC). 0 means no budget.",
        error_messages={
            "required": "Type a number of credits, or 0 for no budget.",
            "invalid": "Type a whole number of credits, or 0 for no budget.",
            "min_value": "A budget can't be negative: 0 means no budget.",
            "max_value": f"A budget can be at most {BUDGET_MAX} credits.",
        },
    )

    class Meta:
        model = Team
        fields = ["credit_budget"]


class CapForm(forms.ModelForm):
    """A member's monthly credit cap, set by an owner (0: none)."""

    credit_cap = forms.IntegerField(
        min_value=0,
        max_value=BUDGET_MAX,
        error_messages={
            "required": "Type a number of credits, or 0 for no cap.",
            "invalid": "Type a whole number of credits, or 0 for no cap.",
            "min_value": "A cap can't be negative: 0 means no cap.",
            "max_value": f"A cap can be at most {BUDGET_MAX} credits.",
        },
    )

    class Meta:
        model = Membership
        fields = ["credit_cap"]

    def __init__(self, *args, member: Membership, **kwargs):
        super().__init__(*args, instance=member, **kwargs)
        self.member = member
        self.old = member.credit_cap
