"""The annotated image: what a clinician files or shares, so it must say everything it rests on.

Report-grade: the scan keeps its full resolution and its pixels, except under a thin
anti-aliased contour and the labelled caliper marks, so the skull edge a caliper sits on can
still be checked on the export. The caption goes in a band below the image, never over it;
warnings (a flagged contour, an unusual shape) open the caption in a highlighted box.
"""

from __future__ import annotations

import cv2
import numpy as np

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.record.result import ScanResult
from fetalview.core.io.safetext import printable

ELLIPSE_BGR = (80, 220, 80)
OUTLINE_BGR = (60, 170, 255)
AXIS_BGR = (255, 200, 60)
CALIPER_BGR = (255, 120, 230)  # the two-point distance calipers
TEXT_BGR = (255, 255, 255)
WARNING_BGR = (48, 160, 240)  # the app's amber warning colour, #f0a030
BAND_BGR = (24, 22, 20)
ACCENT_BGR = (224, 163, 79)  # the app's accent, #4fa3e0: the review state
#: Half the span of a caliper's cross mark, in image pixels.
CROSS_PX = 5
_SHIFT = 4  # OpenCV's fixed-point sub-pixel bits
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def contour_bgr(doubtful: bool) -> tuple[int, int, int]:
    """The contour's colour: green, or the warning amber while a flagged result awaits a
    clinician's review, on screen and in every export alike."""
    return WARNING_BGR if doubtful else ELLIPSE_BGR


def annotated_image(result: ScanResult, pixels: np.ndarray, *, named: bool = False) -> np.ndarray:
    """The annotated image of ``result`` (PNG export, clipboard, the DICOM Secondary Capture):
    the scan at full resolution with its contour, the model's outline and the labelled
    calipers, and below it the warnings, then the caption, the review state standing out.
    ``named`` puts the scan's name first (the app's exports of the scan it shows)."""
    lines = ([result.name] if named else []) + result.caption()
    return render_overlay(pixels, result.ellipse, lines, result.outline, result.marks,
                          result.warnings, result.state_words, doubtful=result.flagged)


def render_overlay(pixels: np.ndarray, ellipse: Ellipse, lines: list[str],
                   outline: np.ndarray | None = None,
                   calipers: list[tuple[str, tuple, tuple]] = (),
                   warnings: list[str] = (), highlight: str | None = None, *,
                   doubtful: bool = False) -> np.ndarray:
    """A BGR copy of the scan at full resolution, the contour and labelled calipers drawn
    thin over it, and ``warnings`` then ``lines`` in a caption band below it; the line equal
    to ``highlight`` (the review state) stands out in a box of its own.

    ``doubtful``: the result awaits review (the model flagged it): the contour is drawn in
    the warning amber (``contour_bgr``).

    ``calipers`` are (label, end, end) with ends as (x, y) scan pixels. Without lines or
    warnings there is no band (the PDF report prints its text itself).
    """
    image = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if pixels.ndim == 2 else pixels.copy()
    if outline is not None and len(outline) > 2:
        cv2.polylines(image, [_fixed(outline)], True, OUTLINE_BGR, 1, cv2.LINE_AA, _SHIFT)
    cv2.polylines(image, [_fixed(ellipse.points(720))], True, contour_bgr(doubtful), 1,
                  cv2.LINE_AA, _SHIFT)
    for label, p, q in calipers:
        draw_calipers(image, label, p, q, CALIPER_BGR if label.startswith("D") else AXIS_BGR)
    if not lines and not warnings:
        return image
    return np.vstack([image, caption_band(image.shape[1], list(lines), list(warnings),
                                          highlight)])


def _fixed(points) -> np.ndarray:
    return np.round(np.asarray(points, np.float64) * (1 << _SHIFT)).astype(np.int32)


def label_box(p, q, label: str, scale: float) -> tuple[int, int, int, int]:
    """Where a caliper's label goes (x0, y0, x1, y1): just beyond end ``q``, away from ``p``."""
    (tw, th), base = cv2.getTextSize(label, _FONT, scale, 1)
    d = np.asarray(q, float) - np.asarray(p, float)
    d = d / max(float(np.hypot(*d)), 1e-6)
    cx, cy = np.asarray(q, float) + d * (CROSS_PX + 4 + 0.5 * max(tw, th))
    x0, y0 = int(round(cx - tw / 2)), int(round(cy - (th + base) / 2))
    return x0, y0, x0 + tw, y0 + th + base


def _label_scale(image: np.ndarray) -> float:
    return max(0.4, min(image.shape[:2]) / 1300)


def draw_calipers(image: np.ndarray, label: str, p, q, colour) -> None:
    """A dotted line between two cross marks, and the label beside end ``q``."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    length = float(np.hypot(*(q - p)))
    for t in np.arange(0.0, 1.0, 6.0 / max(length, 6.0))[1:]:
        dot = _fixed([p + t * (q - p)])[0]
        cv2.circle(image, tuple(int(v) for v in dot), 1 << (_SHIFT - 1), colour, -1,
                   cv2.LINE_AA, _SHIFT)
    for end in (p, q):
        for arm in ((CROSS_PX, 0), (0, CROSS_PX)):
            a, b = _fixed([end - arm, end + arm])
            cv2.line(image, tuple(int(v) for v in a), tuple(int(v) for v in b), colour, 1,
                     cv2.LINE_AA, _SHIFT)
    scale = _label_scale(image)
    x0, y0, x1, y1 = label_box(p, q, label, scale)
    (_, th), base = cv2.getTextSize(label, _FONT, scale, 1)
    origin = (x0, y1 - base)
    cv2.putText(image, label, origin, _FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, label, origin, _FONT, scale, colour, 1, cv2.LINE_AA)


def _drawable(lines: list[str]) -> list[str]:
    """The lines as OpenCV's Hershey font draws them: ASCII, "?" for anything else. A lone
    surrogate (the name of a file that is not UTF-8) made OpenCV's text functions crash the
    process outright."""
    return [printable(t).encode("ascii", "replace").decode("ascii") for t in lines]


def caption_band(width: int, lines: list[str], warnings: list[str],
                 highlight: str | None = None) -> np.ndarray:
    """The caption as its own image ``width`` wide: warnings in an amber box, then the lines
    (``highlight`` in a box of the app's accent colour); text too wide for the band is wrapped
    at spaces."""
    marked = {i for i, text in enumerate(lines) if text == highlight}
    lines, warnings = _drawable(lines), _drawable(warnings)
    scale = max(0.45, width / 1500)
    thick = 1
    pad = max(6, round(10 * scale))
    (_, text_h), base = cv2.getTextSize("Hg", _FONT, scale, thick)
    line_h = text_h + base + max(4, round(6 * scale))

    def wrap(text: str) -> list[str]:
        out, current = [], ""
        for word in text.split(" "):
            trial = f"{current} {word}".strip()
            if current and cv2.getTextSize(trial, _FONT, scale, thick)[0][0] > width - 3 * pad:
                out.append(current)
                current = "  " + word
            else:
                current = trial
        return out + [current]

    warned = [w for text in warnings for w in wrap(text)]
    plain = [(w, i in marked) for i, text in enumerate(lines) for w in wrap(text)]
    box_h = line_h * len(warned) + (pad if warned else 0)
    band = np.full((pad + box_h + line_h * len(plain) + pad, width, 3), BAND_BGR, np.uint8)
    if warned:
        cv2.rectangle(band, (pad // 2, pad // 2), (width - pad // 2, pad + box_h - pad // 2),
                      WARNING_BGR, -1)
    y = pad
    for text in warned:
        y += line_h
        cv2.putText(band, text, (pad, y - base - 2), _FONT, scale, (0, 0, 0), 2, cv2.LINE_AA)
    y += pad if warned else 0
    for text, stands_out in plain:
        if stands_out:
            (tw, _), _ = cv2.getTextSize(text, _FONT, scale, 2)
            cv2.rectangle(band, (pad // 2, y + 2), (pad + tw + pad // 2, y + line_h),
                          ACCENT_BGR, -1)
        y += line_h
        cv2.putText(band, text, (pad, y - base - 2), _FONT, scale,
                    (0, 0, 0) if stands_out else TEXT_BGR, 2 if stands_out else thick,
                    cv2.LINE_AA)
    return band
