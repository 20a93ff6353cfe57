"""Calibrating the review flag on the per-scan CSV that ``evaluate`` writes.

The flag should send most of the large HC errors to a clinician while leaving most scans alone.
This prints, for candidate thresholds, how many validation scans would be flagged and how many
of the large errors that catches, so the choice in ``fetalview.core.model.segmenter`` can be checked
and redone for new weights.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

#: A scan this far off the reference HC is a "large error" the flag should catch.
LARGE_ERROR_MM = 5.0
UNCERTAINTY_GRID_MM = (3.5, 4.0, 4.5, 5.0, 5.5, 6.0)
CONFIDENCE_GRID = (0.90, 0.95, 0.96, 0.97)


@dataclass(frozen=True)
class FlagFigures:
    confidence_below: float
    uncertainty_from_mm: float
    scans: int
    flagged: int
    large_errors: int
    large_errors_caught: int

    def line(self) -> str:
        caught = self.large_errors_caught / self.large_errors if self.large_errors else math.nan
        return (f"confidence < {self.confidence_below:.2f} or HC uncertainty >= "
                f"{self.uncertainty_from_mm:.1f} mm: flags {self.flagged}/{self.scans} "
                f"({100 * self.flagged / self.scans:.1f}%), catches {self.large_errors_caught}/"
                f"{self.large_errors} ({100 * caught:.0f}%) of the scans > {LARGE_ERROR_MM:g} mm off")


def read_rows(csv_path: Path) -> list[dict[str, float]]:
    with open(csv_path, newline="") as f:
        return [{k: float(r[k]) for k in ("hc_abs_diff_mm", "confidence", "hc_uncertainty_mm")}
                for r in csv.DictReader(f)]


def flag_figures(rows: list[dict[str, float]], confidence_below: float,
                 uncertainty_from_mm: float) -> FlagFigures:
    """What the flag 'confidence below X or HC uncertainty at least Y' does on these scans."""
    def flagged(r):
        u = r["hc_uncertainty_mm"]
        return r["confidence"] < confidence_below or (not math.isnan(u) and u >= uncertainty_from_mm)

    large = [r["hc_abs_diff_mm"] > LARGE_ERROR_MM for r in rows]
    flags = [flagged(r) for r in rows]
    return FlagFigures(confidence_below, uncertainty_from_mm, len(rows), sum(flags), sum(large),
                       sum(f and big for f, big in zip(flags, large)))


def calibration_table(csv_path: Path) -> list[FlagFigures]:
    rows = read_rows(csv_path)
    return [flag_figures(rows, c, u) for c in CONFIDENCE_GRID for u in UNCERTAINTY_GRID_MM]
