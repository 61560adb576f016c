"""Checking input images against Vidu's rules and turning them into data URIs (vidu-api.md §2).

Every image is decoded before it is accepted: Pillow's header and ``verify()`` pass a file whose
pixels are missing (a 69-byte PNG can claim 7000x7000). Decoding is bounded so that checking
the largest allowed create stays well under design.md's memory bar: at most ``MAX_PIXELS``
(Pillow holds 4 bytes a pixel, so 64 MB at most), and a larger JPEG is decoded at 1/2, 1/4 or
1/8 scale (its format allows that without reading the whole picture into memory at full size).
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MIN_SIDE = 128
MAX_RATIO = 4.0
# Start and end frames: width/height ratios within this range of each other.
PAIR_RATIO = (0.8, 1.25)
BODY_LIMIT = 20 * 1024 * 1024  # a whole create request over this is refused
MAX_PIXELS = 16_000_000  # decoded at full size: 4000x4000
MAX_JPEG_PIXELS = 80_000_000  # decoded at 1/2 to 1/8 scale; under Pillow's bomb limit (89 MP)


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


UNREADABLE = "The image isn't a png, jpeg or webp file we can read."
BAD_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombWarning,
              Image.DecompressionBombError)


def inspect(data: bytes | BinaryIO) -> ImageInfo:
    """Check that ``data`` (bytes or a binary file) is a png, jpeg or webp of at least 128x128
    within 1:4..4:1, whose pixels decode. A file is read from where it is and left open."""
    source = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    start = source.tell()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                fmt, (width, height) = img.format, img.size
                if fmt not in FORMATS:
                    raise ImageRejected(f"The image is a {fmt} file; use png, jpeg or webp.")
                _check_pixels(fmt, width, height)
                img.verify()
            source.seek(start)
            with Image.open(source) as img:
                _decode(img)
    except ImageRejected:
        raise
    except BAD_ERRORS:
        raise ImageRejected(UNREADABLE) from None
    problems = []
    if width < MIN_SIDE or height < MIN_SIDE:
        problems.append(f"each side must be at least {MIN_SIDE} pixels (at least {MIN_SIDE}x{MIN_SIDE})")
    if max(width / height, height / width) > MAX_RATIO:
        problems.append("its sides must be within 1:4 of each other")
    if problems:
        raise ImageRejected(f"The image is {width}x{height} pixels: {' and '.join(problems)}.")
    return ImageInfo(FORMATS[fmt], width, height)


def _check_pixels(fmt: str, width: int, height: int) -> None:
    limit = MAX_JPEG_PIXELS if fmt == "JPEG" else MAX_PIXELS
    if width * height > limit:
        raise ImageRejected(
            f"The image is too large ({width}x{height} pixels); "
            f"use one of at most {limit // 1_000_000} megapixels."
        )


def _decode(img: Image.Image) -> None:
    """Decode every pixel (a truncated or forged file fails here), within MAX_PIXELS."""
    width, height = img.size
    if img.format == "JPEG" and width * height > MAX_PIXELS:
        scale = next(s for s in (2, 4, 8) if width * height <= MAX_PIXELS * s * s)
        img.draft(img.mode, (-(-width // scale), -(-height // scale)))
    img.load()


def check_start_end(first: ImageInfo, last: ImageInfo) -> None:
    """Start and end frames must have width/height ratios within 0.8-1.25 of each other."""
    low, high = PAIR_RATIO
    if not low <= first.ratio / last.ratio <= high:
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
