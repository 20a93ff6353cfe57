r"""Text taken from file names into places that must be text: the screen, CSV files, PDFs.

A file system holds names that are not UTF-8 (a Latin-1 ``é`` from an old scanner's share);
Python keeps their bytes as lone surrogates, which open the file but cannot be encoded. On
screen such a name gets a replacement character for each undecodable byte; the path itself
keeps the real bytes to open the file. A CSV names each scan so that the name leads back to
the very file (``scan_names``): a byte that is not UTF-8 is written ``\xNN`` (``\xe9``), as is
each byte of a character that would act rather than show (ESC, which a terminal obeys, a line
break, a direction override), and a backslash ``\\``; nothing else is changed, so the name's
bytes can be had back. Every other CSV cell gets the same ``\xNN`` for such characters (never a
raw ESC), without the backslash rule.

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
import unicodedata
from collections.abc import Iterable
from pathlib import Path, PurePath

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
#: Unicode categories of what acts instead of showing: controls, format characters (direction
#: overrides), lone surrogates (the bytes of a non-UTF-8 name), line and paragraph separators.
_HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def printable(text: str) -> str:
    """``text`` with each byte that a non-UTF-8 file name kept as a surrogate shown as U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        return text.encode("utf-8", "replace").decode("utf-8")


def display_name(path: str | os.PathLike) -> str:
    """A path's file name as text that can always be shown, printed and written."""
    return printable(os.path.basename(os.fspath(path)) or os.fspath(path))


def _hex(char: str) -> str:
    try:
        data = char.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        data = char.encode("utf-8", "surrogatepass")
    return "".join(f"\\x{byte:02x}" for byte in data)


def visible(text: str, backslash: bool = False) -> str:
    r"""``text`` with each hidden character (``_HIDDEN``: ESC, a line break, a non-UTF-8 byte)
    written ``\xNN``, byte by byte; ``backslash`` also writes ``\`` as ``\\``, so that the
    text can be read back to the very bytes."""
    if text.isprintable() and not (backslash and "\\" in text):
        return text
    return "".join("\\\\" if char == "\\" and backslash
                   else _hex(char) if unicodedata.category(char) in _HIDDEN else char
                   for char in text)


def scan_names(paths: list[Path]) -> list[str]:
    r"""How a CSV names each scan: its path relative to the folder that holds all of them (its
    file name when they share one folder, ``a/x.png`` and ``b/x.png`` for two ``x.png`` in two
    folders; the absolute path when nothing but the root holds them all), ``/`` between the
    parts, written by ``visible(..., backslash=True)``."""
    absolute = [PurePath(os.path.abspath(p)) for p in paths]
    try:
        common = PurePath(os.path.commonpath([p.parent for p in absolute])) if absolute else None
    except ValueError:  # Windows drives: nothing holds them all
        common = None
    names = []
    for path in absolute:
        if common is None or common == PurePath(common.anchor):
            parts = [path.as_posix()]
        else:
            parts = path.relative_to(common).parts
        names.append("/".join(visible(part, backslash=True) for part in parts))
    return names


def csv_cell(value: str) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula, and that holds no
    hidden character (``visible``); numbers stay numbers (``-12.5`` is an angle, not a
    formula)."""
    value = visible(str(value))
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
