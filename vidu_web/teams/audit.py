"""The audit trail: ``record`` writes one ``AuditEvent`` for the team's audit log."""

from __future__ import annotations

import ipaddress

from .models import AuditEvent


def _address(request):
    if request is None:
        return None
    from .throttle import client_address

    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:  # a test client's "testserver"-like value, or garbage from a proxy
        return None


def record(team, actor, action, target="", request=None, **details):
    """Record that ``actor`` (a user, or None for the system) did ``action`` (a short slug) to
    ``target`` (text: a username, an invitation) in ``team``, from ``request``'s address."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(team=team, actor=actor, action=action, target=str(target)[:200],
                                     details=details, ip=_address(request))
