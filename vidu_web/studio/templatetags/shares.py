"""The share panels of the video page and the project page: live public links and the form that
makes one."""

from django import template
from django.urls import reverse

from ..models import State
from ..shares import EXPIRY_CHOICES

register = template.Library()


@register.inclusion_tag("studio/share_panel.html", takes_context=True)
def share_panel(context):
    request, task = context["request"], context["task"]
    links = []
    for link in task.share_links.live().select_related("created_by"):
        links.append({
            "link": link,
            "url": request.build_absolute_uri(reverse("shared", args=[link.token])),
            "revoke_url": reverse("share-revoke", args=[task.uuid, link.pk]),
            # may_revoke without a query: the page knows whether the user may manage the video.
            "may_revoke": link.created_by_id == request.user.id or context.get("can_delete"),
        })
    return {
        "share_action": reverse("video-share", args=[task.uuid]),
        "links": links,
        "can_share": context.get("can_create") and task.state == State.SUCCEEDED and context.get("creation"),
        "expiry_choices": EXPIRY_CHOICES.items(),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("studio/share_panel.html", takes_context=True)
def project_share_panel(context):
    request, project = context["request"], context["project"]
    links = []
    for link in project.share_links.live().select_related("created_by"):
        links.append({
            "link": link,
            "url": request.build_absolute_uri(reverse("shared", args=[link.token])),
            "revoke_url": reverse("project-share-revoke", args=[project.uuid, link.pk]),
            "may_revoke": link.created_by_id == request.user.id or context.get("may_manage"),
        })
    return {
        "share_action": reverse("project-share", args=[project.uuid]),
        "links": links,
        "can_share": context.get("can_create"),
        "expiry_choices": EXPIRY_CHOICES.items(),
        "csrf_token": context.get("csrf_token"),
    }
