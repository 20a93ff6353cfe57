"""A PNG cut short (its compressed data ending cleanly before the last row) is refused, where
Pillow alone would fill the missing rows with black and the scan would be measured."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fetalview.core.io.scans import ScanLoadError, load_scan
from fetalview.core.io.pngdata import expected_bytes, image_data_complete


def _chunks(data: bytes):
    at = 8
    while at < len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        yield kind, data[at + 8:at + 8 + length]
        at += 12 + length


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _cut(data: bytes, drop: int) -> bytes:
    """The same PNG with the last ``drop`` bytes of its inflated image data gone, recompressed
    cleanly, every checksum right: only the count of bytes tells it is short."""
    raw = zlib.decompress(b"".join(body for kind, body in _chunks(data) if kind == b"IDAT"))
    out, written = data[:8], False
    for kind, body in _chunks(data):
        if kind == b"IDAT":
            if not written:
                out += _chunk(b"IDAT", zlib.compress(raw[:-drop]))
                written = True
            continue
        out += _chunk(kind, body)
    return out


MODES = {"L": np.uint8, "RGB": np.uint8, "RGBA": np.uint8, "P": np.uint8, "I;16": np.uint16,
         "LA": np.uint8, "1": bool}


@pytest.mark.parametrize("mode", MODES)
def test_whole_pngs_pass_and_cut_ones_are_refused(tmp_path, mode):
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 255, (120, 97, 3), np.uint8)).convert(mode) \
        if mode != "I;16" else Image.fromarray(rng.integers(0, 65535, (120, 97), np.uint16))
    whole = tmp_path / f"whole_{mode.replace(';', '')}.png"
    image.save(whole)
    assert image_data_complete(whole)
    load_scan(whole)
    data = whole.read_bytes()
    cut = tmp_path / "cut.png"
    for drop in (1, 200):
        cut.write_bytes(_cut(data, drop))
        assert not image_data_complete(cut)
        with pytest.raises(ScanLoadError, match="ends before its last row"):
            load_scan(cut)


def test_interlaced_sizes_count_each_pass():
    # 8x8, 8-bit gray, Adam7: passes of 1x1, 1x1, 2x1, 2x2, 4x2, 4x4, 8x4 pixels, each row
    # with its filter byte
    assert expected_bytes(8, 8, 8, 0, 1) == 2 + 2 + 3 + 6 + 10 + 20 + 36
    # sizes libpng wrote (ImageMagick, -interlace PNG), inflated and counted
    assert expected_bytes(13, 7, 16, 0, 1) == 196 and expected_bytes(9, 17, 16, 2, 1) == 952
    assert expected_bytes(300, 200, 16, 2, 1) == 360375
    assert expected_bytes(3, 2, 1, 0, 0) == 2 * (1 + 1)  # 1-bit rows round up to a byte


def test_a_zip_bomb_is_not_inflated_past_the_header(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 100, 100, 8, 0, 0, 0, 0)
    bomb = zlib.compress(b"\0" * (200 * 1024 * 1024), 9)  # 200 MB of zeros in ~200 kB
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", bomb)
                     + _chunk(b"IEND", b""))
    assert image_data_complete(path)  # more than promised is not "cut short"
