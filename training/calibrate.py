"""Calibrating the review flag on the per-scan CSV that ``evaluate`` writes.

The flag should send most of the large HC errors to a clinician while leaving most scans alone.
This prints, for candidate thresholds, how many validation scans would be flagged and how many
of the large errors that catches (in millimetres, and as a share of the reference HC, which is
what an error means for a small head), so the choice in ``fetalview.core.model.segmentation``
can be checked and redone for new weights.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from fetalview.core.measure.biometry import CEPHALIC_INDEX_REVIEW

#: A scan this far off the reference HC is a "large error" the flag should catch.
LARGE_ERROR_MM = 5.0
#: ... and so is one this share of the reference HC off (a small head's large error).
LARGE_ERROR_SHARE = 0.04
UNCERTAINTY_GRID_MM = (3.5, 4.0, 4.5, 5.0, 5.5, 6.0)
SHARE_GRID = (math.inf, 0.017, 0.018, 0.019, 0.020, 0.021, 0.022, 0.025)
CONFIDENCE_GRID = (0.90, 0.95, 0.96, 0.97)


@dataclass(frozen=True)
class FlagFigures:
    confidence_below: float
    uncertainty_from_mm: float
    share_from: float
    scans: int
    flagged: int
    large_errors: int
    large_errors_caught: int
    large_shares: int
    large_shares_caught: int

    def line(self) -> str:
        caught = self.large_errors_caught / self.large_errors if self.large_errors else math.nan
        share = "" if math.isinf(self.share_from) else f" or >= {100 * self.share_from:.1f}% of HC"
        return (f"confidence < {self.confidence_below:.2f} or HC uncertainty >= "
                f"{self.uncertainty_from_mm:.1f} mm{share} or cephalic index beyond "
                f"{CEPHALIC_INDEX_REVIEW[0]:g}-{CEPHALIC_INDEX_REVIEW[1]:g}: flags "
                f"{self.flagged}/{self.scans} ({100 * self.flagged / self.scans:.1f}%), catches "
                f"{self.large_errors_caught}/{self.large_errors} ({100 * caught:.0f}%) of the "
                f"scans > {LARGE_ERROR_MM:g} mm off and {self.large_shares_caught}/"
                f"{self.large_shares} of those > {100 * LARGE_ERROR_SHARE:g}% off")


def read_rows(csv_path: Path) -> list[dict[str, float]]:
    """The figures of each scan; files written before a column existed read it as NaN."""
    keys = ("hc_abs_diff_mm", "confidence", "hc_uncertainty_mm", "hc_mm", "hc_ref_mm",
            "cephalic_index")
    with open(csv_path, newline="") as f:
        return [{k: float(r.get(k) or math.nan) for k in keys} for r in csv.DictReader(f)]


def flag_figures(rows: list[dict[str, float]], confidence_below: float,
                 uncertainty_from_mm: float, share_from: float = math.inf) -> FlagFigures:
    """What the flag 'confidence below X, HC uncertainty at least Y mm or Z of HC, or a
    cephalic index beyond the review range' does on these scans."""
    low, high = CEPHALIC_INDEX_REVIEW

    def flagged(r):
        u, index = r["hc_uncertainty_mm"], r["cephalic_index"]
        return (r["confidence"] < confidence_below or u >= uncertainty_from_mm
                or u >= share_from * r["hc_mm"] or index < low or index > high)

    large = [r["hc_abs_diff_mm"] > LARGE_ERROR_MM for r in rows]
    shares = [r["hc_abs_diff_mm"] > LARGE_ERROR_SHARE * r["hc_ref_mm"] for r in rows]
    flags = [flagged(r) for r in rows]
    return FlagFigures(confidence_below, uncertainty_from_mm, share_from, len(rows), sum(flags),
                       sum(large), sum(f and big for f, big in zip(flags, large)), sum(shares),
                       sum(f and big for f, big in zip(flags, shares)))


def calibration_table(csv_path: Path) -> list[FlagFigures]:
    rows = read_rows(csv_path)
    return [flag_figures(rows, c, u, s) for c in CONFIDENCE_GRID for u in UNCERTAINTY_GRID_MM
            for s in SHARE_GRID]
