"""How fetalview recognises the files it wrote, by their content rather than their name.

Masks and overlays are PNGs like the scans beside them; without a mark, a folder that holds
both would offer fetalview's own outputs as scans to measure (and a renamed output would pass
for a scan). PNGs carry a text chunk, reports the PDF creator fetalview, DICOM results
(``--dicom-out``'s SR and annotated image) Software Versions 'fetalview ...', found by
parsing the header (however long: a scan's patient and study attributes, copied into the
results, can fill more than any fixed number of bytes).
"""

from __future__ import annotations

import struct
import warnings
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
#: DICOM Software Versions (0018,1020).
_SOFTWARE_VERSIONS = 0x00181020  # the tag (0018,1020), as pydicom's tags compare


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
                return _dicom_by_fetalview(f)
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


def _dicom_by_fetalview(f) -> bool:
    """Whether the Software Versions element of the DICOM file ``f`` names fetalview. The
    header is parsed up to that element only (elements come in tag order); large values are
    skipped, not read. pydicom is imported here, when a DICOM is met: listing a folder of
    PNGs, the window and the batch start without it."""
    from pydicom.filereader import read_partial
    from pydicom.multival import MultiValue

    f.seek(0)
    try:
        with warnings.catch_warnings():  # a scan's odd header is no concern of this question
            warnings.simplefilter("ignore")
            ds = read_partial(f, stop_when=lambda tag, vr, length: tag > _SOFTWARE_VERSIONS,
                              defer_size=1024, specific_tags=[_SOFTWARE_VERSIONS])
            value = ds.get("SoftwareVersions", "")
    except Exception:  # noqa: BLE001 - pydicom raises many kinds; a damaged header is no output
        return False
    if isinstance(value, MultiValue):
        value = value[0] if value else ""
    return str(value or "").startswith("fetalview")
