"""The access checks: every view reaches teams and their objects through these.

A user of another team gets a 404, never a 403, so nothing reveals that an object exists.
"""

from django.http import Http404

from .models import Membership

SESSION_KEY = "current_team_id"


def memberships_for(user):
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")


def current_membership(request):
    """The membership of the team the user works in now (chosen in the header's switcher)."""
    if not request.user.is_authenticated:
        return None
    memberships = list(memberships_for(request.user))
    if not memberships:
        from .models import Team

        Team.personal_for(request.user)
        memberships = list(memberships_for(request.user))
    wanted = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.team_id == wanted:
            return membership
    return last_chosen(memberships)


def last_chosen(memberships):
    """The team the user chose last, else the one they joined first: never the first by name,
    which anyone could take by naming a team "AAA" and adding them."""
    chosen = [m for m in memberships if m.chosen_at is not None]
    if chosen:
        return max(chosen, key=lambda m: m.chosen_at)
    return min(memberships, key=lambda m: (m.joined_at, m.pk))


def membership_in(user, team_id):
    """The user's membership in ``team_id``, or 404."""
    try:
        return Membership.objects.select_related("team").get(user=user, team_id=team_id)
    except Membership.DoesNotExist:
        raise Http404("No such team") from None
