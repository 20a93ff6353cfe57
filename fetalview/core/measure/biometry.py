"""Head biometry from the head ellipse: HC, BPD and OFD, in mm only when the pixel size is known.

HC is the ellipse perimeter by Ramanujan's approximation, as HC18 and ISUOG define it. The
ellipse lies on the skull's outer edge (HC18's annotators placed it there, and the model learned
it), so its short and long axes are BPD and OFD *outer-to-outer*. Growth charts that date by
BPD use it *outer-to-inner* (leading edge to leading edge); when the user chooses that
convention the BPD comes from a caliper pair on the image (``core.skull_edges`` suggests one)
and says whether a person has confirmed it. Every line names its convention, so a figure never
travels without it.

The cephalic index (BPD/OFD x 100, both outer-to-outer from the ellipse, as Hadlock defined it:
Hadlock FP et al., AJR 1981;137:83-85, mean 78.3, SD 4.4, so 70-86 holds 95% of heads) is shown
with every measurement; when the BPD shown is outer-to-inner, the index's line shows the
outer-to-outer BPD it rests on, so it never rests on a figure the screen does not show; outside 70-86 it is flagged, and far outside what any fetal head
measures it warns that the contour, not the head, is probably wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize

OUTER_OUTER = "outer-outer"
OUTER_INNER = "outer-inner"
BPD_CONVENTIONS = (OUTER_OUTER, OUTER_INNER)
#: Hadlock's 95% range of the cephalic index.
CEPHALIC_INDEX_USUAL = (70.0, 86.0)
#: Beyond this the contour is more likely wrong than the head unusual: the 801 HC18 training
#: reference ellipses range from 66.0 to 96.2 (median 79.5), measured by fitting an ellipse to
#: each ``*_Annotation.png`` of /work/shared/data/hc18/training_set and taking minor/major x 100.
CEPHALIC_INDEX_PLAUSIBLE = (60.0, 97.0)
#: Hadlock's standard deviation of the cephalic index: how far outside the usual range an
#: index lies is counted in these, to raise a scan's doubt (``core.model.segmentation``).
CEPHALIC_INDEX_SD = 4.4
#: Beyond Hadlock's mean +/- 3 SD a model's contour is flagged for review: a head this shape is
#: rare (6 of the 801 HC18 training reference ellipses, measured as above), a contour that
#: follows a shadow or a wall instead of the skull is not.
CEPHALIC_INDEX_REVIEW = (65.0, 91.5)
#: The note on an outer-to-inner BPD that no person has confirmed yet.
SUGGESTED = "suggested: confirm it"


@dataclass(frozen=True)
class Measurement:
    hc: float
    bpd: float
    ofd: float
    unit: str  # "mm", or "px" when no pixel size is known
    pixel_size: PixelSize | None
    cephalic_index: float = 0.0  # BPD/OFD x 100, outer-to-outer
    bpd_convention: str = OUTER_OUTER
    bpd_confirmed: bool = True  # False for an outer-to-inner pair not yet confirmed
    distances: tuple[float, ...] = ()  # the two-point calipers, in ``unit``
    bpd_outer_outer: float | None = None  # the index's BPD, when ``bpd`` is outer-to-inner
    #: The BPD is the one a clinician confirmed in another convention than the one now chosen:
    #: kept as confirmed until confirmed again (a convention change re-opens nothing).
    bpd_as_confirmed: bool = False

    @property
    def in_mm(self) -> bool:
        return self.unit == "mm"

    def _value(self, value: float) -> str:
        return f"{value:.1f} mm" if self.in_mm else f"{value:.0f} px"

    def lines(self) -> list[str]:
        """Human-readable lines (HC, BPD, OFD, cephalic index, then any other distances); a
        pixel-only result says so; each diameter names its convention."""
        bpd_note = self.bpd_convention + ("" if self.bpd_confirmed else f", {SUGGESTED}") \
            + (", as confirmed" if self.bpd_as_confirmed else "")
        hc = f"HC  {self._value(self.hc)}" + ("" if self.in_mm else " (no pixel size)")
        lines = [hc, f"BPD {self._value(self.bpd)} ({bpd_note})",
                 f"OFD {self._value(self.ofd)} ({OUTER_OUTER})", self.cephalic_index_line()]
        lines += [f"D{i} {self._value(d)} (caliper)" for i, d in enumerate(self.distances, 1)]
        return lines

    def cephalic_index_line(self) -> str:
        low, high = CEPHALIC_INDEX_USUAL
        flag = "" if self.cephalic_index_usual else f", outside {low:.0f}-{high:.0f}"
        bpd = "BPD/OFD" if self.bpd_outer_outer is None \
            else f"BPD {self._value(self.bpd_outer_outer)}/OFD"
        return f"CI  {self._index_text()} (cephalic index, {bpd} {OUTER_OUTER}{flag})"

    def _index_text(self) -> str:
        """Whole numbers, but a flagged index keeps the decimal that puts it outside the
        (whole-number) bounds: 86.3, not "86 is outside 70-86"."""
        return f"{self.cephalic_index:.{0 if self.cephalic_index_usual else 1}f}"

    @property
    def cephalic_index_usual(self) -> bool:
        low, high = CEPHALIC_INDEX_USUAL
        return low <= self.cephalic_index <= high

    def warnings(self) -> list[str]:
        """What in these figures a clinician must look at before trusting them."""
        low, high = CEPHALIC_INDEX_PLAUSIBLE
        if not low <= self.cephalic_index <= high:
            return [f"BPD/OFD ratio {self.cephalic_index / 100:.2f} is far from any fetal "
                    "head's: check the contour"]
        if not self.cephalic_index_usual:
            u_low, u_high = CEPHALIC_INDEX_USUAL
            return [f"Cephalic index {self._index_text()} is outside {u_low:.0f}-"
                    f"{u_high:.0f}: check the contour and the head's shape"]
        return []


def measure(ellipse: Ellipse, pixel_size: PixelSize | None,
            bpd_pair: tuple[tuple[float, float], tuple[float, float]] | None = None,
            bpd_confirmed: bool = True, distances: tuple[float, ...] = ()) -> Measurement:
    """HC, BPD and OFD of ``ellipse``; with ``bpd_pair`` (outer-to-inner calipers, scan pixels)
    the BPD is their distance instead. ``distances`` are other caliper lengths in pixels."""
    factor = pixel_size.mm_per_pixel if pixel_size is not None else 1.0
    bpd = 2.0 * ellipse.minor
    if bpd_pair is not None:
        (x0, y0), (x1, y1) = bpd_pair
        bpd = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
    return Measurement(
        hc=ellipse.perimeter() * factor,
        bpd=bpd * factor,
        ofd=2.0 * ellipse.major * factor,
        unit="mm" if pixel_size is not None else "px",
        pixel_size=pixel_size,
        cephalic_index=100.0 * ellipse.minor / ellipse.major,
        bpd_convention=OUTER_OUTER if bpd_pair is None else OUTER_INNER,
        bpd_confirmed=bpd_pair is None or bpd_confirmed,
        distances=tuple(d * factor for d in distances),
        bpd_outer_outer=None if bpd_pair is None else 2.0 * ellipse.minor * factor,
    )
