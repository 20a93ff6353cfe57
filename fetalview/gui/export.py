"""Exports: the annotated PNG (and clipboard image) and the folder's CSV.

The image is the core's overlay, the same one ``fetalview measure --overlays`` writes, so a
clinician's export and a batch export say the same things. Files are written atomically: a
failed export (a read-only folder, a full disk) leaves nothing half-written and changes
nothing in the app.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from ..core.batch import CSV_COLUMNS, result_row
from ..core.growth import growth_lines, saved_ga
from ..core.measurement import measure
from ..core.outputs import write_atomic
from ..core.overlay import caption_lines, render_overlay
from ..core.ownfiles import mark_png
from ..core.safetext import csv_table, display_name
from ..core.sidecar import Annotation
from .document import ScanDocument, review_needed, scan_state

EXPORT_CSV_COLUMNS = CSV_COLUMNS + ["edited"]


class ExportError(Exception):
    """An export could not be written; the message says where and why."""


def caption(document: ScanDocument | None, when: datetime | None = None) -> list[str]:
    """What the exported image says: the measurement, GA and percentile where known, and
    everything they rest on."""
    if document is None:
        raise ExportError("No scan is open: there is nothing to export yet.")
    return caption_of(display_name(document.path), document.annotation, when)


def caption_of(name: str, a: Annotation, when: datetime | None = None) -> list[str]:
    """``caption`` of a saved annotation of the scan named ``name`` (the PACS sender reads
    scans that are not open)."""
    if a.ellipse is None:
        raise ExportError(f"{name} has no head contour to export yet.")
    m = measure(a.ellipse, a.pixel_size)
    lines = caption_lines(m, edited=a.edited,
                          model_version=a.model_version or "none (drawn by hand)", when=when,
                          extra=growth_lines(m.hc if m.in_mm else None, saved_ga(a.extra)))
    reasons = review_needed(a)
    if reasons:
        lines.insert(0, "REVIEW: " + ", ".join(reasons))
    lines.insert(0, name)
    return lines


def annotated_image(document: ScanDocument | None, when: datetime | None = None) -> np.ndarray:
    """The full-resolution BGR overlay of the shown contour with its caption."""
    lines = caption(document, when)
    return render_overlay(document.scan.pixels, document.annotation.ellipse, lines, None)


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


def csv_row(path: Path, annotation: Annotation) -> dict[str, str]:
    """The batch command's row for a saved annotation, plus whether a person edited it."""
    state = scan_state(annotation)
    status = {"auto": "ok", "low confidence": "low_confidence"}.get(state, state)
    row = result_row(display_name(path), annotation.ellipse, annotation.pixel_size,
                     annotation.confidence, status)
    row["edited"] = "yes" if annotation.edited else "no"
    return row


def save_csv(rows: Iterable[dict[str, str]], path: Path) -> int:
    """Write the rows (cells made safe as in every fetalview CSV); returns how many. Raises
    ExportError when the file cannot be written."""
    rows = list(rows)
    _write(Path(path), csv_table(EXPORT_CSV_COLUMNS, rows))
    return len(rows)
