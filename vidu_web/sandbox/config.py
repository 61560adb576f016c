"""The sandbox's knobs (speed, faults, URL lifetimes) and how to read them from JSON or the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

FAULT_KINDS = ("429", "500", "hang", "badjson")


@dataclass(frozen=True)
class Config:
    """Settings a test or an operator may change while the sandbox runs.

    Times are in seconds. ``step`` applies to tasks created after it changes: a task's
    timeline is fixed when it is created, so its answers never jump backwards.
    """

    step: float = 2.0  # length of each stage: created, queueing; processing lasts processing_steps
    processing_steps: float = 3.0
    off_peak_steps: float = 10.0  # how long an off_peak task waits in queueing, in steps
    max_running: int = 5  # per API key; the rest stay queueing
    fault_rate: float = 0.0  # share of API requests that answer with a fault
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    fault_seed: int = 0
    hang_seconds: float = 35.0  # longer than a client's read timeout
    url_ttl: int = 86400  # X-Amz-Expires of video URLs
    cover_ttl: int = 3600  # X-Amz-Expires of cover URLs
    callback_retries: int = 3  # extra attempts for success/failed callbacks
    callback_timeout: float = 5.0
    # Each API key's account: creates draw it down, failed and cancelled tasks give their credits
    # back (GET {prefix}/credits reports what is left; a create costing more is CreditInsufficient).
    credit_balance: int = 10_000_000

    def to_json(self) -> dict:
        data = asdict(self)
        data["fault_kinds"] = list(self.fault_kinds)
        return data

    def updated(self, changes: dict) -> Config:
        """A copy with ``changes`` applied; ``ValueError`` names the first bad option."""
        known = {f.name: f for f in fields(self)}
        clean = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown option {name!r}; known: {', '.join(known)}")
            clean[name] = _coerce(name, value, getattr(self, name))
        return replace(self, **clean)


def _coerce(name: str, value: object, current: object) -> object:
    """Accept JSON values and command-line strings alike, refusing nonsense with a clear message."""
    if name == "fault_kinds":
        kinds = value.split(",") if isinstance(value, str) else value
        if not isinstance(kinds, list | tuple) or not all(k in FAULT_KINDS for k in kinds):
            raise ValueError(f"fault_kinds must be a list drawn from {', '.join(FAULT_KINDS)}")
        return tuple(kinds)
    try:
        if isinstance(current, bool):
            result = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        elif isinstance(current, int):
            result = int(value)
        else:
            result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {type(current).__name__}, not {value!r}") from None
    if isinstance(result, bool):
        return result
    if result < 0 or (name == "fault_rate" and result > 1) or (name == "max_running" and result < 1):
        raise ValueError(f"{name} out of range: {value!r}")
    return result
