"""What a gallery tile shows, from the plain rows of ``queries.gallery``: links, file URLs, a
shortened prompt and the video's own shape, so the template only prints strings."""

from __future__ import annotations

import math

from django import template
from django.core.files.storage import default_storage
from django.urls import reverse

from vidu_web.studio.library import Review
from vidu_web.vidu.catalog import ASPECT_RATIOS, MODELS

register = template.Library()

PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
# "9:16" -> "9x16": a CSS class per ratio (app.css sizes each tile by it), no inline style.
RATIO_CLASS = {ratio: "ratio-" + ratio.replace(":", "x") for ratio in ASPECT_RATIOS}


def _value(ratio: str) -> float:
    w, h = ratio.split(":")
    return int(w) / int(h)


def ratio_of(width, height, asked="") -> str:
    """The video's shape as one of the ratios Vidu makes: from the stored file's size when we
    know it (image modes follow their image), else the ratio asked for, else 16:9."""
    if width and height:
        actual = math.log(width / height)
        return min(ASPECT_RATIOS, key=lambda r: abs(math.log(_value(r)) - actual))
    return asked if asked in RATIO_CLASS else "16:9"


@register.filter
def gallery_tiles(rows):
    video_path = reverse("video", args=[PLACEHOLDER])
    out = []
    for row in rows:
        text = row["text"] or "(no prompt)"
        uuid = str(row["uuid"])
        ratio = ratio_of(row.get("width"), row.get("height"), row.get("aspect_ratio") or "")
        out.append({
            "uuid": uuid,
            "href": video_path.replace(PLACEHOLDER, uuid),
            "video": default_storage.url(row["video_name"]) if row["video_name"] else "",
            "cover": default_storage.url(row["cover_name"]) if row["cover_name"] else "",
            "prompt": text if len(text) <= 110 else text[:109].rstrip() + "…",
            "label": text[:80],
            "creator": row["creator_name"] or "someone",
            "model": MODELS[row["model"]].label if row["model"] in MODELS else row["model"],
            "duration": row["duration"],
            "credits": row["credits"],
            "private": row["is_private"],
            "favorite": row["is_favorite"],
            "ratio": ratio,
            "ratio_class": RATIO_CLASS[ratio],
            # A draft is every video's start: only a status someone set is worth a badge.
            "review": row.get("review_status", Review.DRAFT),
            "review_label": Review(row.get("review_status") or Review.DRAFT).label,
            "versions": row.get("stacked") or 1,  # only when the gallery folds families
        })
    return out
