"""Typed errors from Vidu's error body (vidu-api.md §6)."""

from __future__ import annotations

from dataclasses import dataclass

# What a creator reads for each reason Vidu gives (as an HTTP error or as a task's err_code).
FRIENDLY: dict[str, str] = {
    "BadRequest": "Vidu refused the request as malformed.",
    "FieldLacking": "A required field was missing.",
    "FieldUnwanted": "A field was sent that this model doesn't take.",
    "FieldInvalid": "One of the settings isn't valid for this model.",
    "FieldItemCountOutOfRange": "Wrong number of images for this mode.",
    "ImageFormatInvalid": "An image isn't a png, jpeg or webp Vidu can read.",
    "ImageDownloadFailure": "Vidu couldn't download an image.",
    "CreditInsufficient": "The team's Vidu account is out of credits.",
    "CreationPolicyViolation": "The video was blocked by Vidu's content policy.",
    "TaskPromptPolicyViolation": "The prompt was blocked by Vidu's content policy.",
    "AuditSubmitIllegal": "The input was rejected by Vidu's content review.",
    "ModelUnavailable": "That model is unavailable at Vidu right now.",
    "OperationInProcess": "Vidu is still working on a previous operation for this task.",
    "Unauthorized": "Vidu refused our API key: an admin must check VIDU_API_KEY.",
    "Forbidden": "Vidu refused access with our API key: an admin must check the account.",
    "TaskNotFound": "Vidu doesn't know this task.",
    "CreationNotFound": "Vidu doesn't know this video.",
    "Conflict": "Vidu reported a conflict with this task.",
    "QuotaExceeded": "Vidu's quota is exhausted for now.",
    "TooManyRequests": "Vidu asked us to slow down.",
    "SystemThrottling": "Vidu is throttling requests.",
    "InternalServiceFailure": "Vidu had an internal error.",
    "UserCancelled": "Cancelled.",
    "Timeout": "Vidu didn't answer in time.",
    "ConnectionError": "Couldn't reach Vidu.",
    "BadResponse": "Vidu sent an answer we couldn't read.",
}


def friendly(reason: str, message: str = "") -> str:
    """A sentence for a creator: ours for known reasons, Vidu's message otherwise."""
    text = FRIENDLY.get(reason)
    if text and message and reason in {"FieldInvalid", "BadRequest", "FieldLacking", "FieldUnwanted"}:
        return f"{text} Vidu said: {message}"
    return text or message or f"Vidu reported {reason or 'an unknown error'}."


@dataclass
class ViduError(Exception):
    """An error answer, or no usable answer, from Vidu.

    ``retryable`` follows §6: 429, 5xx, timeouts and connection errors are; 4xx are not.
    ``outcome_unknown`` is set when the request went out but no answer came back (a read
    timeout or a dropped connection after sending): a create must then not be sent again.
    """

    status: int
    reason: str
    message: str = ""
    trace_id: str = ""
    retry_after: float | None = None
    outcome_unknown: bool = False

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500 or self.status == 0

    @property
    def friendly(self) -> str:
        return friendly(self.reason, self.message)

    def __str__(self) -> str:
        trace = f" (trace {self.trace_id})" if self.trace_id else ""
        return f"Vidu {self.status or 'no answer'} {self.reason}: {self.message}{trace}"

    @classmethod
    def from_response(cls, status: int, body: object, retry_after: str | None = None) -> ViduError:
        reason, message, trace = "", "", ""
        if isinstance(body, dict):
            reason = str(body.get("reason") or "")
            message = str(body.get("message") or "")
            meta = body.get("metadata")
            if isinstance(meta, dict):
                trace = str(meta.get("trace_id") or "")
        if not reason:
            reason = _reason_for_status(status)
        return cls(status, reason, message[:500], trace, _parse_retry_after(retry_after))


def _reason_for_status(status: int) -> str:
    return {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "TaskNotFound", 409: "Conflict",
            429: "TooManyRequests"}.get(status, "InternalServiceFailure" if status >= 500 else "BadRequest")


def _parse_retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: rare enough that our own backoff will do
