"""The model's result as the record keeps it, and where a scan stands because of it.

A model result lives in the scan's ``Annotation``: the ellipse (as the contour and as the
model's own), the model version and confidence, and in ``extra`` the unsure band (so that the
review flag can be judged again in millimetres whenever the pixel size changes) and the raw
outline (a display aid). ``review_needed`` and ``scan_state`` say what that means for the
clinician; the app, the batch and every output ask them, so a flag reads the same everywhere.
``automatic_only`` tells such a result from one a person has worked on.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from fetalview.core.measure.pixelsize import given_for_the_scan
from fetalview.core.model.segmentation import relative_doubt, review_reasons
from fetalview.core.record.pacs_origin import OTHER_KEY, PACS_KEY, pacs_flag
from fetalview.core.record.review import (AUTO, EDITED, LOW_CONFIDENCE, NOT_MEASURED,
                                          standing_signoff)
from fetalview.core.record.sidecar import Annotation

#: ``Annotation.extra`` key of the model's unsure band (px), kept so that the review flag can be
#: re-judged in millimetres whenever the pixel size changes.
UNSURE_BAND_KEY = "unsure_band_px"
#: ``Annotation.extra`` key of the model's raw outline (a polygon in scan pixels), so that it can
#: still be shown after the scan is reopened. Frame-specific, like the unsure band.
OUTLINE_KEY = "model_outline"
#: Keys of ``Annotation.extra`` that describe one model result and go when the frame changes
#: (a PACS report's result, and other systems' figures, are of one frame too).
RESULT_KEYS = (UNSURE_BAND_KEY, OUTLINE_KEY, PACS_KEY, OTHER_KEY)
#: The saved outline follows the model's within this many pixels (a few hundred points).
OUTLINE_TOLERANCE_PX = 0.5
#: More points than a whole-scan outline could need: a longer saved list is not an outline.
MAX_OUTLINE_POINTS = 20000


def outline_record(outline: np.ndarray) -> list[list[float]]:
    """The model's outline as a compact polygon for the sidecar."""
    points = cv2.approxPolyDP(np.asarray(outline, np.float32).reshape(-1, 1, 2),
                              OUTLINE_TOLERANCE_PX, True).reshape(-1, 2)
    return [[round(float(x), 1), round(float(y), 1)] for x, y in points]



def outline_of(annotation: Annotation, shape: tuple[int, int]) -> np.ndarray | None:
    """The saved outline as (N, 2) points on a scan of ``shape``; None when there is none or it
    is damaged (it is a display aid only, so a bad entry is ignored rather than refused)."""
    raw = annotation.extra.get(OUTLINE_KEY)
    if not isinstance(raw, list) or not 3 <= len(raw) <= MAX_OUTLINE_POINTS:
        return None
    try:
        points = np.asarray(raw, np.float32)
    except (TypeError, ValueError, OverflowError):
        return None
    rows, cols = shape
    if points.shape != (len(raw), 2) or not np.isfinite(points).all() \
            or not ((points >= -1) & (points <= (cols, rows))).all():
        return None
    return points


def with_model_result(annotation: Annotation, result) -> Annotation:
    """``annotation`` holding the model's ``result`` (a ``Segmentation`` that found a head) as
    both the contour and the model's own, with what the review flag and display need."""
    extra = {**annotation.extra, UNSURE_BAND_KEY: result.unsure_band_px}
    extra.pop(OUTLINE_KEY, None)
    if result.outline is not None:
        extra[OUTLINE_KEY] = outline_record(result.outline)
    return replace(annotation, ellipse=result.ellipse, auto_ellipse=result.ellipse, edited=False,
                   model_version=result.model_version, confidence=result.confidence,
                   extra=extra)


def automatic_only(annotation: Annotation) -> bool:
    """Whether ``annotation`` holds nothing a person did: the model's contour (or none),
    neither edited nor confirmed, with no calipers, gestational age or other entry of a
    person's and no pixel size given for this scan. Where such a result is saved is the
    user's choice (``sidecar_store.SidecarStore``); a person's work goes beside the scan."""
    return (not annotation.edited and annotation.confirmed is None
            and annotation.ellipse == annotation.auto_ellipse
            and set(annotation.extra) <= set(RESULT_KEYS)
            and not given_for_the_scan(annotation.pixel_size))


def review_needed(annotation: Annotation | None) -> list[str]:
    """Why an automatic contour needs a clinician's look, in words; empty when it does not
    (or when a person already edited or confirmed it)."""
    if annotation is None or annotation.ellipse is None or annotation.edited \
            or standing_signoff(annotation) is not None:
        return []
    reasons = review_reasons(annotation.confidence, annotation.extra.get(UNSURE_BAND_KEY),
                             annotation.pixel_size, annotation.ellipse)
    flag = pacs_flag(annotation)  # a result read from the PACS keeps the flag it was sent with
    return reasons + [flag] if flag and flag not in reasons else reasons


def review_doubt(annotation: Annotation | None) -> float:
    """How doubtful the model's contour is, to rank scans for review (``relative_doubt``): 0
    when there is none."""
    if annotation is None or annotation.ellipse is None:
        return 0.0
    return relative_doubt(annotation.extra.get(UNSURE_BAND_KEY), annotation.ellipse)


def scan_state(annotation: Annotation | None) -> str:
    """The state a scan list shows for a saved (or missing) annotation (``core.review``).

    A confirmation that no longer covers the contour (edited since, or another pixel size)
    leaves the scan "edited" until it is confirmed again."""
    if annotation is None or annotation.ellipse is None:
        return NOT_MEASURED
    signoff = standing_signoff(annotation)
    if signoff is not None:
        return signoff.state
    if annotation.edited or annotation.confirmed is not None:
        return EDITED
    return LOW_CONFIDENCE if review_needed(annotation) else AUTO
