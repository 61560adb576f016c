from django.utils.functional import SimpleLazyObject

from .access import current_membership


class CurrentTeamMiddleware:
    """Sets ``request.membership`` (lazily) and ``request.team`` for the signed-in user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: current_membership(request))
        request.team = SimpleLazyObject(lambda: request.membership.team if request.membership else None)
        return self.get_response(request)
