"""A guard against a reference-count bug of PySide6 6.12 on Python 3.11 and older.

PySide6 6.12.0 returns ``None`` from its void methods (``setText``, ``processEvents``, every
setter) without taking a reference, so each call lowers ``None``'s reference count by one. A
few hundred handle drags later the count reaches zero and Python aborts with "Fatal Python
error: none_dealloc: deallocating None", taking the open app with it. Python 3.12 made
``None``, ``True`` and ``False`` immortal (PEP 683), which hides the bug; this does the same on
older Pythons by raising their counts so far that no session can wear them down.
"""

from __future__ import annotations

import ctypes
import sys

MARGIN = 1 << 40  # a trillion unbalanced calls


def immortalize_singletons() -> bool:
    """Raise the reference counts of None, True and False by ``MARGIN`` (once, CPython < 3.12).

    Returns whether it did. The count is written only after checking that the object's first
    field really is its reference count (a debug build lays objects out differently).
    """
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" \
            or getattr(sys, "_fetalview_immortal", False):
        return False
    cells = []
    for obj in (None, True, False):
        cell = ctypes.c_ssize_t.from_address(id(obj))
        if abs(cell.value - (sys.getrefcount(obj) - 1)) > 2:
            return False  # not the layout we know: leave everything as it is
        cells.append(cell)
    for cell in cells:
        cell.value += MARGIN
    sys._fetalview_immortal = True
    return True
