"""The app's door to Vidu: the provider from settings and one client per thread."""

import threading

from django.conf import settings
from django.urls import reverse

from vidu_web.vidu.client import PRESETS, Provider, ViduClient

_local = threading.local()


def provider() -> Provider:
    """The preset named by VIDU_PROVIDER with the VIDU_* overrides applied."""
    return PRESETS[settings.VIDU_PROVIDER].with_overrides(
        base_url=settings.VIDU_BASE_URL,
        path_prefix=settings.VIDU_PATH_PREFIX,
        auth_scheme=settings.VIDU_AUTH_SCHEME,
    )


def get_client() -> ViduClient:
    """This thread's client (a pooled session), rebuilt when the settings change (tests do)."""
    current = provider()
    key = (current, settings.VIDU_API_KEY)
    client = getattr(_local, "client", None)
    if client is None or getattr(_local, "key", None) != key:
        if client is not None:
            client.close()
        client = ViduClient(current, settings.VIDU_API_KEY)
        _local.client, _local.key = client, key
    return client


def callback_url(task) -> str:
    """The callback URL for ``task`` (with its secret), or "" when callbacks are off."""
    if not settings.VIDU_CALLBACK_BASE_URL:
        return ""
    path = reverse("vidu-callback", args=[task.uuid, task.callback_secret])
    return settings.VIDU_CALLBACK_BASE_URL + path
