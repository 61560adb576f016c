"""Checking input images against Vidu's rules and turning them into data URIs (vidu-api.md §2).

Uses Pillow, which only parses headers until asked to decode, so checking is cheap.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MIN_SIDE = 128
MAX_RATIO = 4.0
BODY_LIMIT = 20 * 1024 * 1024  # a whole create request over this is refused
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding


class ImageRejected(ValueError):
    """The file isn't an image Vidu takes; the message says why, for a creator.

    Messages about one image start with "The image", so a caller can name which one.
    """


@dataclass(frozen=True)
class ImageInfo:
    mime: str
    width: int
    height: int

    @property
    def ratio(self) -> float:
        return self.width / self.height


def inspect(data: bytes) -> ImageInfo:
    """Check that ``data`` is a png, jpeg or webp of at least 128x128 within 1:4..4:1."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt, (width, height) = img.format, img.size
                if width * height > MAX_PIXELS:
                    raise ImageRejected(f"The image is too large ({width}x{height} pixels).")
                img.verify()
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise ImageRejected("The image isn't a png, jpeg or webp file we can read.") from None
    if fmt not in FORMATS:
        raise ImageRejected(f"The image is a {fmt} file; use png, jpeg or webp.")
    problems = []
    if width < MIN_SIDE or height < MIN_SIDE:
        problems.append(f"each side must be at least {MIN_SIDE} pixels (at least {MIN_SIDE}x{MIN_SIDE})")
    if max(width / height, height / width) > MAX_RATIO:
        problems.append("its sides must be within 1:4 of each other")
    if problems:
        raise ImageRejected(f"The image is {width}x{height} pixels: {' and '.join(problems)}.")
    return ImageInfo(FORMATS[fmt], width, height)


def check_start_end(first: ImageInfo, last: ImageInfo) -> None:
    """Start and end frames must have width/height ratios within 0.8-1.25 of each other."""
    if not 0.8 <= first.ratio / last.ratio <= 1.25:
        raise ImageRejected("The first and last frames must have about the same shape (ratios within 0.8 to 1.25).")


def to_data_uri(data: bytes, budget: int = BODY_LIMIT) -> str:
    """``data`` as a data URI no longer than ``budget`` characters, scaled down if needed."""
    info = inspect(data)
    uri = _uri(info.mime, data)
    if len(uri) <= budget:
        return uri
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        img = img.convert("RGB") if img.mode not in ("RGB", "L") else img
        scale = (budget * 0.7 / len(uri)) ** 0.5  # base64 grows ~4/3; aim under budget
        for _ in range(6):
            size = (max(MIN_SIDE, int(img.width * scale)), max(MIN_SIDE, int(img.height * scale)))
            out = io.BytesIO()
            img.resize(size, Image.LANCZOS).save(out, "JPEG", quality=88)
            uri = _uri("image/jpeg", out.getvalue())
            if len(uri) <= budget:
                return uri
            scale *= 0.7
    raise ImageRejected("The image is too large to send, even scaled down.")


def _uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def decode_data_uri(uri: str) -> bytes:
    """The bytes of a base64 data URI (as sent in ``images``)."""
    head, _, body = uri.partition(",")
    if not head.startswith("data:") or ";base64" not in head:
        raise ImageRejected("Not a base64 data URI.")
    try:
        return base64.b64decode(body, validate=False)
    except ValueError:
        raise ImageRejected("The data URI isn't valid base64.") from None
