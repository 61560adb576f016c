"""Typed responses: dataclasses that parse Vidu's JSON, ignoring fields they don't know.

Ids stay strings (they are 18-digit numbers that lose precision as floats); `progress` may be
absent and `video.resolution` may be null.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

FINAL_STATES = ("success", "failed")


# Answers come from the network: every field is checked for its type and bounded, so that any
# JSON at all parses to something safe to store (or raises ValueError), never OverflowError.
MAX_INT = 2**31 - 1  # credits, sizes: what an ordinary integer column holds
MAX_TEXT = 2000  # ids, codes, URLs: longer is not an answer we can use


def _str(value: Any) -> str:
    """A string field: strings and numbers as text (ids are sent both ways), anything else empty."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return str(value)[:MAX_TEXT]


def _text(value: Any, limit: int = 5000) -> str:
    """Free text (a prompt): a string, bounded; anything else is empty."""
    return value[:limit] if isinstance(value, str) else ""


def _whole(value: Any) -> int | None:
    """A whole number sent as a number or as digits, or None: 1e400, "abc" and True are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return int(value) if not isinstance(value, str) else int(value.strip()[:20])
    except (OverflowError, ValueError):  # inf, nan, not digits
        return None


def _int(value: Any, default: int | None = 0) -> int | None:
    """A count from 0 to MAX_INT, or ``default`` for anything else (negative, huge, not a number)."""
    number = _whole(value)
    return number if number is not None and 0 <= number <= MAX_INT else default


def _float(value: Any) -> float:
    """A finite number, or 0 (unknown) for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0.0
    try:
        number = float(value or 0)
    except (OverflowError, TypeError, ValueError):  # float(10**400) overflows
        return 0.0
    return number if math.isfinite(number) and number >= 0 else 0.0


def _url(value: Any) -> str:
    """An http(s) URL that fits our columns, or "" (nothing to fetch)."""
    url = value if isinstance(value, str) else ""
    return url if url.startswith(("https://", "http://")) and len(url) <= MAX_TEXT else ""


@dataclass(frozen=True)
class VideoInfo:
    duration: float = 0
    fps: float = 0
    width: int | None = None
    height: int | None = None

    @classmethod
    def parse(cls, data: Any) -> VideoInfo:
        if not isinstance(data, dict):
            return cls()
        res = data.get("resolution")
        width = height = None
        if isinstance(res, dict):
            width, height = _int(res.get("width"), None) or None, _int(res.get("height"), None) or None
        return cls(duration=_float(data.get("duration")), fps=_float(data.get("fps")), width=width, height=height)


@dataclass(frozen=True)
class Creation:
    id: str
    url: str
    cover_url: str = ""
    watermarked_url: str = ""
    moderation_urls: tuple[str, ...] = ()
    video: VideoInfo = field(default_factory=VideoInfo)

    @classmethod
    def parse(cls, data: dict) -> Creation:
        moderation = data.get("moderation_url") or []
        return cls(
            id=_str(data.get("id")),
            url=_url(data.get("url")),
            cover_url=_url(data.get("cover_url")),
            watermarked_url=_url(data.get("watermarked_url")),
            moderation_urls=tuple(filter(None, map(_url, moderation))) if isinstance(moderation, list) else (),
            video=VideoInfo.parse(data.get("video")),
        )


@dataclass(frozen=True)
class TaskResult:
    """A query response (§3), also the body of a callback (§5)."""

    id: str
    state: str
    err_code: str = ""
    credits: int | None = None
    payload: str = ""
    progress: int | None = None
    bgm: bool | None = None
    audio: bool | None = None
    off_peak: bool | None = None
    creations: tuple[Creation, ...] = ()
    # The prompt Vidu wrote (is_rec), when the answer carries one: §2b says not to assume it does.
    prompt: str = ""

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def parse(cls, data: Any) -> TaskResult:
        if not isinstance(data, dict):
            raise ValueError("a task must be a JSON object")
        state = data.get("state") or data.get("status")  # callbacks spell it both ways
        task_id = _str(data.get("id") or data.get("task_id"))
        if not task_id or not isinstance(state, str) or not state:
            raise ValueError("a task needs an id and a state")
        progress = _whole(data.get("progress"))
        creations = data.get("creations") if isinstance(data.get("creations"), list) else []
        return cls(
            id=task_id,
            state=state[:MAX_TEXT],
            err_code=_str(data.get("err_code")),
            credits=_int(data.get("credits"), None),
            payload=_str(data.get("payload")),
            progress=max(0, min(100, progress)) if progress is not None else None,
            bgm=data.get("bgm") if isinstance(data.get("bgm"), bool) else None,
            audio=data.get("audio") if isinstance(data.get("audio"), bool) else None,
            off_peak=data.get("off_peak") if isinstance(data.get("off_peak"), bool) else None,
            creations=tuple(Creation.parse(c) for c in creations if isinstance(c, dict)),
            prompt=_text(data.get("prompt")),
        )


@dataclass(frozen=True)
class CreateResult:
    """A create response (§2): the task's id, its first state, the seed used and the credits."""

    task_id: str
    state: str
    seed: int | None = None
    credits: int | None = None
    created_at: str = ""
    # The prompt the task runs with as echoed (with is_rec: the one Vidu wrote), if any.
    prompt: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, data: Any) -> CreateResult:
        if not isinstance(data, dict) or not _str(data.get("task_id")) or not isinstance(data.get("state"), str):
            raise ValueError("a create response needs a task_id and a state")
        return cls(
            task_id=_str(data["task_id"]),
            state=data["state"][:MAX_TEXT],
            seed=_int(data.get("seed"), None),
            credits=_int(data.get("credits"), None),
            created_at=_str(data.get("created_at")),
            prompt=_text(data.get("prompt")),
            raw=data,
        )


@dataclass(frozen=True)
class Account:
    """``GET {prefix}/credits`` (vidu-api.md 6b), summed over its lines: credits left, how many
    tasks may run at once, how many run and how many wait."""

    credit_remain: int = 0
    concurrency_limit: int = 0
    current_concurrency: int = 0
    queue_count: int = 0

    @classmethod
    def parse(cls, data: Any) -> Account:
        remains = data.get("remains") if isinstance(data, dict) else None
        if not isinstance(remains, list):
            raise ValueError("an account answer needs a list of remains")
        lines = [line for line in remains if isinstance(line, dict)]
        return cls(**{name: min(MAX_INT, sum(_int(line.get(name)) or 0 for line in lines))
                      for name in ("credit_remain", "concurrency_limit", "current_concurrency", "queue_count")})
