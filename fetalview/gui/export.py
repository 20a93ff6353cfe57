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

from fetalview.core.batch import CSV_COLUMNS, result_row
from fetalview.core.record.calipers import caliper_marks, measure_annotation, saved_bpd_pair, saved_calipers
from fetalview.core.measure.growth import growth_lines, saved_ga
from fetalview.core.measure.biometry import OUTER_OUTER, Measurement
from fetalview.core.io.outputs import write_atomic
from fetalview.core.results.overlay import CONFIDENCE_NAME, caption_lines, render_overlay, state_text
from fetalview.core.io.ownfiles import mark_png
from fetalview.core.record.review import LOW_CONFIDENCE, NOT_MEASURED, STATE_WORDS, standing_signoff
from fetalview.core.io.safetext import csv_table, display_name
from fetalview.core.record.sidecar import Annotation
from fetalview.gui.document import ScanDocument, review_needed, scan_state

#: The app's CSV adds to the batch's columns (whose bpd_mm and ofd_mm are outer-to-outer, from
#: the ellipse) what only a person adds: the edit, the outer-to-inner BPD pair and whether it
#: was confirmed, the cephalic index, the distance calipers (D1;D2;... in mm, or px), and the
#: review: its state (``core.review``) and who confirmed it when (UTC).
EXPORT_CSV_COLUMNS = CSV_COLUMNS + ["edited", "bpd_outer_inner_mm", "bpd_outer_inner_confirmed",
                                    "cephalic_index", "distances", "review", "reviewed_by",
                                    "reviewed_at"]


class ExportError(Exception):
    """An export could not be written; the message says where and why."""


def _measured(name: str, a: Annotation, pixels: np.ndarray | None,
              convention: str) -> Measurement:
    m = measure_annotation(a, pixels, convention)
    if m is None:
        raise ExportError(f"{name} has no head contour to export yet.")
    return m


def _open(document: ScanDocument | None) -> ScanDocument:
    if document is None:
        raise ExportError("No scan is open: there is nothing to export yet.")
    return document


def warnings_of(name: str, a: Annotation, pixels: np.ndarray | None = None,
                convention: str = OUTER_OUTER) -> list[str]:
    """What an export highlights above its caption: why the contour needs review, and what in
    the figures looks wrong."""
    m = _measured(name, a, pixels, convention)
    reasons = review_needed(a)
    return (["REVIEW: " + ", ".join(reasons)] if reasons else []) + m.warnings()


def caption_of(name: str, a: Annotation, when: datetime | None = None,
               pixels: np.ndarray | None = None, convention: str = OUTER_OUTER) -> list[str]:
    """What an export of the saved annotation ``a`` of the scan named ``name`` says: the
    measurement, GA and percentile where known (withheld while the contour awaits review), and
    everything they rest on. Without the scan's ``pixels`` an outer-to-inner BPD that nobody
    placed cannot be suggested, and the BPD stays outer-to-outer (and says so)."""
    m = _measured(name, a, pixels, convention)
    growth = growth_lines(m.hc if m.in_mm else None, saved_ga(a.extra),
                          review_first=bool(review_needed(a)))
    model = a.model_version or "none (drawn by hand)"
    if a.confidence is not None:
        model += f", {CONFIDENCE_NAME} {a.confidence:.2f}"
    return [name] + caption_lines(m, edited=a.edited, model_version=model, when=when,
                                  extra=growth, state=review_words(a))


def review_words(annotation: Annotation) -> str:
    """The review state in words for exports, with who confirmed it and when."""
    signoff = standing_signoff(annotation)
    return signoff.words() if signoff else STATE_WORDS[scan_state(annotation)]


def warnings(document: ScanDocument | None, convention: str = OUTER_OUTER) -> list[str]:
    d = _open(document)
    return warnings_of(display_name(d.path), d.annotation, d.scan.pixels, convention)


def caption(document: ScanDocument | None, when: datetime | None = None,
            convention: str = OUTER_OUTER) -> list[str]:
    d = _open(document)
    return caption_of(display_name(d.path), d.annotation, when, d.scan.pixels, convention)


def annotated_image(document: ScanDocument | None, when: datetime | None = None,
                    convention: str = OUTER_OUTER) -> np.ndarray:
    """The full-resolution BGR overlay of the shown contour and calipers, caption below."""
    lines = caption(document, when, convention)
    a = document.annotation
    return render_overlay(document.scan.pixels, a.ellipse, lines, None,
                          caliper_marks(a, document.scan.pixels, convention),
                          warnings(document, convention), state_text(a.edited),
                          doubtful=bool(review_needed(a)))


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


def csv_row(path: Path, annotation: Annotation) -> dict[str, str]:
    """The batch command's row for a saved annotation, then its review.

    ``status`` keeps the batch contract's words (``ok``, or ``low_confidence`` while the model's
    flag stands unreviewed); the review columns say whether a person edited or confirmed it."""
    state = scan_state(annotation)
    status = "low_confidence" if state == LOW_CONFIDENCE else "ok"
    row = result_row(display_name(path), annotation.ellipse, annotation.pixel_size,
                     annotation.confidence, status)
    signoff = standing_signoff(annotation)
    row.update(edited="yes" if annotation.edited else "no", review=state,
               reviewed_by=signoff.by if signoff else "", reviewed_at=signoff.at if signoff else "")
    e, ps = annotation.ellipse, annotation.pixel_size
    factor, unit = (ps.mm_per_pixel, "") if ps else (1.0, " px")
    pair = saved_bpd_pair(annotation.extra)
    row["bpd_outer_inner_mm"] = f"{pair[0].length * factor:.2f}" if pair and ps else ""
    row["bpd_outer_inner_confirmed"] = ("yes" if pair[1] else "no") if pair else ""
    row["cephalic_index"] = f"{100 * e.minor / e.major:.1f}" if e is not None else ""
    row["distances"] = ";".join(f"{c.length * factor:.2f}{unit}"
                                for c in saved_calipers(annotation.extra))
    return row


#: ``status`` of a scan whose saved measurement was refused: its figures were not the scan's.
SET_ASIDE_STATUS = ("not measured: its saved measurement was made on other pixels (the scan "
                    "replaced since, or the measurement copied from another scan) and is set "
                    "aside; open the scan to measure it")


def unmeasured_row(path: Path, status: str, review: str = NOT_MEASURED) -> dict[str, str]:
    """The row of a listed scan with no measurement to export (not measured yet, unreadable,
    or its saved measurement set aside: ``SET_ASIDE_STATUS``): no figures at all, so every
    listed scan has its row and none goes missing from the CSV unsaid."""
    row = {c: "" for c in EXPORT_CSV_COLUMNS}
    row.update(result_row(display_name(path), None, None, None, status), review=review)
    return row


def save_csv(rows: Iterable[dict[str, str]], path: Path) -> int:
    """Write the rows (cells made safe as in every fetalview CSV); returns how many. Raises
    ExportError when the file cannot be written."""
    rows = list(rows)
    _write(Path(path), csv_table(EXPORT_CSV_COLUMNS, rows))
    return len(rows)
