"""The usage page's figures: a month's credits per day by member and by model, tasks and
failures per day, and the CSV of every task; spend.py says what a task counts.

Each figure is one grouped query, so the page costs the same with 3 tasks or 300,000. The
charts are SVG made here (no build step, no CDN, nothing to run in the browser) with a
viewBox, so they scale down to a phone's width.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils.html import escape
from django.utils.safestring import mark_safe

from vidu_web.studio.models import GenerationTask, State

from .spend import RESERVED_EXPR, SPENT_EXPR, month_bounds

log = logging.getLogger(__name__)

# Series colours: distinct, readable on white, and told apart by position in the legend too.
PALETTE = ("#6d4aff", "#0e9f6e", "#e3a008", "#e02424", "#1c64f2", "#9061f9", "#0694a2", "#ff5a1f")
OTHERS = "others"  # members past the palette share one series
W, H, PAD_L, PAD_B, PAD_T = 640, 220, 44, 24, 10


def parse_month(value: str | None) -> datetime | None:
    """``YYYY-MM`` as the instant its month starts (UTC), or None for anything else."""
    parts = (value or "").split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 4 for p in parts):
        return None
    try:
        return datetime(int(parts[0]), int(parts[1]), 1, tzinfo=UTC)
    except ValueError:  # month 13, year 0
        return None


@dataclass
class Series:
    name: str
    values: list[int]
    color: str = ""

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass
class Month:
    start: datetime
    end: datetime
    days: list[date] = field(default_factory=list)


def month_of(now=None) -> Month:
    start, end = month_bounds(now)
    days = [(start + timedelta(days=n)).date() for n in range((end - start).days)]
    return Month(start, end, days)


def _tasks(team, month: Month):
    return GenerationTask.objects.filter(team=team, created_at__gte=month.start, created_at__lt=month.end)


def _by_day(rows, key, value, days) -> list[Series]:
    """Rows of (day, key, value) as one series per key, a value per day of the month."""
    index = {day: n for n, day in enumerate(days)}
    series: dict[str, Series] = {}
    for row in rows:
        n = index.get(row["day"])
        if n is None:
            continue
        name = row[key] if row[key] is not None else "(gone)"
        series.setdefault(name, Series(name, [0] * len(days))).values[n] += row[value] or 0
    ordered = sorted(series.values(), key=lambda s: (-s.total, s.name))
    if len(ordered) > len(PALETTE):
        rest = Series(OTHERS, [sum(v) for v in zip(*(s.values for s in ordered[len(PALETTE) - 1:]), strict=True)])
        ordered = ordered[:len(PALETTE) - 1] + [rest]
    for s, color in zip(ordered, PALETTE, strict=False):
        s.color = color
    return ordered


def credits_by_member(team, month: Month) -> list[Series]:
    rows = (_tasks(team, month).annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values("day", "creator__username").annotate(n=Sum(SPENT_EXPR) + Sum(RESERVED_EXPR)).order_by())
    return _by_day(rows, "creator__username", "n", month.days)


def credits_by_model(team, month: Month) -> list[Series]:
    rows = (_tasks(team, month).annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values("day", "model").annotate(n=Sum(SPENT_EXPR) + Sum(RESERVED_EXPR)).order_by())
    return _by_day(rows, "model", "n", month.days)


def tasks_and_failures(team, month: Month) -> tuple[list[Series], int, int]:
    """Tasks made and tasks failed per day, and the month's totals of each."""
    rows = (_tasks(team, month).annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values("day").annotate(made=Count("id"), failed=Count("id", filter=Q(state=State.FAILED))).order_by())
    made, failed = [0] * len(month.days), [0] * len(month.days)
    index = {day: n for n, day in enumerate(month.days)}
    for row in rows:
        if row["day"] in index:
            made[index[row["day"]]], failed[index[row["day"]]] = row["made"], row["failed"]
    # Stacked, so each bar is as high as the day's tasks: the failed ones on top of the rest.
    rest = [m - f for m, f in zip(made, failed, strict=True)]
    return [Series("not failed", rest, PALETTE[0]), Series("failed", failed, PALETTE[3])], sum(made), sum(failed)


# --- SVG ---------------------------------------------------------------------------------------


def _nice_max(value: int) -> int:
    """A round number at or above ``value`` for the top of the axis."""
    if value <= 0:
        return 1
    step = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def stacked_bars(series: list[Series], days: list[date], title: str, unit: str) -> str:
    """A stacked bar chart, one bar per day, as an accessible inline SVG."""
    totals = [sum(s.values[n] for s in series) for n in range(len(days))]
    top = _nice_max(max(totals, default=0))
    top += top % 2  # even, so the middle line's label is a whole number and sits where it says
    plot_w, plot_h = W - PAD_L - 8, H - PAD_B - PAD_T
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1)
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
             f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (0, 0.5, 1):
        y = PAD_T + plot_h * (1 - fraction)
        parts.append(f'<line x1="{PAD_L}" x2="{W - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{round(top * fraction)}</text>')
    for n, day in enumerate(days):
        x, base = PAD_L + n * slot + (slot - bar) / 2, PAD_T + plot_h
        for s in series:
            v = s.values[n]
            if not v:
                continue
            h = plot_h * v / top
            base -= h
            parts.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{s.color}">'
                         f'<title>{escape(s.name)}, {day:%-d %b}: {v} {unit}</title></rect>')
        if day.day in (1, 8, 15, 22, 29):
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{H - 6}" text-anchor="middle" class="tick">{day.day}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text inside is escaped above)


# --- CSV ---------------------------------------------------------------------------------------

CSV_HEADER = ("task", "created", "creator", "mode", "model", "duration", "resolution", "off_peak", "state",
              "err_code", "credits", "counted", "reserved", "deleted", "prompt")


def _cell(value) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ would be run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


def csv_rows(tasks):
    """The CSV, header first, one row per task, streamed a row at a time."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    rows = (tasks.select_related("creator", "prompt").annotate(counted=SPENT_EXPR, held=RESERVED_EXPR)
            .order_by("created_at", "id"))
    for t in rows.iterator(chunk_size=500):
        yield writer.writerow([_cell(v) for v in (
            t.uuid, t.created_at.isoformat(), t.creator.get_username() if t.creator else "", t.mode, t.model,
            t.duration, t.resolution, bool((t.params or {}).get("off_peak")), t.state, t.err_code,
            t.credits, t.counted, t.held, t.deleted_at.isoformat() if t.deleted_at else "", t.prompt.text)])
