"""True spend, estimates and the limits that hold (vidu-api.md 6b).

What a task counts against its team's month and its creator's cap:
- a task the provider refunded (ended failed or cancelled) counts 0;
- a task that is still running, or whose create outcome we never learned, counts what it was
  expected to cost (its ``estimate``, reserved at create) until the provider's ``credits`` settle
  it; an unknown outcome stays reserved, since it may have been charged;
- everything else counts its ``credits``; deleting a video changes nothing (it was paid for).

This is the one teams module that reads tasks: studio depends on teams for its models, and
spend sits above both. Every sum here is one grouped query, however long the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from vidu_web.studio.models import ACTIVE_STATES, OUTCOME_UNKNOWN, GenerationTask, State

from .models import Membership, Team

# A create that went out and never answered: it may exist upstream, so it may have been charged.
UNSETTLED = Q(state=State.FAILED, err_code=OUTCOME_UNKNOWN, upstream_id="")
REFUNDED = Q(state__in=(State.FAILED, State.CANCELLED)) & ~UNSETTLED
RESERVED = (Q(state__in=ACTIVE_STATES) & Q(credits__isnull=True)) | UNSETTLED

SPENT_EXPR = Case(When(REFUNDED, then=Value(0)), When(RESERVED, then=Value(0)),
                  default=Coalesce(F("credits"), F("estimate"), Value(0)), output_field=IntegerField())
RESERVED_EXPR = Case(When(RESERVED, then=Coalesce(F("estimate"), Value(0))), default=Value(0),
                     output_field=IntegerField())
WARN_AT = 80  # percent of a limit from which the form and the team page warn
IS_REC_CREDITS = 10  # vidu-api.md 2b: letting Vidu write the prompt costs this much more


def month_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The start of this calendar month (UTC) and of the next one."""
    now = (now or timezone.now()).astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


@dataclass
class Totals:
    spent: int = 0
    reserved: int = 0

    @property
    def committed(self) -> int:
        return self.spent + self.reserved

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.spent + other.spent, self.reserved + other.reserved)


def month_tasks(team, now=None):
    """The team's tasks made this calendar month (UTC), deleted ones included."""
    start, end = month_bounds(now)
    return GenerationTask.objects.filter(team=team, created_at__gte=start, created_at__lt=end)


def by_creator(tasks) -> dict[int | None, Totals]:
    """Spent and reserved per creator id, in one query (None: accounts that are gone)."""
    rows = tasks.values("creator_id").annotate(spent=Sum(SPENT_EXPR), reserved=Sum(RESERVED_EXPR)).order_by()
    return {row["creator_id"]: Totals(row["spent"] or 0, row["reserved"] or 0) for row in rows}


def total(rows: dict) -> Totals:
    return sum(rows.values(), Totals())


# --- the estimate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    credits: int | None  # None: nothing on this install matches
    source: str = ""  # "team" or "install"

    @property
    def known(self) -> bool:
        return self.credits is not None


def _flag(name: str, on: bool) -> Q:
    """A request flag in ``params``; a task that didn't send it had it off."""
    if on:
        return Q(**{f"params__{name}": True})
    return Q(**{f"params__{name}": False}) | ~Q(params__has_key=name)


def estimate(team, model: str, duration: int, resolution: str, params: dict) -> Estimate:
    """What a video with these settings will likely cost: the latest finished one with the same
    model, length, resolution, audio and off-peak setting, from this team first, then from
    anyone on this install; unknown when nothing matches (never a price list: 6b)."""
    same = GenerationTask.objects.filter(
        state=State.SUCCEEDED, credits__isnull=False, model=model, duration=duration, resolution=resolution,
    ).filter(_flag("audio", bool(params.get("audio"))), _flag("off_peak", bool(params.get("off_peak"))))
    for source, rows in (("team", same.filter(team=team)), ("install", same)):
        found = rows.order_by("-finished_at").values_list("credits", "params__is_rec").first()
        if found is not None:
            credits, was_rec = found
            credits += IS_REC_CREDITS * (bool(params.get("is_rec")) - bool(was_rec))
            return Estimate(max(credits, 0), source)
    return Estimate(None)


def estimate_for_task(task) -> Estimate:
    return estimate(task.team, task.model, task.duration, task.resolution, task.params or {})


# --- limits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """One limit as it stands: the team's budget or a member's cap."""

    kind: str  # "budget" or "cap"
    limit: int  # 0: none
    totals: Totals

    @property
    def percent(self) -> int:
        return round(100 * self.totals.committed / self.limit) if self.limit else 0

    @property
    def warn(self) -> bool:
        return bool(self.limit) and self.percent >= WARN_AT

    @property
    def left(self) -> int:
        return self.limit - self.totals.committed

    def refuses(self, estimate: int | None) -> bool:
        """Whether a video of ``estimate`` credits (None: unknown) may not start. An unknown
        price is refused only once nothing is left."""
        if not self.limit:
            return False
        return self.totals.committed + (estimate or 0) > self.limit or self.left <= 0

    @property
    def whose(self) -> str:
        return "the team's monthly budget" if self.kind == "budget" else "your monthly cap"


def limits(team: Team, membership: Membership | None, now=None) -> list[Limit]:
    """The team's budget and the member's cap with this month's totals (one query)."""
    rows = by_creator(month_tasks(team, now))
    cap = membership.credit_cap if membership else 0
    return [Limit("budget", team.credit_budget, total(rows)),
            Limit("cap", cap, rows.get(membership.user_id, Totals()) if membership else Totals())]


class LimitReached(Exception):
    """A create refused by the budget or a cap; ``str()`` says which, and the figures."""

    def __init__(self, limit: Limit, estimate: int | None):
        self.limit, self.estimate = limit, estimate
        t = limit.totals
        cost = f"this video (about {estimate} credits)" if estimate is not None else "a video of unknown cost"
        super().__init__(
            f"Not started: {cost} would pass {limit.whose} of {limit.limit} credits "
            f"({t.spent} spent and {t.reserved} reserved by videos still running this month). "
            "Nothing was sent to Vidu.")


def reserve(team_id: int, user, estimate: int | None) -> None:
    """Check that a new task of ``estimate`` credits fits the team's budget and ``user``'s cap,
    or raise LimitReached. Call inside the transaction that creates the task: the team's row
    stays locked until it commits, so two members can't both take the last credits."""
    team = Team.objects.select_for_update().get(pk=team_id)
    membership = Membership.objects.filter(team=team, user=user).first()
    for limit in limits(team, membership):
        if limit.refuses(estimate):
            raise LimitReached(limit, estimate)
