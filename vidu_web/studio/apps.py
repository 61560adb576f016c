from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "vidu_web.studio"
    label = "studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import events_log  # noqa: F401 (connects the receiver)
