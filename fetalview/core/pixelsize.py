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
