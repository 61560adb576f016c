"""The header's team switcher."""

from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .access import SESSION_KEY, membership_in


@require_POST
def switch_team(request):
    try:
        team_id = int(request.POST.get("team", ""))
    except ValueError:
        team_id = 0
    membership = membership_in(request.user, team_id)
    request.session[SESSION_KEY] = membership.team_id
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "gallery"
    return redirect(target)
