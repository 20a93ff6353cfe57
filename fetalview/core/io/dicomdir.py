"""DICOMDIR: the index a CD, USB stick or PACS export writes at the root of a DICOM folder.

Its images lie in sub-folders (DICOM/PAT1/STU1/IM1), usually without a suffix, so a folder
listing finds none of them; the index names each one. Only files inside the DICOMDIR's own
folder are followed: a record naming ``..`` leads nowhere. pydicom is imported only when an
index is read: every folder listing asks ``is_dicomdir``, and the app's window imports this
module before it lists anything.
"""

from __future__ import annotations

from pathlib import Path

NAME = "DICOMDIR"


class DicomDirError(Exception):
    """The DICOMDIR cannot be read; the message is meant for the user."""


def is_dicomdir(path: Path) -> bool:
    return path.name.upper() == NAME


def find(folder: Path) -> Path | None:
    """The folder's DICOMDIR file, whatever the case of its name."""
    return next((p for p in Path(folder).iterdir() if is_dicomdir(p) and p.is_file()), None)


def referenced_images(dicomdir: Path) -> list[Path]:
    """The image files the index names (records with a Referenced File ID), in its order."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    root = dicomdir.parent.resolve()
    try:
        ds = pydicom.dcmread(dicomdir)
        records = list(ds.DirectoryRecordSequence)
    except AttributeError:
        raise DicomDirError(f"{dicomdir.name}: not a DICOMDIR index (no directory records)") from None
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise DicomDirError(f"{dicomdir.name}: the DICOMDIR cannot be read ({exc})") from None
    found = []
    for record in records:
        if str(record.get("DirectoryRecordType", "")).upper() != "IMAGE":
            continue
        parts = record.get("ReferencedFileID")
        if not parts:
            continue
        parts = [parts] if isinstance(parts, str) else list(parts)
        path = root.joinpath(*(str(p).strip() for p in parts))
        if path.resolve().is_relative_to(root):
            found.append(path)
    return found
