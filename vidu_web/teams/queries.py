"""The team page's reads: the members in role order and this month's credits per member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Sum
from django.utils import timezone

from .models import Membership

ROLE_ORDER = {role: n for n, role in enumerate(Membership.Role.values)}


def month_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The start of this calendar month (UTC) and of the next one."""
    now = (now or timezone.now()).astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def members(team):
    """The team's memberships with their users: owners first, then by username (one query)."""
    rows = list(team.memberships.select_related("user"))
    rows.sort(key=lambda m: (ROLE_ORDER.get(m.role, 99), m.user.get_username().lower()))
    return rows


def credits_by_creator(team, start, end):
    """Credits spent on the team's live tasks created in [start, end), per creator id, in one
    query. The key None collects tasks whose creator's account is gone."""
    # Through the reverse relation: teams must not import studio (studio depends on teams).
    rows = (
        team.tasks.filter(deleted_at__isnull=True, created_at__gte=start, created_at__lt=end)
        .values("creator_id")
        .annotate(spent=Sum("credits"))
        .order_by()
    )
    return {row["creator_id"]: row["spent"] or 0 for row in rows}


@dataclass
class Spend:
    month_start: datetime
    total: int
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


def spend(team, rows, now=None):
    """Attach ``spent`` to each membership in ``rows`` and sum up the team's month."""
    start, end = month_bounds(now)
    by_creator = credits_by_creator(team, start, end)
    for m in rows:
        m.spent = by_creator.get(m.user_id, 0)
    total = sum(by_creator.values())
    budget = team.credit_budget
    return Spend(
        month_start=start,
        total=total,
        by_others=total - sum(m.spent for m in rows),
        budget=budget,
        left=budget - total if budget else None,
    )
