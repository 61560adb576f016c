"""What a gallery tile shows, from the plain rows of ``queries.gallery``: links, file URLs, a
shortened prompt and the video's own shape, and the tiles' markup.

The markup is ``TILE`` below, filled with escaped strings, rather than a template loop: a page
of 24 tiles through the template engine cost about 1.6 ms of CPU (some 30 variable lookups and
tags a tile), a fifth of the gallery's whole budget at 100,000 videos (design.md, "Quality
bars: Pages"); this costs about 0.2 ms. Every value goes through ``escape``, as ``{{ }}`` would.
"""

from __future__ import annotations

import math
from html import escape

from django import template
from django.core.files.storage import FileSystemStorage, storages
from django.urls import reverse
from django.utils.encoding import filepath_to_uri
from django.utils.safestring import mark_safe

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


def _media_urls():
    """``default_storage.url`` for a page of tiles: on the filesystem without its ``urljoin``
    (two URL parses a call, 48 calls a page) and its proxy's lookups; a stored name (no "." or
    ".." segment, as storage makes them) joins the base by plain concatenation there."""
    storage = storages["default"]  # the instance default_storage stands for
    if not isinstance(storage, FileSystemStorage):
        return storage.url
    base = storage.base_url

    def url(name):
        path = filepath_to_uri(name).lstrip("/")
        return base + path if "/." not in "/" + path else storage.url(name)

    return url


# One tile, as the gallery's ``items`` partial printed it in a template loop (the same markup).
TILE = """
<article class="tile {ratio_class}" data-task-id="{uuid}" data-ratio="{ratio}" data-review="{review}"{versions_attr}>
  <label class="tile-select"><input type="checkbox" name="tasks" value="{uuid}" form="selection"><span class="visually-hidden">Select: {label}</span></label>
  <a class="tile-media" href="{href}"><span class="visually-hidden">Open: {label}. </span>
    {video}
    <span class="tile-ratio" title="Aspect ratio">{ratio}</span>
    <span class="tile-duration">{duration} s</span>
    {private}
    {review_badge}
    {versions_badge}
  </a>
  <div class="tile-body">
    <p class="tile-prompt">{prompt}</p>
    <p class="tile-meta"><span class="who">{creator}</span><span>{model}</span>{credits}{favorite}</p>
  </div>
</article>
"""
PRIVATE = '<span class="tile-private" title="Only you can see it">Private</span>'
FAVORITE = '<span class="fav-mark" title="In your favourites">★<span class="visually-hidden"> favourite</span></span>'
VIDEO = '<video src="{}"{} preload="none" muted loop playsinline tabindex="-1"></video>'
REVIEW_LABELS = dict(Review.choices)
DRAFT = str(Review.DRAFT.value)
NO_FILE = {"video": "", "cover": "", "width": None, "height": None}  # a task without a stored creation


def _tile(row, video_path, media_url) -> str:
    """One tile's markup; every text from the row is escaped (numbers are printed as numbers)."""
    text = row["text"] or "(no prompt)"
    uuid = str(row["uuid"])
    file = row["file"] or NO_FILE
    ratio = ratio_of(file["width"], file["height"], row.get("aspect_ratio") or "")
    label = escape(text[:80])
    # A draft is every video's start: only a status someone set is worth a badge.
    review = row.get("review_status") or DRAFT
    review_badge = ""
    if review != DRAFT:
        review_badge = f'<span class="tile-review review-{escape(review)}">{escape(REVIEW_LABELS[review])}</span>'
    versions = row.get("stacked") or 1  # only when the gallery folds families
    video = ""
    if file["video"]:
        poster = f' poster="{escape(media_url(file["cover"]))}"' if file["cover"] else ""
        video = VIDEO.format(escape(media_url(file["video"])), poster)
    model = MODELS[row["model"]].label if row["model"] in MODELS else row["model"]
    return TILE.format(
        ratio_class=RATIO_CLASS[ratio],
        uuid=uuid,
        ratio=escape(ratio),
        review=escape(review),
        versions_attr=f' data-versions="{int(versions)}"' if versions > 1 else "",
        label=label,
        href=escape(video_path.replace(PLACEHOLDER, uuid)),
        video=video,
        duration=escape(str(row["duration"])),
        private=PRIVATE if row["is_private"] else "",
        review_badge=review_badge,
        versions_badge=(f'<span class="tile-versions" title="Versions in this stack">{int(versions)} versions</span>'
                        if versions > 1 else ""),
        prompt=escape(text if len(text) <= 110 else text[:109].rstrip() + "…"),
        creator=escape(row["creator_name"] or "someone"),
        model=escape(model),
        credits=f'<span title="Credits">{int(row["credits"])} cr</span>' if row["credits"] is not None else "",
        favorite=FAVORITE if row["is_favorite"] else "",
    )


@register.filter
def gallery_tiles(rows):
    """The tiles of ``rows`` (``queries.gallery``'s), as markup ready to print."""
    video_path, media_url = reverse("video", args=[PLACEHOLDER]), _media_urls()
    return mark_safe("".join(_tile(row, video_path, media_url) for row in rows))  # noqa: S308 (every text escaped in _tile)


@register.simple_tag
def options(choices, selected="", *, named=False):
    """The ``<option>`` elements of a filter's ``<select>``: ``choices`` as (value, label) pairs,
    the one whose value is ``selected`` (compared as text) marked so; ``named``: plain names,
    each its own value (no ``value`` attribute), as the creator filter has them.

    Printed in Python, like the tiles: the gallery's filter bar through template loops (a
    ``{% for %}`` and an ``{% if %}`` an option) cost 1.1 M instructions a page more than with
    this tag (callgrind: 38.0 -> 36.9 M for the first page; the trivial page is 13.1 M). Every
    text is escaped."""
    selected = str(selected)
    if named:
        return mark_safe("".join(  # noqa: S308 (escaped)
            f"<option selected>{escape(name)}</option>" if name == selected else f"<option>{escape(name)}</option>"
            for name in choices))
    return mark_safe("".join(  # noqa: S308 (escaped)
        f'<option value="{escape(str(value))}"{" selected" if str(value) == selected else ""}>{escape(label)}</option>'
        for value, label in choices))
