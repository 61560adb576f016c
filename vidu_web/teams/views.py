"""The header's team switcher and the team page: members, roles, credits and the budget.

The team page is always the current team's (``request.membership``). A member is reached only
through ``_get_member``, which 404s for any membership outside the current team. Anyone in the
team may look and may leave; changing others needs an owner or admin (403 otherwise, as in
studio's views).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from . import audit, queries
from . import usage as figures
from .access import SESSION_KEY, membership_in
from .forms import AddMemberForm, BudgetForm, CapForm, InviteForm, RemoveForm, RoleForm
from .invitations import describe
from .models import Invitation, Membership, Team

log = logging.getLogger(__name__)
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


def _page(request, *, add_form=None, budget_form=None, invite_form=None, failed=None, failed_cap=None):
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
        capped = failed_cap is not None and failed_cap.member.pk == row.pk
        row.cap_errors = failed_cap.errors.get("credit_cap", []) if capped else []
        row.cap_value = failed_cap.data.get("credit_cap", "")[:20] if capped else None
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
        old_role = member.role
        if form.is_valid():
            form.save()
            audit.record(actor.team, request.user, "role-changed", member.user.get_username(), request,
                         old=old_role, new=member.role)
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
        old = actor.team.credit_budget
        form = BudgetForm(request.POST, instance=actor.team)
        if form.is_valid():
            team = form.save()
            audit.record(team, request.user, "budget-changed", team.name, request, old=old, new=team.credit_budget)
    if not form.is_valid():
        return _page(request, budget_form=form)
    if team.credit_budget:
        return _done(request, f"The monthly budget is now {team.credit_budget} credits.")
    return _done(request, "The team has no monthly budget now.")


@require_POST
def member_cap(request, membership_id: int):
    with transaction.atomic():
        actor = _lock(request)
        member = _get_member(request, membership_id)
        if actor.role != Membership.Role.OWNER:
            raise PermissionDenied("Only the team's owners can set members' caps.")
        form = CapForm(request.POST, member=member)
        if form.is_valid():
            form.save()
            audit.record(actor.team, request.user, "cap-changed", member.user.get_username(), request,
                         old=form.old, new=member.credit_cap)
    if not form.is_valid():
        return _page(request, failed_cap=form)
    who = member.user.get_username()
    if member.credit_cap:
        return _done(request, f"{who} may now spend {member.credit_cap} credits a month.")
    return _done(request, f"{who} has no monthly cap now.")


# --- the audit log ------------------------------------------------------------------------------

AUDIT_PER_PAGE = 50


@require_GET
def audit_log(request):
    """The team's audit log, newest first, for its owners and admins."""
    me = request.membership
    if not me.is_admin:
        raise PermissionDenied("Only the team's owners and admins can read its audit log.")
    try:
        page = min(max(int(request.GET.get("page", 1)), 1), 10_000)
    except ValueError:
        page = 1
    start = (page - 1) * AUDIT_PER_PAGE
    rows = list(queries.audit_events(me.team)[start:start + AUDIT_PER_PAGE + 1])
    for event in rows:
        event.text = audit.describe(event)
    context = {"team": me.team, "events": rows[:AUDIT_PER_PAGE], "page": page,
               "has_next": len(rows) > AUDIT_PER_PAGE}
    return render(request, "teams/audit.html", context)


# --- usage ----------------------------------------------------------------------------------------

ACCOUNT_CACHE = "teams:provider-account"
ACCOUNT_TTL = 60  # seconds: the balance moves slowly, and each look is a request upstream


def _provider_account():
    """The provider's account (credits left, concurrency), or None when it has no such call or
    doesn't answer quickly: then the page shows nothing about it."""
    found = cache.get(ACCOUNT_CACHE)
    if found is not None:
        return found[0]
    from vidu_web.studio import providers

    target = providers.current()
    account = None
    try:
        adapter = providers.FAMILIES[target.name](target.name, target.endpoint, settings.VIDU_API_KEY, (2.0, 3.0),
                                                  settings.VIDU_AUTH_SCHEME)
        try:
            account = adapter.account()
        finally:
            adapter.close()
    except (KeyError, providers.ProviderError) as exc:
        log.warning("the provider's account could not be read: %s", getattr(exc, "reason", type(exc).__name__))
    cache.set(ACCOUNT_CACHE, (account,), ACCOUNT_TTL)
    return account


@require_GET
def usage(request):
    """This month's (or ``?month=YYYY-MM``'s) credits and tasks, in charts and per member."""
    me = request.membership
    team = me.team
    month = figures.month_of(figures.parse_month(request.GET.get("month")))
    rows = queries.members(team)
    spend = queries.spend(team, rows, now=month.start)
    by_member = figures.credits_by_member(team, month)
    by_model = figures.credits_by_model(team, month)
    activity, made, failed = figures.tasks_and_failures(team, month)
    context = {
        "team": team,
        "me": me,
        "month": month,
        "previous": (month.start - timedelta(days=1)).strftime("%Y-%m"),
        "next": month.end.strftime("%Y-%m") if month.end <= figures.month_of().start else "",
        "rows": rows,
        "spend": spend,
        "charts": [
            ("Credits per day, by member", figures.stacked_bars(by_member, month.days, "Credits per day by member", "credits"), by_member),
            ("Credits per day, by model", figures.stacked_bars(by_model, month.days, "Credits per day by model", "credits"), by_model),
            ("Tasks per day, and failures", figures.stacked_bars(activity[::-1], month.days, "Tasks and failures per day", "tasks"), activity),
        ],
        "made": made,
        "failed": failed,
        "failure_rate": round(100 * failed / made) if made else 0,
        "account": _provider_account(),
        "can_manage": me.is_admin,
    }
    return render(request, "teams/usage.html", context)


@require_GET
def usage_csv(request):
    """Every task as a CSV row, header first: the whole team's for owners and admins, one's own
    for everyone else (``?month=YYYY-MM`` for one month)."""
    me = request.membership
    tasks = me.team.tasks.all()
    if not me.is_admin:
        tasks = tasks.filter(creator=request.user)
    start = figures.parse_month(request.GET.get("month"))
    name = me.team.slug
    if start is not None:
        month = figures.month_of(start)
        tasks = tasks.filter(created_at__gte=month.start, created_at__lt=month.end)
        name += f"-{month.start:%Y-%m}"
    response = StreamingHttpResponse(figures.csv_rows(tasks), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-usage.csv"'
    return response
