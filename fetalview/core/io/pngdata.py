"""Whether a PNG holds all the image data its header promises.

Pillow fills the rows of a PNG whose compressed data ends early, but cleanly, with black and
says nothing: a scan cut short in a copy or a transfer would be measured with part of its
picture missing. libpng refuses such a file; this check gives the loader's Pillow path the
same refusal, by inflating the default image's data (IDAT) and counting its bytes against the
size, depth, colour type and interlacing in the header.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Samples per pixel of each PNG colour type (gray, RGB, palette, gray+alpha, RGBA).
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Adam7 passes: first column, first row, column step, row step.
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))
_READ = 1 << 20


def expected_bytes(width: int, height: int, depth: int, colour: int, interlace: int) -> int:
    """The inflated size of the image data: each row of each pass with its filter byte."""
    bits = depth * _CHANNELS[colour]
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        cols = (width - x0 + dx - 1) // dx if width > x0 else 0
        rows = (height - y0 + dy - 1) // dy if height > y0 else 0
        if cols and rows:
            total += rows * (1 + (cols * bits + 7) // 8)
    return total


def image_data_complete(path: Path) -> bool:
    """False when ``path`` is a PNG whose image data inflates to fewer bytes than its header
    promises; True otherwise (also for a file that is no PNG, or whose header this cannot read:
    those are the reader's to refuse)."""
    with open(path, "rb") as f:
        if f.read(len(SIGNATURE)) != SIGNATURE:
            return True
        length, kind = struct.unpack(">I4s", f.read(8).rjust(8, b"\0"))
        header = f.read(length)
        f.read(4)
        if kind != b"IHDR" or len(header) != 13:
            return True
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
        if colour not in _CHANNELS:
            return True
        wanted = expected_bytes(width, height, depth, colour, interlace)
        inflate, got = zlib.decompressobj(), 0
        while got < wanted:
            head = f.read(8)
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I4s", head)
            if kind == b"IEND":
                break
            if kind != b"IDAT":
                f.seek(length + 4, 1)
                continue
            left = length
            while left and got < wanted:
                block = f.read(min(left, _READ))
                if not block:
                    return False
                left -= len(block)
                try:  # never inflate more than the header promises (a zip bomb stops here)
                    got += len(inflate.decompress(block, wanted - got + 1))
                except zlib.error:
                    return True  # damaged data: Pillow refuses it with its own message
            f.seek(left + 4, 1)
    return got >= wanted
