"""Text taken from file names into places that must be text: the screen, CSV files, PDFs.

A file system holds names that are not UTF-8 (a Latin-1 ``é`` from an old scanner's share);
Python keeps their bytes as lone surrogates, which open the file but cannot be encoded. Shown
or written, such a name gets a replacement character for each undecodable byte; the path itself
keeps the real bytes to open the file.

A name or a status beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a
formula to a spreadsheet (OWASP's CSV injection): ``csv_cell`` puts a single quote before it.
Every CSV fetalview writes (the batch's results, the HC18 submission, the app's export) is made
of ``csv_line``s.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def printable(text: str) -> str:
    """``text`` with each byte that a non-UTF-8 file name kept as a surrogate shown as U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        return text.encode("utf-8", "replace").decode("utf-8")


def display_name(path: str | os.PathLike) -> str:
    """A path's file name as text that can always be shown, printed and written."""
    return printable(os.path.basename(os.fspath(path)) or os.fspath(path))


def csv_cell(value: str) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula; numbers stay
    numbers (``-12.5`` is an angle, not a formula)."""
    value = printable(str(value))
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_line(values: Iterable[str]) -> bytes:
    """One CSV record, made safe cell by cell, as UTF-8 bytes."""
    text = io.StringIO()
    csv.writer(text).writerow([csv_cell(v) for v in values])
    return text.getvalue().encode("utf-8")


def csv_table(columns: list[str], rows: Iterable[dict[str, str]]) -> bytes:
    """A whole CSV: the header, then each row's ``columns``."""
    return csv_line(columns) + b"".join(csv_line(r[c] for c in columns) for r in rows)
