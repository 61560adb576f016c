"""The audit log: who did what to a team, when, and from which address.

``record`` is called by the view that made the change, after it was saved (inside its
transaction when there is one, so a change rolled back leaves no event). Owners and admins read
the log at /team/audit/; staff in the admin.
"""

from __future__ import annotations

import ipaddress

from .models import AuditEvent

# Action slugs, with what the log page says for each.
ACTIONS = {
    "member-added": "added a member",
    "member-removed": "removed a member",
    "member-left": "left the team",
    "role-changed": "changed a role",
    "budget-changed": "changed the monthly budget",
    "cap-changed": "changed a member's monthly cap",
    "video-private": "made a video private",
    "video-shared": "showed a video to the team again",
    "video-deleted": "deleted a video",
    "invitation-made": "made an invitation",
    "invitation-accepted": "accepted an invitation",
    "invitation-revoked": "revoked an invitation",
    "share-made": "made a share link",
    "share-revoked": "revoked a share link",
}


def client_ip(request) -> str | None:
    """The address the request came from: REMOTE_ADDR, or behind our own proxy
    (DJANGO_BEHIND_PROXY) the address it saw (throttle.client_address: the same one sign-in
    throttling counts); a header anyone can send is not trusted otherwise."""
    if request is None:
        return None
    from .throttle import client_address

    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:  # a test client's "testserver"-like value, or garbage from a proxy
        return None


def record(team, actor, action: str, target: str = "", request=None, **details) -> AuditEvent:
    """Write one event: ``actor`` (a user, or None) did ``action`` to ``target`` in ``team``."""
    return AuditEvent.objects.create(
        team=team,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action[:40],
        target=str(target)[:200],
        details=details,
        ip=client_ip(request),
    )


def describe(event: AuditEvent) -> str:
    return ACTIONS.get(event.action, event.action.replace("-", " "))
