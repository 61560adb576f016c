from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "vidu_web.studio"
    label = "studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.backends.signals import connection_created

        from .search import register

        connection_created.connect(register, dispatch_uid="studio-search-unaccent")

        from . import events_log  # noqa: F401 (connects the receiver)
