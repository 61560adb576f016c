"""At a worker's start, one query tells whether the provider accepts our API key.

The query asks for a task id that can't exist. A 404 (or any other answer about the task)
means the provider read the key and accepted it; 401 or 403 mean it refused it, said in one
ERROR line, so that a wrong or revoked key shows when the worker starts rather than as a
failed task later. No answer (the provider down, a timeout, a 5xx) is one WARNING: the
pipeline's own backoff copes with that. Never raises and never stops the worker (a key can be
fixed on the provider's side without a restart); the key itself is never logged.
"""

import logging
import threading

from . import providers

log = logging.getLogger(__name__)

# Vidu's task ids are long numbers; 0 is none of them.
PROBE_ID = "0"
ACCEPTED, REFUSED, UNKNOWN = "accepted", "refused", "unknown"


def check_key() -> str:
    target = providers.current()
    adapter = providers.adapter(target.name, target.endpoint)
    try:
        adapter.query(PROBE_ID)
    except providers.ProviderError as exc:
        if exc.status in (401, 403):
            log.error("the API key was refused by %s (%s %s): no task can be sent until VIDU_API_KEY is fixed",
                      target.name, exc.status, exc.reason)
            return REFUSED
        if exc.status == 0 or exc.retryable or exc.status >= 500:
            log.warning("could not check the API key with %s at start (%s %s); tasks will retry",
                        target.name, exc.status or "no answer", exc.reason)
            return UNKNOWN
    except Exception as exc:  # a bug must not stop a worker from starting
        log.warning("could not check the API key with %s at start (%s)", target.name, type(exc).__name__)
        return UNKNOWN
    log.info("the API key was accepted by %s", target.name)
    return ACCEPTED


def check_key_in_background() -> threading.Thread:
    """The check without holding up the cluster's start (a hanging provider takes VIDU_TIMEOUT)."""
    thread = threading.Thread(target=check_key, name="vidu-key-check", daemon=True)
    thread.start()
    return thread
