"""Head biometry from the head ellipse: HC, BPD and OFD, in mm only when the pixel size is known.

HC is the ellipse perimeter by Ramanujan's approximation, as the HC18 reference computes it.
BPD and OFD are the ellipse's minor and major axis lengths on the same outline (the skull's
centre line), so they are consistent with HC rather than outer-to-inner caliper placements.
"""

from __future__ import annotations

from dataclasses import dataclass

from .geometry import Ellipse
from .pixelsize import PixelSize


@dataclass(frozen=True)
class Measurement:
    hc: float
    bpd: float
    ofd: float
    unit: str  # "mm", or "px" when no pixel size is known
    pixel_size: PixelSize | None

    @property
    def in_mm(self) -> bool:
        return self.unit == "mm"

    def lines(self) -> list[str]:
        """Human-readable lines; a pixel-only result says so in every line."""
        if self.in_mm:
            return [f"HC  {self.hc:.1f} mm", f"BPD {self.bpd:.1f} mm", f"OFD {self.ofd:.1f} mm"]
        return [f"HC  {self.hc:.0f} px (no pixel size)", f"BPD {self.bpd:.0f} px",
                f"OFD {self.ofd:.0f} px"]


def measure(ellipse: Ellipse, pixel_size: PixelSize | None) -> Measurement:
    factor = pixel_size.mm_per_pixel if pixel_size is not None else 1.0
    return Measurement(
        hc=ellipse.perimeter() * factor,
        bpd=2.0 * ellipse.minor * factor,
        ofd=2.0 * ellipse.major * factor,
        unit="mm" if pixel_size is not None else "px",
        pixel_size=pixel_size,
    )
