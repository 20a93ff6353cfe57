"""The loader's common case, fast: a plain 8-bit grayscale PNG decoded by OpenCV.

Most scans (HC18, most exports) are plain 8-bit grayscale PNGs. OpenCV's libpng decodes them
about a fifth faster than Pillow, and without Pillow's copies. "Plain" means nothing Pillow
would read differently from the bare pixel values: one image (no animation), 8 bits, gray, not
interlaced, and only chunks that change no pixel and say nothing about orientation (no EXIF,
no text, which may hold EXIF or XMP, no transparency), each with its checksum right. Anything
else, and anything libpng refuses, is read by Pillow as before, so a damaged file gets the
same message.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Chunks that change no pixel value, in either reader, and hold no orientation.
PLAIN_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND", b"pHYs", b"tIME", b"gAMA", b"sRGB",
                          b"cHRM", b"iCCP", b"sBIT"})
#: Bytes allowed beyond twice the raw pixel data (ancillary chunks, an ICC profile): a larger
#: file is left to Pillow, which reads no more of it than it needs.
SPARE_BYTES = 1 << 20
_HEADER_BYTES = len(SIGNATURE) + 8 + 13 + 4  # the signature and the IHDR chunk


def _chunk_ok(data: bytes, at: int) -> tuple[bytes, int] | None:
    """The kind and end of the chunk at ``at`` when it is whole, plain and its CRC right."""
    if at + 12 > len(data):
        return None
    length, kind = struct.unpack_from(">I4s", data, at)
    end = at + 8 + length
    if kind not in PLAIN_CHUNKS or end + 4 > len(data) \
            or zlib.crc32(data[at + 4:end]) != struct.unpack_from(">I", data, end)[0]:
        return None
    return kind, end + 4


def _gray8_shape(head: bytes) -> tuple[int, int] | None:
    """(rows, cols) when ``head`` starts a non-interlaced 8-bit grayscale PNG."""
    if not head.startswith(SIGNATURE) or _chunk_ok(head, len(SIGNATURE)) != (b"IHDR",
                                                                             _HEADER_BYTES):
        return None
    cols, rows, depth, colour, _, _, interlace = struct.unpack_from(">IIBBBBB", head, 16)
    return (rows, cols) if (depth, colour, interlace) == (8, 0, 0) else None


def _only_plain_chunks(data: bytes) -> bool:
    at = len(SIGNATURE)
    while (chunk := _chunk_ok(data, at)) is not None:
        kind, at = chunk
        if kind == b"IEND":
            return True
    return False


def read_plain_gray_png(path: Path, max_pixels: int, min_side: int) -> np.ndarray | None:
    """The pixels of ``path`` when it is a plain 8-bit grayscale PNG of at most ``max_pixels``
    and sides of at least ``min_side``, else None: the caller reads it the general way (and
    refuses a size or a damaged file with its own message)."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER_BYTES)
            shape = _gray8_shape(head)
            if shape is None or shape[0] * shape[1] > max_pixels or min(shape) < min_side:
                return None
            limit = 2 * shape[0] * (shape[1] + 1) + SPARE_BYTES
            data = head + f.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit or not _only_plain_chunks(data):
        return None
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    ok = pixels is not None and pixels.shape == shape and pixels.dtype == np.uint8
    return pixels if ok else None
