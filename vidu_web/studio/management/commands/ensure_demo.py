"""Make the demo team and the demo/demo user, only in sandbox mode with DEBUG on (idempotent)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand
from django.db import transaction

from vidu_web.teams.models import Membership, Team

TEAM = "Demo studio"


class Command(BaseCommand):
    help = "Ensure the demo team and user demo/demo exist (sandbox mode with DEBUG only)."

    def handle(self, *args, **options):
        if not (settings.SANDBOX_MODE and settings.DEBUG):
            self.stdout.write("ensure_demo: did nothing (the demo user exists only in sandbox mode with DEBUG on).")
            return
        with transaction.atomic():
            team = Team.objects.filter(name=TEAM, personal=False).first() or Team.objects.create(name=TEAM)
            user = get_user_model().objects.filter(username="demo").first()
            if user is None:
                user = get_user_model().objects.create_user("demo", "demo@example.org", "demo")
                made = True
            else:
                made = False
            Membership.objects.update_or_create(team=team, user=user, defaults={"role": Membership.Role.OWNER})
        self.stdout.write(f"ensure_demo: {'made' if made else 'kept'} user demo in team {TEAM!r}.")
