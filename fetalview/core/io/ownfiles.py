"""How fetalview recognises the files it wrote, by their content rather than their name.

Masks and overlays are PNGs like the scans beside them; without a mark, a folder that holds
both would offer fetalview's own outputs as scans to measure (and a renamed output would pass
for a scan). PNGs carry a text chunk, reports the PDF creator fetalview, DICOM results
(``--dicom-out``'s SR and annotated image) Software Versions 'fetalview ...'.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from fetalview import __version__

#: The PNG text keyword that marks fetalview's own images (its value is the role: mask, ...).
PNG_KEY = b"fetalview"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PDF_CREATOR = (b"/Creator (\xfe\xff" + "fetalview".encode("utf-16-be"), b"/Creator (fetalview")
#: How far into a PNG to look for the mark (written right after the header), and how much of
#: each end of a PDF to search for its creator (Qt writes the document information at the end).
_PNG_HEAD_BYTES = 4096
_PDF_END_BYTES = 65536
#: DICOM Software Versions (0018,1020), little endian, and how far into a file to look for it.
_SOFTWARE_VERSIONS = b"\x18\x00\x20\x10"
_DICOM_HEAD_BYTES = 16384


def mark_png(data: bytes, role: str) -> bytes:
    """The PNG ``data`` with text chunks Software='fetalview <version>' and fetalview=<role>
    right after its header, where ``is_own_output`` looks for them."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    header_end = 8 + 12 + struct.unpack(">I", data[8:12])[0]
    chunks = b"".join(_png_chunk(b"tEXt", key + b"\0" + value.encode("latin-1"))
                      for key, value in ((b"Software", f"fetalview {__version__}"),
                                         (PNG_KEY, role)))
    return data[:header_end] + chunks + data[header_end:]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def is_own_output(path: Path) -> bool:
    """Whether ``path`` is a file fetalview wrote (a marked PNG, a report PDF), judged by its
    content, not its name: a user's scan named like an output is still a scan."""
    try:
        with open(path, "rb") as f:
            head = f.read(_PNG_HEAD_BYTES)
            if head[128:132] == b"DICM":
                return _dicom_by_fetalview(head + f.read(_DICOM_HEAD_BYTES - len(head)))
            if head.startswith(b"%PDF"):
                f.seek(max(f.seek(0, 2) - _PDF_END_BYTES, 0))
                ends = head + f.read(_PDF_END_BYTES)
                return any(c in ends for c in _PDF_CREATOR)
    except OSError:
        return False
    if not head.startswith(_PNG_SIGNATURE):
        return False
    at = 8
    while at + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[at:at + 8])
        if kind == b"IDAT":
            return False
        if kind == b"tEXt" and head[at + 8:at + 8 + length].split(b"\0", 1)[0] == PNG_KEY:
            return True
        at += 12 + length
    return False


def _dicom_by_fetalview(head: bytes) -> bool:
    """Whether the Software Versions element near the start of a DICOM names fetalview."""
    at = head.find(_SOFTWARE_VERSIONS, 132)
    if at < 0 or at + 8 > len(head):
        return False
    if head[at + 4:at + 6] == b"LO":  # explicit VR: 2-byte length
        length, start = struct.unpack("<H", head[at + 6:at + 8])[0], at + 8
    else:  # implicit VR: 4-byte length
        length, start = struct.unpack("<I", head[at + 4:at + 8])[0], at + 8
    return head[start:start + length].startswith(b"fetalview")
