"""The team page's reads: the members in role order and this month's credits per member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .models import AuditEvent, Membership
from .spend import WARN_AT, Totals, by_creator, month_bounds, month_tasks, total  # noqa: F401 (month_bounds: shared)

ROLE_ORDER = {role: n for n, role in enumerate(Membership.Role.values)}


def members(team):
    """The team's memberships with their users: owners first, then by username (one query)."""
    rows = list(team.memberships.select_related("user"))
    rows.sort(key=lambda m: (ROLE_ORDER.get(m.role, 99), m.user.get_username().lower()))
    return rows


@dataclass
class Spend:
    month_start: datetime
    total: int  # what counts against the budget: spent, and reserved by unsettled videos
    reserved: int
    by_others: int  # former members and deleted accounts
    budget: int
    left: int | None  # None when no budget is set; negative when over

    @property
    def over(self):
        return self.left is not None and self.left < 0

    @property
    def over_by(self):
        return -self.left if self.over else 0

    @property
    def percent(self):
        if not self.budget:
            return 0
        return min(100, round(100 * self.total / self.budget))

    @property
    def warn(self):
        """From 80 % of the budget the page warns (spend.WARN_AT)."""
        return bool(self.budget) and 100 * self.total >= WARN_AT * self.budget


def spend(team, rows, now=None):
    """Attach ``spent`` (what counts: spent and reserved), ``totals`` and ``cap_percent`` to each
    membership in ``rows`` and sum up the team's month (one query; spend.py says what counts)."""
    per_creator = by_creator(month_tasks(team, now))
    for m in rows:
        m.totals = per_creator.get(m.user_id, Totals())
        m.spent = m.totals.committed
        m.cap_percent = round(100 * m.spent / m.credit_cap) if m.credit_cap else 0
        m.cap_warn = bool(m.credit_cap) and m.cap_percent >= WARN_AT
    team_totals = total(per_creator)
    budget = team.credit_budget
    return Spend(
        month_start=month_bounds(now)[0],
        total=team_totals.committed,
        reserved=team_totals.reserved,
        by_others=team_totals.committed - sum(m.spent for m in rows),
        budget=budget,
        left=budget - team_totals.committed if budget else None,
    )


def audit_events(team):
    """The team's audit log, newest first, with who did each thing (one query per page)."""
    return AuditEvent.objects.filter(team=team).select_related("actor").order_by("-at", "-id")
