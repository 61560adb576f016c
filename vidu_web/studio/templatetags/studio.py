"""Small filters for the studio's templates."""

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from vidu_web.vidu import catalog

register = template.Library()


@register.filter
def seconds(value):
    """A span in seconds as a creator reads it: "42 s", "3 min 05 s", "1 h 02 min"."""
    try:
        value = max(0, int(value))
    except (TypeError, ValueError):
        return ""
    if value < 60:
        return f"{value} s"
    minutes, secs = divmod(value, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def model_label(value):
    spec = catalog.MODELS.get(value)
    return spec.label if spec else value or "Upscale"  # an upscale names no model


@register.filter
def first_creation(task):
    """The task's first stored creation (from the prefetch), or None."""
    creations = list(task.creations.all())
    return creations[0] if creations else None


@register.filter
def ago(value, now=None):
    """When something happened, as a creator reads it: "just now" under a minute (Django's
    timesince says "0 minutes"), else "3 minutes ago", "2 hours, 5 minutes ago"."""
    if not value:
        return ""
    now = now or timezone.now()
    if (now - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, now)} ago"
