"""Account pages beyond Django's own: password change whose old password is throttled like a
sign-in, and password reset, which exists only when email is configured and is rate-limited."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404

from .throttle import client_address

RESET_WINDOW = 3600  # seconds


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """The old password is checked through authenticate(), like a sign-in: a wrong one counts
    toward the username's lock, and a locked username can't change it (axes answers the page)."""

    def __init__(self, user, *args, request=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self):
        old = self.cleaned_data["old_password"]
        if authenticate(self.request, username=self.user.get_username(), password=old) != self.user:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


def _over(key, limit):
    """Count one more request under ``key`` in this hour's window; True past ``limit``."""
    cache.add(key, 0, RESET_WINDOW)
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RESET_WINDOW)
        return False


class ThrottledPasswordResetForm(PasswordResetForm):
    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_email(self):
        email = self.cleaned_data["email"]
        # Counted whether or not an account has the address, so the answer reveals nothing.
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        by_email = _over(f"reset:email:{digest}", settings.PASSWORD_RESET_PER_EMAIL)
        by_client = _over(f"reset:client:{client_address(self.request)}", settings.PASSWORD_RESET_PER_CLIENT)
        if by_email or by_client:
            raise ValidationError("Too many reset requests: try again in an hour, or ask an admin to set a new password.",
                                  code="throttled")
        return email


class PasswordResetView(auth_views.PasswordResetView):
    form_class = ThrottledPasswordResetForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error("email", "throttled"):
            response.status_code = 429
        return response


def with_email(view):
    """``view`` when email is configured; 404 otherwise (a reset could send nothing)."""

    @login_not_required
    def wrapped(request, *args, **kwargs):
        if not settings.EMAIL_ENABLED:
            raise Http404("Password reset needs email")
        return view(request, *args, **kwargs)

    return wrapped


password_reset = with_email(PasswordResetView.as_view())
password_reset_done = with_email(auth_views.PasswordResetDoneView.as_view())
password_reset_confirm = with_email(auth_views.PasswordResetConfirmView.as_view())
password_reset_complete = with_email(auth_views.PasswordResetCompleteView.as_view())
