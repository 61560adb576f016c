"""Video providers: the stored provider name picks the adapter, as healthchecks' ``Channel.kind``
picks a transport.

A task keeps the provider and endpoint it was created with (``GenerationTask.provider`` and
``.endpoint``); every later call for it goes there through ``for_task``, so changing
``VIDU_PROVIDER`` or ``VIDU_BASE_URL`` while tasks run moves none of them. New tasks go to
``current()``. The API key and its auth scheme are the install's (from settings).

One family is one module here with the shape of ``base.Adapter``, plus its names in FAMILIES;
a test registers its own with ``register``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.conf import settings

from vidu_web.vidu.client import PRESETS

from .base import FINAL, Adapter, Answer, Created, Output, ProviderError  # noqa: F401 (the package's surface)
from .vidu import Vidu

# Provider name (VIDU_PROVIDER's values, stored on each task) -> adapter class.
FAMILIES: dict[str, type[Adapter]] = {name: Vidu for name in PRESETS}
_local = threading.local()


@dataclass(frozen=True)
class Target:
    """Where new tasks go: a provider name and its endpoint (base URL with the path prefix)."""

    name: str
    endpoint: str


def register(name: str, adapter: type[Adapter]) -> None:
    FAMILIES[name] = adapter


def current() -> Target:
    """The provider configured now (VIDU_PROVIDER with the VIDU_* overrides)."""
    name = settings.VIDU_PROVIDER
    preset = PRESETS.get(name)
    base_url = settings.VIDU_BASE_URL or (preset.base_url if preset else "")
    prefix = settings.VIDU_PATH_PREFIX or (preset.path_prefix if preset else "")
    return Target(name, endpoint_of(base_url, prefix))


def endpoint_of(base_url: str, prefix: str) -> str:
    prefix = prefix.strip("/")
    return base_url.rstrip("/") + (f"/{prefix}" if prefix else "")


def timeout() -> tuple[float, float]:
    """(connect, read) seconds for every call to a provider, from a worker or a web request."""
    return (3.05, float(settings.VIDU_TIMEOUT))


def adapter(name: str, endpoint: str) -> Adapter:
    """This thread's adapter for ``name`` at ``endpoint`` (a pooled session each), rebuilt
    when the key or the timeout changes (tests change settings)."""
    cache = getattr(_local, "adapters", None)
    if cache is None:
        cache = _local.adapters = {}
    key = (name, endpoint, settings.VIDU_API_KEY, settings.VIDU_AUTH_SCHEME, timeout())
    found = cache.get(key)
    if found is None:
        for old in [k for k in cache if k[:2] == key[:2]]:
            cache.pop(old).close()
        try:
            family = FAMILIES[name]
        except KeyError:
            raise ProviderError(0, "UnknownProvider", f"no adapter for provider {name!r}",
                                friendly="This task was made with a provider this install no longer knows.") from None
        found = cache[key] = family(name, endpoint, settings.VIDU_API_KEY, timeout(), settings.VIDU_AUTH_SCHEME)
    return found


def for_task(task) -> Adapter:
    """The adapter for the provider and endpoint ``task`` was created with."""
    return adapter(task.provider, task.endpoint)
