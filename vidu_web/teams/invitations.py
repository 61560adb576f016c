"""Invitations: owners and admins make and revoke them on the team page; anyone with the link
joins at /join/<token>/ (signing up there if they have no account), and nobody joins unasked.

An unknown, revoked, expired or used-up link, or one made for another user, answers the same
friendly 404: nothing tells a guesser which tokens exist.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from . import audit
from .access import SESSION_KEY
from .forms import InviteForm
from .models import Invitation, Membership

log = logging.getLogger(__name__)


def describe(invitation):
    """The audit log's target for an invitation: its role, and whom it was for."""
    whom = invitation.invitee.get_username() if invitation.invitee_id else invitation.email or "a link"
    return f"{whom} as {invitation.get_role_display().lower()}"


def send_invitation(request, invitation):
    """Email the link when email is configured; True if it went. A mail server that fails
    leaves the invitation made: the team page shows the link to copy anyway."""
    if not (invitation.email and settings.EMAIL_ENABLED):
        return False
    link = request.build_absolute_uri(invitation.get_absolute_url())
    inviter = request.user.get_username()
    try:
        send_mail(
            f"{inviter} invites you to {invitation.team.name} on Vidu Studio",
            f"{inviter} invites you to join {invitation.team.name} on Vidu Studio as "
            f"{invitation.get_role_display().lower()}.\n\nOpen this link to accept (it works until "
            f"{invitation.expires_at:%-d %B %Y, %H:%M} UTC):\n\n{link}\n",
            None, [invitation.email])
    except Exception as exc:  # SMTP refusals, timeouts, DNS: say so, keep the link
        log.warning("Could not email an invitation to team %s: %s", invitation.team_id, type(exc).__name__)
        return False
    return True


@require_POST
def invite_create(request):
    from .views import _done, _lock, _page, _require_admin

    with transaction.atomic():
        actor = _lock(request)
        _require_admin(actor)
        form = InviteForm(request.POST, team=actor.team, actor=actor)
        if form.is_valid():
            invitation = form.save()
            audit.record(actor.team, request.user, "invitation-made", describe(invitation), request,
                         invitation=invitation.pk, role=invitation.role, email=invitation.email,
                         expires_at=invitation.expires_at.isoformat(), max_uses=invitation.max_uses)
    if not form.is_valid():
        return _page(request, invite_form=form)
    if send_invitation(request, invitation):
        return _done(request, f"Invitation sent to {invitation.email}. The link is below too.")
    if invitation.email and settings.EMAIL_ENABLED:
        messages.warning(request, f"The email to {invitation.email} could not be sent: copy the link below.")
    return _done(request, "Invitation made: copy its link below and send it.")


@require_POST
def invite_revoke(request, invitation_id: int):
    from .views import _done, _lock, _require_admin

    with transaction.atomic():
        actor = _lock(request)
        # Another team's invitations are 404 before anything else.
        invitation = get_object_or_404(Invitation.objects.select_related("invitee"), pk=invitation_id, team=actor.team)
        _require_admin(actor)
        revoked = invitation.revoke()
        if revoked:
            audit.record(actor.team, request.user, "invitation-revoked", describe(invitation), request,
                         invitation=invitation.pk)
    return _done(request, "Invitation revoked: its link no longer works." if revoked else "That invitation was revoked already.")


# --- joining ------------------------------------------------------------------------------------


def _closed(request):
    return render(request, "teams/join_invalid.html", status=404)


def _land(request, membership, message):
    """Into the team's gallery, working in that team from now on."""
    request.session[SESSION_KEY] = membership.team_id
    membership.choose()
    messages.success(request, message)
    return redirect("gallery")


def _accept(request, invitation, user):
    """Take one use and make the membership, recorded; raises Invitation.Closed."""
    try:
        with transaction.atomic():
            membership = invitation.accept(user)
    except IntegrityError:  # joined meanwhile (a double click): the use was rolled back with it
        return None
    audit.record(invitation.team, user, "invitation-accepted", describe(invitation), request, invitation=invitation.pk)
    audit.record(invitation.team, user, "member-added", user.get_username(), request, role=membership.role,
                 invitation=invitation.pk)
    return membership


@login_not_required
def join(request, token: str):
    invitation = Invitation.objects.open().select_related("team", "created_by", "invitee").filter(token=token).first()
    user = request.user
    if invitation is None or (user.is_authenticated and not invitation.may_accept(user)):
        return _closed(request)
    team = invitation.team
    if user.is_authenticated:
        mine = Membership.objects.filter(team=team, user=user).first()
        if mine is not None:  # nothing to accept: no use is taken
            return _land(request, mine, f"You're already in {team.name}.")
        if request.method == "POST":
            try:
                membership = _accept(request, invitation, user)
            except Invitation.Closed:
                return _closed(request)
            membership = membership or Membership.objects.get(team=team, user=user)
            return _land(request, membership, f"Welcome to {team.name}.")
        return render(request, "teams/join.html", {"invitation": invitation, "team": team})

    form = None
    if invitation.invitee_id is None:  # a link for anyone: they may sign up here
        form = UserCreationForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():  # the account and the membership, or neither
                    new_user = form.save(commit=False)
                    new_user.email = invitation.email
                    new_user.save()
                    membership = _accept(request, invitation, new_user)
            except Invitation.Closed:
                return _closed(request)
            login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
            return _land(request, membership, f"Welcome to {team.name}, {new_user.get_username()}.")
    return render(request, "teams/join.html", {"invitation": invitation, "team": team, "form": form})


def invitations_for(user):
    """Open invitations made for ``user`` by name, with their teams."""
    return list(Invitation.objects.open().filter(invitee=user).select_related("team", "created_by"))


def tell_about_invitations(request, user):
    """After sign-in: one message per invitation waiting for the user."""
    for invitation in invitations_for(user):
        messages.info(request, format_html(
            '{} invites you to join {} as {}. <a href="{}">See the invitation</a>',
            invitation.created_by.get_username() if invitation.created_by else "Someone",
            invitation.team.name, invitation.get_role_display().lower(), invitation.get_absolute_url()), fail_silently=True)
