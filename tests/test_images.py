"""vidu/images.py: an image is accepted only once its pixels decode, within a pixel bound."""

import io
import struct
import zlib

import pytest
from PIL import Image

from tests.studio_helpers import png
from vidu_web.vidu import images


def forged_png(width, height):
    """A tiny PNG whose header claims ``width`` x ``height`` but holds almost no pixel data.

    Every chunk's CRC is right, so Pillow's header and ``verify()`` accept it."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


def test_a_forged_7000x7000_png_is_refused_with_a_clear_message():
    data = forged_png(7000, 7000)
    assert len(data) < 80
    with pytest.raises(images.ImageRejected, match=r"too large \(7000x7000 pixels\); use one of at most 16 megapixels"):
        images.inspect(data)


def test_a_png_whose_pixels_are_missing_is_refused_even_when_small_enough():
    with pytest.raises(images.ImageRejected, match="png, jpeg or webp file we can read"):
        images.inspect(forged_png(1000, 1000))


def test_a_truncated_jpeg_is_refused():
    data = png(600, 400, fmt="JPEG")
    with pytest.raises(images.ImageRejected, match="we can read"):
        images.inspect(data[: len(data) // 2])


def test_a_large_jpeg_is_decoded_at_a_reduced_scale():
    # 20 MP: more than MAX_PIXELS at full size; a JPEG decodes at 1/2 scale instead
    out = io.BytesIO()
    Image.new("RGB", (5000, 4000), (10, 20, 30)).save(out, "JPEG", quality=50)
    assert images.inspect(out.getvalue()) == images.ImageInfo("image/jpeg", 5000, 4000)


def test_it_reads_an_open_file_as_well_as_bytes(tmp_path):
    path = tmp_path / "frame.png"
    path.write_bytes(png(300, 200))
    with path.open("rb") as fh:
        assert images.inspect(fh) == images.ImageInfo("image/png", 300, 200)
