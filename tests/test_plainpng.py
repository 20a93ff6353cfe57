"""The fast reader of plain 8-bit grayscale PNGs gives exactly what Pillow gives, and leaves
every other PNG (and every damaged one) to Pillow."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fetalview.core.io import scans as imageio
from fetalview.core.io.scans import MAX_PIXELS, MIN_SIDE, load_scan
from fetalview.core.io.plainpng import read_plain_gray_png

PIXELS = np.random.default_rng(0).integers(0, 256, (64, 96), dtype=np.uint8)
#: One body for each chunk the fast reader accepts besides the image data.
ANCILLARY = {
    b"pHYs": struct.pack(">IIB", 3780, 3780, 1),
    b"tIME": struct.pack(">HBBBBB", 2026, 11, 27, 9, 30, 0),
    b"gAMA": struct.pack(">I", 100000),  # gamma 1.0: a reader applying it would change pixels
    b"sRGB": b"\0",
    b"cHRM": struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000),
    b"iCCP": b"profile\0\0" + zlib.compress(b"not applied by either reader"),
    b"sBIT": b"\x05",  # 5 significant bits: a reader shifting by it would change pixels
}


def _png(image: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", **kw)
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _after_header(png: bytes, *chunks: bytes) -> bytes:
    return png[:33] + b"".join(chunks) + png[33:]


def _write(tmp_path, data: bytes):
    path = tmp_path / "scan.png"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", [None, *ANCILLARY])
def test_a_plain_gray_png_loads_as_pillow_reads_it(tmp_path, monkeypatch, kind):
    png = _png(Image.fromarray(PIXELS))
    path = _write(tmp_path, png if kind is None else _after_header(png, _chunk(kind,
                                                                               ANCILLARY[kind])))
    assert read_plain_gray_png(path, MAX_PIXELS, MIN_SIDE) is not None  # the fast path
    fast = load_scan(path)
    monkeypatch.setattr(imageio, "read_plain_gray_png", lambda *args: None)
    pillow = load_scan(path)
    assert np.array_equal(fast.pixels, PIXELS) and np.array_equal(pillow.pixels, PIXELS)
    assert (fast.description, fast.notes) == (pillow.description, pillow.notes) == \
        ("8-bit L PNG", ())


def _exif_upside_down() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 3
    return _png(Image.fromarray(PIXELS), exif=exif.tobytes())


def _bad_crc() -> bytes:
    png = bytearray(_png(Image.fromarray(PIXELS)))
    png[-13] ^= 1  # the last byte of the image data's checksum
    return bytes(png)


LEFT_TO_PILLOW = {
    "transparency": lambda: _png(Image.fromarray(PIXELS), transparency=7),
    "text": lambda: _after_header(_png(Image.fromarray(PIXELS)),
                                  _chunk(b"tEXt", b"Comment\0hello")),
    "EXIF orientation": _exif_upside_down,
    "16-bit": lambda: _png(Image.fromarray(PIXELS.astype(np.uint16) * 257)),
    "colour": lambda: _png(Image.fromarray(np.dstack([PIXELS] * 3))),
    "palette": lambda: _png(Image.fromarray(PIXELS).convert("P")),
    "animation": lambda: _png(Image.fromarray(PIXELS), save_all=True,
                              append_images=[Image.fromarray(255 - PIXELS)]),
    "a wrong checksum": _bad_crc,
    "cut short": lambda: _png(Image.fromarray(PIXELS))[:-20],
    "too small": lambda: _png(Image.fromarray(PIXELS[:10])),
}


@pytest.mark.parametrize("name", LEFT_TO_PILLOW)
def test_every_other_png_is_left_to_pillow(tmp_path, name):
    assert read_plain_gray_png(_write(tmp_path, LEFT_TO_PILLOW[name]()), MAX_PIXELS,
                               MIN_SIDE) is None


def test_an_upside_down_png_is_still_turned_upright(tmp_path):
    scan = load_scan(_write(tmp_path, _exif_upside_down()))
    assert np.array_equal(scan.pixels, PIXELS[::-1, ::-1])
    assert "EXIF orientation" in scan.description
