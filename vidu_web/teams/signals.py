from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .models import Team


@receiver(user_logged_in)
def give_personal_team(sender, user, **kwargs):
    """A user who belongs to no team gets a personal team on first sign-in."""
    if not user.memberships.exists():
        Team.personal_for(user)


@receiver(user_logged_in)
def tell_about_invitations(sender, user, request=None, **kwargs):
    """Invitations made for the user by name wait for them: say so as they sign in."""
    if request is not None:
        from .invitations import tell_about_invitations

        tell_about_invitations(request, user)
