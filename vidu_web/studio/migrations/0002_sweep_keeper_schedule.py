"""The django-q2 schedule that keeps the sweep running: every minute, restart it if it died."""

from django.db import migrations
from django.utils import timezone

NAME = "vidu-sweep-keeper"


def add_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={
        "func": "vidu_web.studio.tasks.keep_sweeping",
        "schedule_type": "I",  # every `minutes`
        "minutes": 1,
        "repeats": -1,
        "next_run": timezone.now(),
    })


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
