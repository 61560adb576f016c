"""One console line per task state change (every TaskEvent row), for the person watching `make run`."""

import logging

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import TaskEvent

log = logging.getLogger("vidu_web.studio.events")


@receiver(post_save, sender=TaskEvent, dispatch_uid="log-task-events")
def log_task_event(sender, instance, created, **kwargs):
    if created:
        note = f" ({instance.note[:200]})" if instance.note else ""
        log.info("task #%s is %s%s", instance.task_id, instance.state, note)
