"""Readable names for downloaded files: the prompt's first words and the day the video was made."""

from __future__ import annotations

import posixpath

from django.utils import timezone
from django.utils.text import slugify

# Words that say nothing in a file name ("A red fox trots through the snow" -> red-fox-trots-...).
_FILLER = {"a", "an", "the", "of", "and", "in", "on", "at", "to", "with", "by", "for", "is"}
NAME_WORDS, NAME_CHARS = 6, 60


def download_name(task, name, kind=""):
    """What a download of ``name`` (one of ``task``'s files) is saved as: the prompt's first
    words and the day it was made, ``red-fox-trots-through-snow-2026-11-29.mp4``, rather than
    the UUID it is stored under. ``kind`` ("watermarked", "cover") tells copies apart."""
    text = task.prompt.text if task.prompt_id else ""
    words = [w for w in slugify(text).split("-") if w and w not in _FILLER][:NAME_WORDS]
    stem = "-".join(words)[:NAME_CHARS].rstrip("-") or "video"
    day = timezone.localdate(task.created_at).isoformat()
    extension = posixpath.splitext(name)[1].lower()
    return "-".join(filter(None, [stem, day, kind])) + extension
