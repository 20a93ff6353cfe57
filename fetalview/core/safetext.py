"""Text taken from file names into places that must be text: the screen, CSV files, PDFs.

A file system holds names that are not UTF-8 (a Latin-1 ``é`` from an old scanner's share);
Python keeps their bytes as lone surrogates, which open the file but cannot be encoded. Shown
or written, such a name gets a replacement character for each undecodable byte; the path itself
keeps the real bytes to open the file.
"""

from __future__ import annotations

import os


def printable(text: str) -> str:
    """``text`` with each byte that a non-UTF-8 file name kept as a surrogate shown as U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        return text.encode("utf-8", "replace").decode("utf-8")


def display_name(path: str | os.PathLike) -> str:
    """A path's file name as text that can always be shown, printed and written."""
    return printable(os.path.basename(os.fspath(path)) or os.fspath(path))
