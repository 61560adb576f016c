"""The header's team switcher and the team page: members, roles, credits and the budget.

The team page is always the current team's (``request.membership``). A member is reached only
through ``_get_member``, which 404s for any membership outside the current team. Anyone in the
team may look and may leave; changing others needs an owner or admin (403 otherwise, as in
studio's views).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from . import audit, queries
from .access import SESSION_KEY, membership_in
from .forms import AddMemberForm, BudgetForm, InviteForm, RemoveForm, RoleForm
from .invitations import describe
from .models import Invitation, Membership, Team

MAX_ID = 2**63 - 1  # the largest primary key (64-bit)


@require_POST
def switch_team(request):
    try:
        team_id = int(request.POST.get("team", ""))
    except ValueError:
        team_id = 0
    if not 0 < team_id <= MAX_ID:
        team_id = 0  # names no team (404); SQLite can't even bind a 30-digit number
    membership = membership_in(request.user, team_id)
    request.session[SESSION_KEY] = membership.team_id
    membership.choose()  # the next sign-in starts here too
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "gallery"
    return redirect(target)


# --- the team page ------------------------------------------------------------------------------


def _get_member(request, membership_id):
    """A membership of the current team, or 404: another team's ids reveal nothing."""
    return get_object_or_404(Membership.objects.select_related("user", "team"), pk=membership_id, team=request.team)


def _require_admin(actor):
    if not actor.is_admin:
        raise PermissionDenied("Only the team's owners and admins can change its members.")


def _lock(request):
    """Lock the current team's row until the transaction ends, and re-read who is acting.
    Membership changes in a team go one at a time, so a last-owner check counts owners who
    stay owners (two owners demoting each other at once must not leave none)."""
    Team.objects.select_for_update().filter(pk=request.team.pk).first()
    return membership_in(request.user, request.team.pk)  # 404 if they were removed meanwhile


def _page(request, *, add_form=None, budget_form=None, invite_form=None, failed=None):
    """The page, or its body for htmx. ``failed`` is a bound form for one member's row."""
    me = request.membership
    if request.method == "POST":  # what the POST just changed: the budget, or my own role
        me = Membership.objects.select_related("team").get(pk=me.pk)
    team = me.team
    rows = queries.members(team)
    spend = queries.spend(team, rows)
    for row in rows:
        mine = failed is not None and failed.member.pk == row.pk
        row.role_errors = failed.errors.get("role", []) if mine else []
        row.remove_errors = failed.non_field_errors() if mine else []
    context = {
        "team": team,
        "me": me,
        "rows": rows,
        "spend": spend,
        "can_manage": me.is_admin,
        "is_owner": me.role == Membership.Role.OWNER,
        "roles": Membership.Role.choices,
        "add_form": add_form or AddMemberForm(team=team, actor=me),
        "budget_form": budget_form or BudgetForm(instance=team),
        "invite_form": invite_form or InviteForm(team=team, actor=me),
        **_invitations(request, team, me),
    }
    if request.htmx and request.method == "POST":
        return render(request, "teams/team.html#body", context)
    return render(request, "teams/team.html", context)


def _invitations(request, team, me):
    """The team's open invitations (for admins only: a link is a key to the team), each with
    its absolute link, and those waiting for me in other teams, in one query."""
    user = request.user
    mine = Q(invitee=user)
    rows = Invitation.objects.open().filter(Q(team=team) | mine if me.is_admin else mine)
    rows = list(rows.select_related("team", "invitee", "created_by"))
    for invitation in rows:
        invitation.link = request.build_absolute_uri(invitation.get_absolute_url())
    return {
        "invitations": [i for i in rows if me.is_admin and i.team_id == team.pk],
        "my_invitations": [i for i in rows if i.invitee_id == user.pk and i.team_id != team.pk],
    }


def _done(request, message):
    messages.success(request, message)
    if request.htmx:
        return _page(request)
    return redirect("team")


@require_GET
def team(request):
    return _page(request)


@require_POST
def member_add(request):
    with transaction.atomic():
        actor = _lock(request)
        _require_admin(actor)
        form = AddMemberForm(request.POST, team=actor.team, actor=actor)
        if form.is_valid():
            invitation = form.save()
            audit.record(actor.team, request.user, "invitation-made", describe(invitation), request,
                         invitation=invitation.pk, role=invitation.role, invitee=invitation.invitee.get_username())
    if not form.is_valid():
        return _page(request, add_form=form)
    return _done(request, f"{invitation.invitee.get_username()} is invited as {invitation.get_role_display().lower()}: "
                          f"they join {actor.team.name} once they accept, and see the invitation when they sign in.")


@require_POST
def member_role(request, membership_id: int):
    with transaction.atomic():
        actor = _lock(request)
        member = _get_member(request, membership_id)  # 404 before 403: another team's ids say nothing
        _require_admin(actor)
        form = RoleForm(request.POST, member=member, actor=actor)
        if form.is_valid():
            form.save()
    if not form.is_valid():
        return _page(request, failed=form)
    return _done(request, f"{member.user.get_username()} is now {member.get_role_display().lower()}.")


@require_POST
def member_remove(request, membership_id: int):
    member = _get_member(request, membership_id)
    leaving = member.pk == request.membership.pk
    with transaction.atomic():
        actor = _lock(request)
        if not leaving:
            _require_admin(actor)
        member = _get_member(request, membership_id)  # as it is now, under the lock
        form = RemoveForm(request.POST, member=member, actor=actor)
        if form.is_valid():
            form.save()
            audit.record(actor.team, request.user, "member-left" if leaving else "member-removed",
                         member.user.get_username(), request, role=member.role)
    if not form.is_valid():
        return _page(request, failed=form)
    if leaving:
        messages.success(request, f"You left {member.team.name}.")
        return HttpResponseClientRedirect(reverse("gallery")) if request.htmx else redirect("gallery")
    return _done(request, f"{member.user.get_username()} is no longer in {member.team.name}.")


@require_POST
def budget(request):
    with transaction.atomic():
        actor = _lock(request)
        if actor.role != Membership.Role.OWNER:
            raise PermissionDenied("Only the team's owners can set its budget.")
        form = BudgetForm(request.POST, instance=actor.team)
        if form.is_valid():
            team = form.save()
    if not form.is_valid():
        return _page(request, budget_form=form)
    if team.credit_budget:
        return _done(request, f"The monthly budget is now {team.credit_budget} credits.")
    return _done(request, "The team has no monthly budget now.")
