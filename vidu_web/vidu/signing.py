"""The callback signature of vidu-api.md §5: one function to sign, one to verify.

The signing string is, each line ended by "\\n": the method, the URL's path ("/" when empty),
its query string, the literal "vidu", the Date value, then one "Name:value" line per header in
``X-HMAC-SIGNED-HEADERS``. The signature is base64(HMAC-SHA256(api key, signing string)).
The body is not signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

ACCESS_KEY = "vidu"
ALGORITHM = "hmac-sha256"
MAX_SKEW = 300  # seconds a Date may differ from our clock


class SignatureError(Exception):
    """The callback's signature is missing, wrong, stale or replayed."""


def signing_string(method: str, url: str, date: str, headers: dict[str, str], signed: list[str]) -> str:
    parts = urlsplit(url)
    lower = {k.lower(): v for k, v in headers.items()}
    lines = [method.upper(), parts.path or "/", parts.query, ACCESS_KEY, date]
    lines += [f"{name}:{lower.get(name.lower(), '')}" for name in signed]
    return "".join(line + "\n" for line in lines)


def _digest(key: str, text: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()).decode()


def sign(api_key: str, url: str, method: str = "POST", *, now: float | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers Vidu sends with a callback to ``url``."""
    date = formatdate(now if now is not None else time.time(), usegmt=True)
    nonce = nonce or secrets.token_hex(16)
    signed = ["Date", "x-request-nonce"]
    headers = {"Date": date, "x-request-nonce": nonce}
    signature = _digest(api_key, signing_string(method, url, date, headers, signed))
    return {
        **headers,
        "X-HMAC-SIGNED-HEADERS": ";".join(signed),
        "X-HMAC-SIGNATURE": signature,
        "X-HMAC-ALGORITHM": ALGORITHM,
        "X-HMAC-ACCESS-KEY": ACCESS_KEY,
    }


class NonceCache:
    """Remembers nonces seen within the allowed skew, so a replayed callback is refused.

    In-process only; the app backs it with Django's cache so every web worker shares it.
    """

    def __init__(self, ttl: float = 2 * MAX_SKEW, size: int = 100_000) -> None:
        self.ttl, self.size = ttl, size
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, nonce: str, now: float) -> bool:
        """Record ``nonce``; False when it was already seen."""
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now - self.ttl or len(self._seen) > self.size):
                self._seen.popitem(last=False)
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


def verify(api_key: str, url: str, headers: dict[str, str], method: str = "POST", *,
           nonces: NonceCache | None = None, now: float | None = None) -> None:
    """Raise ``SignatureError`` unless ``headers`` carry a valid, fresh, unseen signature.

    ``url`` is the callback URL as we registered it (not as a proxy rewrote it). ``nonces`` is
    anything with ``add(nonce, now) -> bool``.
    """
    now = time.time() if now is None else now
    lower = {k.lower(): v for k, v in headers.items()}
    signature = lower.get("x-hmac-signature", "")
    date = lower.get("date", "")
    nonce = lower.get("x-request-nonce", "")
    if not signature or not date or not nonce:
        raise SignatureError("missing signature headers")
    if lower.get("x-hmac-algorithm", ALGORITHM).lower() != ALGORITHM:
        raise SignatureError("unsupported algorithm")
    signed = [h.strip() for h in lower.get("x-hmac-signed-headers", "").split(";") if h.strip()]
    if "date" not in [h.lower() for h in signed] or "x-request-nonce" not in [h.lower() for h in signed]:
        raise SignatureError("Date and x-request-nonce must be signed")
    try:
        sent = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        raise SignatureError("unreadable Date") from None
    if abs(now - sent) > MAX_SKEW:
        raise SignatureError("stale Date")
    expected = _digest(api_key, signing_string(method, url, date, lower, signed))
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("bad signature")
    if nonces is not None and not nonces.add(nonce, now):
        raise SignatureError("replayed nonce")
