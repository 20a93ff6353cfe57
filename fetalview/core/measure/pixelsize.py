"""Pixel size with its provenance: a millimetre figure is only as good as where this came from."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from fetalview.core.measure.growth import PLAUSIBLE_HC_MM

#: The pixel sizes an ultrasound scan can have, in mm per pixel. A scanner draws an image 4 to
#: 30 cm deep over 300 to 1200 screen pixels: about 0.03 to 1 mm per pixel. The HC18 scans
#: (1136 here, training and test set) span 0.049 to 0.39 mm. The range keeps a margin of two
#: to five times on both sides for small exports and high-frequency probes. A figure outside
#: it is a slip of units (a region in mm where cm are due, Pixel Spacing of 150 for 0.150 mm)
#: and would put a head circumference off by orders of magnitude.
PLAUSIBLE_MM = (0.01, 2.0)
#: The source of a pixel size a person typed for one scan.
TYPED = "typed by user"
#: How the source of a pixel size calibrated on a line a person drew on the scan begins.
CALIBRATED = "calibrated:"
#: A pixel size a person gives that differs from the scan's own calibration by more than this
#: fraction is questioned before use. Two calibrations of one image agree far better than
#: this (a line drawn over a depth scale is off by a pixel or two in hundreds); 10% is a
#: line drawn on the wrong scale or over the wrong number of centimetres.
DISAGREEMENT = 0.10


class PixelSizeError(ValueError):
    """A pixel size outside ``PLAUSIBLE_MM`` (or not a number); the message names its source
    and is meant for the user. The scan can still be measured in pixels, never in mm."""


@dataclass(frozen=True)
class PixelSize:
    """Millimetres per pixel (square pixels) and where that number came from.

    ``source`` is shown to the user next to every millimetre value, e.g. "HC18 CSV",
    "typed by user", "calibrated on a 50 mm line", "DICOM Pixel Spacing".
    """

    mm_per_pixel: float
    source: str

    def __post_init__(self):
        """The one plausibility rule, for every source: DICOM tags and regions, CSV rows,
        ``--pixel-size``, a size typed or calibrated in the app, a sidecar."""
        lo, hi = PLAUSIBLE_MM
        number = isinstance(self.mm_per_pixel, numbers.Real) and not isinstance(self.mm_per_pixel,
                                                                                 bool)
        mm = float(self.mm_per_pixel) if number else math.nan
        if not lo <= mm <= hi:
            shown = f"{mm:g}" if math.isfinite(mm) else repr(self.mm_per_pixel)
            raise PixelSizeError(f"{self.source} gives {shown} mm per pixel, implausible for "
                                 f"ultrasound ({lo:g} to {hi:g} mm)")


def calibration_question(given: PixelSize, scan_says: PixelSize | None, hc_px: float | None,
                         in_use: PixelSize | None = None) -> str | None:
    """Why a pixel size a person typed or calibrated (``given``) should be checked before it
    replaces ``in_use``, as a question naming the figures; None when nothing speaks against it.

    It is questioned when it differs from the scan's own calibration (``scan_says``, what the
    file states where the head is) by more than ``DISAGREEMENT``, or when it puts the head's
    contour (``hc_px`` pixels round) outside ``PLAUSIBLE_HC_MM``: a calibration on an on-screen
    ruler drawn over the wrong span doubled HC and gave a confident gestational age."""
    mm = given.mm_per_pixel
    hc = None if hc_px is None else hc_px * mm
    reasons = []
    if scan_says is not None and abs(mm / scan_says.mm_per_pixel - 1) > DISAGREEMENT:
        own = scan_says.mm_per_pixel
        side = "larger" if mm > own else "smaller"
        reasons.append(f"it is {abs(mm / own - 1):.0%} {side} than the scan's own calibration, "
                       f"{own:.4g} mm per pixel ({scan_says.source})")
        if hc is not None:
            reasons[-1] += f": HC {hc:.0f} mm instead of {hc_px * own:.0f} mm"
    lo, hi = PLAUSIBLE_HC_MM
    if hc is not None and not lo <= hc <= hi:
        reasons.append(f"it makes HC {hc:.0f} mm, {'below' if hc < lo else 'above'} any "
                       f"plausible fetal head ({lo:.0f} to {hi:.0f} mm)")
    if not reasons:
        return None
    kept = (f"keeps {in_use.mm_per_pixel:.4g} mm per pixel ({in_use.source})"
            if in_use is not None else "leaves the scan without a pixel size")
    why = "; ".join(reasons)
    return f"Use {mm:.4g} mm per pixel ({given.source})? {why[0].upper()}{why[1:]}. No {kept}."


def given_for_the_scan(pixel_size: PixelSize | None) -> bool:
    """Whether a person gave ``pixel_size`` for this one scan (typed, or calibrated on it):
    their work, unlike a size from the file, a CSV or one typed for a whole folder (which the
    app keeps in its settings)."""
    return pixel_size is not None and (pixel_size.source == TYPED
                                       or pixel_size.source.startswith(CALIBRATED))


@dataclass(frozen=True)
class CalibratedRegion:
    """A part of the image with its own calibration, e.g. one half of a split-screen ultrasound
    image whose two halves were scanned at different depths."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, inclusive
    pixel_size: PixelSize

    def holds(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self.box
        return x0 <= x <= x1 and y0 <= y <= y1

    @property
    def area(self) -> int:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


def region_pixel_size(regions, x: float, y: float) -> PixelSize | None:
    """The calibration of the largest region holding (x, y); None when none does."""
    holding = [r for r in regions if r.holds(x, y)]
    return max(holding, key=lambda r: r.area).pixel_size if holding else None
