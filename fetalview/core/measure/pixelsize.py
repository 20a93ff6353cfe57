"""Pixel size with its provenance: a millimetre figure is only as good as where this came from."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

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
