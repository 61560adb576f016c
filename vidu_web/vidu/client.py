"""The HTTP client for Vidu's API and for gateways that keep its contract (vidu-api.md §1-4).

One ``ViduClient`` per worker thread: it holds a pooled ``requests.Session``. Every call has a
timeout. The API key lives only in the Authorization header: never in a repr, a log line or an
exception message.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

import requests

from .bodies import ExtendRequest, MultiframeRequest, UpscaleRequest
from .catalog import ENDPOINTS, MODELS
from .errors import ViduError
from .types import Account, CreateResult, TaskResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Provider:
    """Where and how to reach Vidu: base URL, path prefix, auth scheme, model spelling."""

    name: str
    base_url: str
    path_prefix: str
    auth_scheme: str  # "Token" or "Bearer"
    # How the model string is spelled, e.g. "{model}-{resolution}-{duration}s" for billing names.
    model_format: str = "{model}"
    signs_callbacks: bool = False  # only Vidu itself signs callbacks with our key

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + "/".join(p.strip("/") for p in (self.path_prefix, path) if p.strip("/"))

    def with_overrides(self, **changes: Any) -> Provider:
        return replace(self, **{k: v for k, v in changes.items() if v not in (None, "")})


PRESETS: dict[str, Provider] = {
    "vidu": Provider("vidu", "https://api.vidu.com", "/ent/v2", "Token", signs_callbacks=True),
    "vidu-cn": Provider("vidu-cn", "https://api.vidu.cn", "/ent/v2", "Token", signs_callbacks=True),
    "dataeyes": Provider("dataeyes", "https://api.dataeyes.ai", "/v2", "Bearer"),
    "sandbox": Provider("sandbox", "http://127.0.0.1:8765", "/ent/v2", "Token", signs_callbacks=True),
}
AUTH_SCHEMES = ("Token", "Bearer")


class _Secret:
    """Holds the key; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


class ViduClient:
    # (connect, read) seconds: connect fails fast, generation requests may take a while to answer.
    DEFAULT_TIMEOUT = (3.05, 30.0)

    def __init__(
        self,
        provider: Provider,
        api_key: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        pool_size: int = 10,
        session: requests.Session | None = None,
    ) -> None:
        if provider.auth_scheme not in AUTH_SCHEMES:
            raise ValueError(f"auth scheme must be one of {AUTH_SCHEMES}")
        self.provider = provider
        self._key = _Secret(api_key)
        self.timeout = timeout
        self.session = session or requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"<ViduClient {self.provider.name} {self.provider.base_url}{self.provider.path_prefix}>"

    def close(self) -> None:
        self.session.close()

    # -- the API ---------------------------------------------------------------------------

    def create(self, mode: str, params: dict) -> CreateResult:
        """POST a create request to the endpoint ``mode`` (any of ``catalog.ENDPOINTS``);
        ``params`` uses Vidu's field names."""
        if mode not in ENDPOINTS:
            raise ValueError(f"unknown mode {mode!r}")
        body = dict(params)
        if "model" in body and self.provider.model_format != "{model}":
            body["model"] = self._model_name(body)
        data = self._call("POST", mode, body)
        try:
            result = CreateResult.parse(data)
        except ValueError as exc:
            raise ViduError(200, "BadResponse", str(exc), outcome_unknown=True) from None
        if result.state == "failed":
            reason = str(data.get("err_code") or "BadRequest")
            raise ViduError(400, reason, "the create answered with state failed")
        return result

    def _model_name(self, body: dict) -> str:
        """The model as the provider spells it; a billing name needs the length and resolution
        even when the request leaves them to Vidu's defaults, so those come from the model table."""
        spec = MODELS.get(body["model"]) if isinstance(body["model"], str) else None
        duration = body.get("duration") or (spec.default_duration if spec else "")
        resolution = body.get("resolution") or (spec.default_resolution_for(duration) if spec and duration else "")
        return self.provider.model_format.format(model=body["model"], resolution=resolution, duration=duration)

    def text2video(self, **params: Any) -> CreateResult:
        return self.create("text2video", params)

    def img2video(self, **params: Any) -> CreateResult:
        return self.create("img2video", params)

    def start_end2video(self, **params: Any) -> CreateResult:
        return self.create("start-end2video", params)

    def reference2video(self, **params: Any) -> CreateResult:
        return self.create("reference2video", params)

    def extend(self, request: ExtendRequest) -> CreateResult:
        return self.create(request.endpoint, request.body())

    def upscale(self, request: UpscaleRequest) -> CreateResult:
        return self.create(request.endpoint, request.body())

    def multiframe(self, request: MultiframeRequest) -> CreateResult:
        return self.create(request.endpoint, request.body())

    def query(self, task_id: str) -> TaskResult:
        data = self._call("GET", f"tasks/{task_id}/creations")
        try:
            return TaskResult.parse(data)
        except ValueError as exc:
            raise ViduError(200, "BadResponse", str(exc)) from None

    def cancel(self, task_id: str) -> None:
        """Cancel a task not yet scheduled; Vidu answers 400 once it is."""
        self._call("POST", f"tasks/{task_id}/cancel", {"id": task_id})

    def account(self) -> Account:
        """The account's credits and concurrency (Vidu; a gateway may answer 404)."""
        data = self._call("GET", "credits")
        try:
            return Account.parse(data)
        except ValueError as exc:
            raise ViduError(200, "BadResponse", str(exc)) from None

    # -- plumbing --------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"{self.provider.auth_scheme} {self._key.reveal()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        url = self.provider.url(path)
        data = json.dumps(body) if body is not None else None
        try:
            # The headers are built inline, never held in a local of this frame: error pages and
            # error mails print every frame's locals, and this frame is in every ViduError.
            response = self.session.request(method, url, data=data, headers=self._headers(), timeout=self.timeout)
        except requests.ConnectTimeout:
            raise ViduError(0, "Timeout", f"connecting to {self.provider.base_url} timed out") from None
        except requests.ReadTimeout:
            # The request went out; whether Vidu acted on it is unknown.
            raise ViduError(0, "Timeout", f"{method} {path} got no answer in time", outcome_unknown=True) from None
        except requests.ConnectionError as exc:
            # Refused before sending is safe to repeat; a connection dropped mid-way is not.
            unknown = not _refused(exc)
            raise ViduError(0, "ConnectionError", f"{method} {path}: {type(exc).__name__}", outcome_unknown=unknown) from None
        except requests.RequestException as exc:
            raise ViduError(0, "ConnectionError", f"{method} {path}: {type(exc).__name__}", outcome_unknown=True) from None

        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            raise ViduError.from_response(response.status_code, payload, response.headers.get("Retry-After"))
        if payload is None:
            log.warning("Vidu %s %s answered %s with a body that isn't JSON", method, path, response.status_code)
            # For a create, a 200 we can't read means the task may exist: the outcome is unknown.
            raise ViduError(502, "BadResponse", f"{method} {path}: the answer was not JSON", outcome_unknown=True)
        return payload


def _refused(exc: requests.ConnectionError) -> bool:
    """True when the connection was never established, so nothing was sent."""
    text = repr(exc)
    return any(s in text for s in ("NewConnectionError", "ConnectionRefused", "Name or service not known",
                                   "Failed to resolve", "NameResolutionError"))
