"""The HC18 challenge's file conventions: outline annotations and pixel-size CSVs.

Used by the batch command (pixel sizes), by the training module (targets) and by tests
(segmented scans against their annotation).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from fetalview.core.measure.geometry import Ellipse, fit_ellipse


def annotation_ellipse(ring: np.ndarray) -> Ellipse:
    """The head ellipse of an HC18 annotation: a thin drawn ring, fitted through all its pixels.

    Fitting every ring pixel puts the boundary on the ring's centre line, which reproduces the
    challenge's reference HC to about 0.01 mm; filling the ring would not (see the data README).
    """
    ys, xs = np.nonzero(ring > 127)
    if len(xs) < 5:
        raise ValueError("the annotation holds no outline")
    return fit_ellipse(np.stack([xs, ys], axis=1))


def annotation_path(scan_path: Path) -> Path:
    """``NNN_HC.png`` -> ``NNN_HC_Annotation.png``."""
    return scan_path.with_name(scan_path.stem + "_Annotation" + scan_path.suffix)


def subject_id(filename: str) -> str:
    """The examination a scan comes from: ``010_2HC.png`` and ``010_HC.png`` share ``010``."""
    return Path(filename).name.split("_")[0]


def read_pixel_size_csv(path: Path) -> dict[str, dict[str, float]]:
    """Rows of an HC18-style CSV keyed by file name.

    Each value holds ``pixel_size_mm`` and, in the training CSV, ``hc_mm``. Columns are found by
    their header words so both the training and the test CSV read alike. Anything unusable
    (not text, empty, no pixel size column, a size that is not a positive finite number) is a
    ValueError naming the file, never a guessed millimetre.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return _pixel_size_rows(path, csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc})") from None


def _pixel_size_rows(path: Path, reader) -> dict[str, dict[str, float]]:
    header = [h.strip().lower() for h in next(reader, [])]
    try:
        size_col = next(i for i, h in enumerate(header) if "pixel" in h)
    except StopIteration:
        raise ValueError(f"{path}: no 'pixel size' column in the header {header}") from None
    hc_col = next((i for i, h in enumerate(header) if "circumference" in h), None)
    rows: dict[str, dict[str, float]] = {}
    for line_no, row in enumerate(reader, start=2):
        if not row or not row[0].strip():
            continue
        try:
            entry = {"pixel_size_mm": float(row[size_col])}
            if hc_col is not None:
                entry["hc_mm"] = float(row[hc_col])
        except (ValueError, IndexError):
            raise ValueError(f"{path}, line {line_no}: not a number: {row}") from None
        if not (math.isfinite(entry["pixel_size_mm"]) and entry["pixel_size_mm"] > 0):
            raise ValueError(f"{path}, line {line_no}: pixel size must be a positive number")
        rows[row[0].strip()] = entry
    return rows
