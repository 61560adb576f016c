from django.conf import settings

from .access import memberships_for


def teams(request):
    """The header's team switcher: the user's memberships and the current one; and whether email
    works (the sign-in page offers a password reset only then)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"email_enabled": settings.EMAIL_ENABLED}
    return {"memberships": lambda: list(memberships_for(user)), "current_membership": request.membership,
            "email_enabled": settings.EMAIL_ENABLED}
