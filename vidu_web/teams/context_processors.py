from .access import memberships_for


def teams(request):
    """The header's team switcher: the user's memberships and the current one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"memberships": lambda: list(memberships_for(user)), "current_membership": request.membership}
