"""A segmentation result and the review flag: what the app and the batch need to read results,
without importing the network (and torch) that made them, so the app starts fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fetalview.core.measure.biometry import (CEPHALIC_INDEX_REVIEW, CEPHALIC_INDEX_SD,
                                              CEPHALIC_INDEX_USUAL)
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize

#: Review flag, calibrated on the 161 validation scans of the bundled weights (subject-wise
#: split, seed 0; over the image area, single pass: ``python -m training evaluate --data
#: /work/shared/data/hc18 --device cpu --csv FILE`` then ``python -m training calibrate FILE``):
#:
#: - ``HC_UNCERTAINTY_MM``: flag when the HC uncertainty (``hc_uncertainty_mm``) reaches 4.5 mm.
#:   It alone flags 21 of 161 and catches 6 of the 8 scans more than 5 mm off (missed: 5.8 and
#:   6.7 mm off, unremarkable by every figure here), the one over 10 mm among them. Large
#:   heads have the large errors in millimetres, and this is what finds them; lower thresholds
#:   (4.0, 3.5 mm) catch no more of the 8 and flag 27 and 33.
#: - ``HC_UNCERTAINTY_SHARE``: flag when the HC uncertainty reaches 2% of HC. A few millimetres
#:   on a small head is a large error (an 8 mm error on a 100 mm head is a week of gestation and
#:   many percentiles) that the millimetre figure ranks last. It adds 13 flags (35 of 161, 22%)
#:   and catches 2 of the 3 scans more than 4% off (none caught by millimetres), none more of
#:   those over 5 mm. 2.5% would add 2 flags and catch none; 1.7% would flag 65 scans to catch
#:   one more of the 8. Pixel-size independent, so it judges scans measured in pixels too.
#: - ``CEPHALIC_INDEX_REVIEW`` (``core.measure.biometry``): a contour whose BPD/OFD ratio lies
#:   beyond Hadlock's mean +/- 3 SD is flagged whatever the model's other figures say (no
#:   validation scan lies beyond it; a contour along a shadow does).
#: - ``LOW_CONFIDENCE``: flag when the region is not head-shaped. The shape score alone ranked
#:   the large errors poorly (it would need 20% flagged to catch 4 of 7): it flags one validation
#:   scan (0.945) that the others flag too, and remains a safety net for gross failures (two blobs, a
#:   half-drawn skull), including scans of unknown pixel size.
HC_UNCERTAINTY_MM = 4.5
HC_UNCERTAINTY_SHARE = 0.02
LOW_CONFIDENCE = 0.95


def hc_uncertainty_mm(unsure_band_px: float | None, pixel_size: PixelSize | None) -> float | None:
    """pi times the mean width, in mm, of the band where the model's head probability lies
    between 0.1 and 0.9: a skull boundary anywhere in a band of width w moves HC by up to about
    pi*w. None without a pixel size (or for results saved before this was recorded)."""
    if unsure_band_px is None or pixel_size is None:
        return None
    return math.pi * unsure_band_px * pixel_size.mm_per_pixel


def hc_uncertainty_share(unsure_band_px: float | None, ellipse: Ellipse | None) -> float | None:
    """The HC uncertainty as a share of HC (pi*w over the perimeter, both in pixels): what an
    error means for the dating and the percentile, the same with or without a pixel size."""
    if unsure_band_px is None or ellipse is None or ellipse.perimeter() <= 0:
        return None
    return math.pi * unsure_band_px / ellipse.perimeter()


def cephalic_index_excess(ellipse: Ellipse | None) -> float:
    """How many of Hadlock's SDs the contour's cephalic index lies outside the usual range
    (0 inside it): an odd shape is a reason to doubt the contour before the head."""
    if ellipse is None or ellipse.major <= 0:
        return 0.0
    index = 100.0 * ellipse.minor / ellipse.major
    low, high = CEPHALIC_INDEX_USUAL
    return max(0.0, low - index, index - high) / CEPHALIC_INDEX_SD


def relative_doubt(unsure_band_px: float | None, ellipse: Ellipse | None) -> float:
    """How doubtful an automatic contour is, for ranking scans for review: the HC uncertainty
    as a share of HC, raised by an unusual head shape (times one plus the cephalic index's
    SDs outside the usual range). Comparable between small and large heads, as millimetres
    are not."""
    return (hc_uncertainty_share(unsure_band_px, ellipse) or 0.0) \
        * (1.0 + cephalic_index_excess(ellipse))


def review_reasons(confidence: float | None, unsure_band_px: float | None,
                   pixel_size: PixelSize | None, ellipse: Ellipse | None) -> list[str]:
    """Why an automatic result needs a clinician's review, in words; empty when it does not.

    Pixel-size independent inputs, so the app can re-judge a saved result when the user
    changes the pixel size.
    """
    reasons = []
    if confidence is not None and confidence < LOW_CONFIDENCE:
        reasons.append(f"model confidence {confidence:.2f} (below {LOW_CONFIDENCE:.2f})")
    uncertainty = hc_uncertainty_mm(unsure_band_px, pixel_size)
    share = hc_uncertainty_share(unsure_band_px, ellipse)
    if (uncertainty is not None and uncertainty >= HC_UNCERTAINTY_MM) \
            or (share is not None and share >= HC_UNCERTAINTY_SHARE):
        amounts = ([f"{uncertainty:.1f} mm"] if uncertainty is not None else []) \
            + ([f"{100 * share:.1f}% of HC"] if share is not None else [])
        reasons.append(f"HC uncertain by about {', '.join(amounts)}")
    if ellipse is not None and ellipse.major > 0:
        index = 100.0 * ellipse.minor / ellipse.major
        low, high = CEPHALIC_INDEX_REVIEW
        if not low <= index <= high:
            reasons.append(f"cephalic index {index:.1f}, beyond {low:g}-{high:g}: the contour "
                           "may not follow the skull")
    return reasons


@dataclass(frozen=True)
class Segmentation:
    """One scan's automatic result, in the scan's own pixel coordinates.

    ``confidence`` (0..1) is the product of two checks the model cannot fake: how well the
    segmented region agrees with its fitted ellipse (intersection over union; a skull is an
    ellipse, a confused model draws something else) and which share of everything the model
    marked as head lies in the chosen region (a second blob means it was unsure where the head
    is). It ranks scans for review; it is not a probability that HC is within a given error.

    ``unsure_band_px`` is the mean width of the band where the model is unsure of the boundary
    (see ``hc_uncertainty_mm``). Blurred or shadowed skulls (late pregnancy, the usual source
    of large errors) widen it while the region stays a clean ellipse, which the shape score
    cannot see.
    """

    mask: np.ndarray | None  # uint8 0/255 head region, holes filled
    outline: np.ndarray | None  # (N, 2) the region's raw outline, for display
    ellipse: Ellipse | None
    confidence: float
    model_version: str
    unsure_band_px: float | None = None
    pixel_size: PixelSize | None = None  # as given to ``segment``, for the review flag

    @property
    def hc_uncertainty_mm(self) -> float | None:
        return hc_uncertainty_mm(self.unsure_band_px, self.pixel_size)

    @property
    def status(self) -> str:
        """``no_head``, ``low_confidence`` (flagged for review) or ``ok``."""
        if self.ellipse is None:
            return "no_head"
        if review_reasons(self.confidence, self.unsure_band_px, self.pixel_size, self.ellipse):
            return "low_confidence"
        return "ok"

    @property
    def review_reason(self) -> str | None:
        """Why the result is flagged, in words for the user; None when it is not."""
        if self.ellipse is None:
            return None
        reasons = review_reasons(self.confidence, self.unsure_band_px, self.pixel_size,
                                 self.ellipse)
        return "Review: " + ", ".join(reasons) if reasons else None
