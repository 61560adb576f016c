from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "vidu_web.teams"
    label = "teams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401
