"""Exports: the annotated PNG (and clipboard image) and the folder's CSV.

The image is the core's overlay, the same one ``fetalview measure --overlays`` writes, so a
clinician's export and a batch export say the same things. Files are written atomically: a
failed export (a read-only folder, a full disk) leaves nothing half-written and changes
nothing in the app.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from fetalview.core.io.outputs import write_atomic
from fetalview.core.io.ownfiles import mark_png
from fetalview.core.io.safetext import csv_table
from fetalview.core.measure.biometry import OUTER_OUTER
from fetalview.core.record.result import ScanResult
from fetalview.core.results import overlay
from fetalview.core.results.tables import EXPORT_CSV_COLUMNS
from fetalview.gui.document import ScanDocument
from fetalview.report.list_pdf import ListedScan, list_report_pdf


class ExportError(Exception):
    """An export could not be written; the message says where and why."""


def result(document: ScanDocument | None, when: datetime | None = None,
           convention: str = OUTER_OUTER) -> ScanResult:
    """The record of the scan shown, which every export of it renders."""
    if document is None:
        raise ExportError("No scan is open: there is nothing to export yet.")
    r = document.result(convention, when=when)
    if not r.measured:
        raise ExportError(f"{r.name} has no head contour to export yet.")
    return r


def warnings(document: ScanDocument | None, convention: str = OUTER_OUTER) -> list[str]:
    """What an export highlights above its caption."""
    return result(document, convention=convention).warnings


def caption(document: ScanDocument | None, when: datetime | None = None,
            convention: str = OUTER_OUTER) -> list[str]:
    """What an export of the shown scan says, its name first."""
    r = result(document, when, convention)
    return [r.name] + r.caption()


def annotated_image(document: ScanDocument | None, when: datetime | None = None,
                    convention: str = OUTER_OUTER) -> np.ndarray:
    """The full-resolution BGR overlay of the shown contour and calipers, caption below."""
    return overlay.annotated_image(result(document, when, convention), document.scan.pixels,
                                   named=True)


def _write(path: Path, data: bytes) -> None:
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}. Nothing was "
                          "changed; choose another folder.") from None


def save_png(image: np.ndarray, path: Path) -> None:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ExportError(f"Cannot encode the image for {path}")
    _write(Path(path), mark_png(encoded.tobytes(), "export"))  # never listed as a scan


def free_path(path: Path) -> Path:
    """``path``, or ``name-2.ext``, ``name-3.ext``... the first that names no file: an export
    never replaces anything (an earlier export, or a file the user keeps there)."""
    candidate, n = Path(path), 1
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


#: ``status`` of a scan whose saved measurement was refused: its figures were not the scan's.
SET_ASIDE_STATUS = ("not measured: its saved measurement was made on other pixels (the scan "
                    "replaced since, or the measurement copied from another scan) and is set "
                    "aside; open the scan to measure it")


def save_list_report(scans: list[ListedScan], path: Path, title: str) -> None:
    """Write the list report (``report.list_pdf``); ExportError when it cannot be written."""
    _write(Path(path), list_report_pdf(scans, title))


def save_csv(rows: Iterable[dict[str, str]], path: Path) -> int:
    """Write the rows (cells made safe as in every fetalview CSV); returns how many. Raises
    ExportError when the file cannot be written."""
    rows = list(rows)
    _write(Path(path), csv_table(EXPORT_CSV_COLUMNS, rows))
    return len(rows)
