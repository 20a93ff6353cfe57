"""Pixel size with its provenance: a millimetre figure is only as good as where this came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PixelSize:
    """Millimetres per pixel (square pixels) and where that number came from.

    ``source`` is shown to the user next to every millimetre value, e.g. "HC18 CSV",
    "typed by user", "calibrated on a 50 mm line", "DICOM Pixel Spacing".
    """

    mm_per_pixel: float
    source: str

    def __post_init__(self):
        if not (self.mm_per_pixel > 0 and self.mm_per_pixel < 100):
            raise ValueError(f"implausible pixel size {self.mm_per_pixel} mm")


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
