"""Sign-in throttling: django-axes with two limits, and the page a locked sign-in gets.

axes compares one number with one limit (``AXES_FAILURE_LIMIT``): the largest failure count
among its lockout parameters. We want 5 for a username but 30 for an address (a team behind one
office address must not lock itself out), so ``ThrottleHandler.get_failures`` counts each on its
own and answers "at the limit" when either one is.

How axes counts (its database handler): one row per (username, address, browser) holding the
failures since the row began and the time of the last one. A row counts while its last failure
is under ``AXES_COOLOFF_TIME`` old and is deleted after; so 5 failures each less than 15 minutes
after the one before lock the username, and the lock ends 15 minutes after the last of them.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.db.models import Max, Sum
from django.shortcuts import render
from django.utils import timezone


def client_address(request):
    """The client's address: the one our nginx appended to X-Forwarded-For when behind it
    (``DJANGO_BEHIND_PROXY``), else the connection's. A client's own X-Forwarded-For entries
    come first in that header and are never read, so nobody picks their address."""
    if settings.BEHIND_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR") or None


class ThrottleBackend(AxesStandaloneBackend):
    """axes' check before any password is tried. Without a request (``manage.py``, a shell, the
    test client's ``login``) there is no one to throttle: it steps aside instead of failing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class ThrottleHandler(AxesDatabaseHandler):
    def _counts(self, request, credentials):
        # One queryset per AXES_LOCKOUT_PARAMETERS entry, in order: ["username", "ip_address"].
        by_username, by_address = self.get_user_attempts(request, credentials)
        return tuple(q.aggregate(n=Sum("failures_since_start"))["n"] or 0 for q in (by_username, by_address))

    def get_failures(self, request, credentials=None) -> int:
        username_failures, address_failures = self._counts(request, credentials)
        if address_failures >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            return max(username_failures, settings.AXES_FAILURE_LIMIT)
        return username_failures

    def lock_ends(self, request, credentials=None):
        """When the lock on this request's username (or address) ends: the locking failure plus
        the cool-off (tries while locked are not recorded, so the latest failure is it)."""
        username_failures, address_failures = self._counts(request, credentials)
        by_username, by_address = self.get_user_attempts(request, credentials)
        ends = []
        if username_failures >= settings.AXES_FAILURE_LIMIT:
            ends.append(by_username.aggregate(t=Max("attempt_time"))["t"])
        if address_failures >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            ends.append(by_address.aggregate(t=Max("attempt_time"))["t"])
        ends = [t for t in ends if t is not None]
        return max(ends) + settings.AXES_COOLOFF_TIME if ends else timezone.now() + settings.AXES_COOLOFF_TIME


def locked_out(request, original_response=None, credentials=None):
    """The page a locked sign-in gets (429): when to try again, and that others aren't locked."""
    ends = ThrottleHandler().lock_ends(request, credentials)
    minutes = max(1, -(-int((ends - timezone.now()).total_seconds()) // 60))
    context = {
        "username": get_client_username(request, credentials) or "",
        "ends": ends,
        "minutes": minutes,
        "email_enabled": settings.EMAIL_ENABLED,
    }
    return render(request, "registration/locked.html", context, status=429)
