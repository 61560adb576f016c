"""The share panels of the video page and the project page: live public links and the form that
makes one."""

from django import template
from django.urls import reverse

from ..models import State
from ..shares import EXPIRY_CHOICES

register = template.Library()


@register.inclusion_tag("studio/share_panel.html", takes_context=True)
def share_panel(context):
    task = context["task"]
    can_share = context.get("can_create") and task.state == State.SUCCEEDED and context.get("creation")
    # may_revoke without a query: the page knows whether the user may manage the video.
    return _panel(context, task, "video-share", "share-revoke", context.get("can_delete"), can_share)


@register.inclusion_tag("studio/share_panel.html", takes_context=True)
def project_share_panel(context):
    return _panel(context, context["project"], "project-share", "project-share-revoke", context.get("may_manage"),
                  context.get("can_create"))


def _panel(context, owner, share_name, revoke_name, may_manage, can_share):
    """The live links of ``owner`` (a video or a project) and the form that makes one."""
    request = context["request"]
    links = [{
        "link": link,
        "url": request.build_absolute_uri(reverse("shared", args=[link.token])),
        "revoke_url": reverse(revoke_name, args=[owner.uuid, link.pk]),
        "may_revoke": link.created_by_id == request.user.id or may_manage,
    } for link in owner.share_links.live().select_related("created_by")]
    return {
        "share_action": reverse(share_name, args=[owner.uuid]),
        "links": links,
        "can_share": can_share,
        "expiry_choices": EXPIRY_CHOICES.items(),
        "csrf_token": context.get("csrf_token"),
    }
