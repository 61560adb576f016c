"""The library's forms: a new project, a comment on a video, a review status."""

from __future__ import annotations

import math

from django import forms

from .library import COMMENT_MAX, Project, Review


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True, error_messages={
        "required": "Give the project a name.",
        "max_length": "A project name is at most 100 characters.",
    })
    private = forms.BooleanField(required=False)

    def __init__(self, *args, team, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_name(self):
        name = self.cleaned_data["name"].replace("\x00", "")
        if not name:
            raise forms.ValidationError("Give the project a name.")
        # Case aside, as the database's constraint compares them.
        if Project.objects.filter(team=self.team, name__iexact=name).exists():
            raise forms.ValidationError(f"{self.team.name} already has a project named “{name}”: pick another name.")
        return name


def parse_time_code(value: str) -> float | None:
    """Seconds from "12", "12.5" or "1:05"; None when empty; ValueError when it is neither."""
    value = value.strip()
    if not value:
        return None
    parts = value.split(":")
    if len(parts) > 2:
        raise ValueError(value)
    seconds = float(parts[-1])
    if len(parts) == 2:
        minutes = int(parts[0])
        if minutes < 0 or not 0 <= seconds < 60:
            raise ValueError(value)
        seconds += minutes * 60
    if not math.isfinite(seconds):
        raise ValueError(value)
    return seconds


class CommentForm(forms.Form):
    body = forms.CharField(max_length=COMMENT_MAX, strip=True, widget=forms.Textarea(attrs={"rows": 3}), error_messages={
        "required": "Write something first.",
        "max_length": f"A comment is at most {COMMENT_MAX:,} characters; this one has %(show_value)d.",
    })
    at = forms.CharField(required=False, max_length=20, error_messages={
        "max_length": "A time code is seconds (12) or minutes and seconds (1:05).",
    })

    def __init__(self, *args, length: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.length = length

    def clean_body(self):
        body = self.cleaned_data["body"].replace("\x00", "")
        if not body.strip():
            raise forms.ValidationError("Write something first.")
        return body

    def clean_at(self):
        try:
            at = parse_time_code(self.cleaned_data["at"])
        except ValueError:
            raise forms.ValidationError("A time code is seconds (12) or minutes and seconds (1:05).") from None
        if at is not None and not 0 <= at <= self.length:
            raise forms.ValidationError(f"The video is {_clock(self.length)} long: pick a time between 0:00 and "
                                        f"{_clock(self.length)}.")
        return at


def _clock(seconds: float) -> str:
    whole = math.floor(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def review_status(value) -> str | None:
    """The posted ``status`` if it is one of ours, else None."""
    return value if value in Review.values else None
