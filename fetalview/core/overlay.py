"""The annotated image: what a clinician files or shares, so it must say everything it rests on."""

from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np

from .geometry import Ellipse
from .measurement import Measurement
from .safetext import printable

ELLIPSE_BGR = (80, 220, 80)
OUTLINE_BGR = (60, 170, 255)
AXIS_BGR = (255, 200, 60)
TEXT_BGR = (255, 255, 255)


def caption_lines(measurement: Measurement, *, edited: bool, model_version: str,
                  when: datetime | None = None, extra: list[str] | None = None) -> list[str]:
    """The text block of an export, shared by images, reports and the app's panel."""
    ps = measurement.pixel_size
    lines = list(measurement.lines())
    if ps is not None:
        lines.append(f"pixel size {ps.mm_per_pixel:.4f} mm ({ps.source})")
    else:
        lines.append("pixel size unknown: values in pixels, not mm")
    lines += extra or []
    lines.append("edited by a clinician" if edited else "automatic (not reviewed)")
    lines.append(f"model {model_version}")
    lines.append((when or datetime.now()).strftime("%Y-%m-%d %H:%M"))
    return lines


def render_overlay(pixels: np.ndarray, ellipse: Ellipse, lines: list[str],
                   outline: np.ndarray | None = None) -> np.ndarray:
    """A BGR copy of the scan at full resolution with the ellipse, its axes and the caption.

    The caption goes in the corner that hides least of the ellipse, and the contour is drawn
    over it, so the text never covers the measurement it describes. No ``lines``, no caption.
    """
    image = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if pixels.ndim == 2 else pixels.copy()
    h, w = image.shape[:2]
    if lines:
        _draw_caption(image, lines, ellipse.points(360))
    thick = max(1, round(min(h, w) / 300))
    if outline is not None and len(outline) > 2:
        cv2.polylines(image, [np.round(outline).astype(np.int32)], True, OUTLINE_BGR, 1,
                      cv2.LINE_AA)
    shift = 4
    pts = np.round(ellipse.points(720) * (1 << shift)).astype(np.int32)
    cv2.polylines(image, [pts], True, ELLIPSE_BGR, thick, cv2.LINE_AA, shift)
    for ends in ellipse.axis_endpoints():
        p, q = (tuple(np.round(e * (1 << shift)).astype(int)) for e in ends)
        cv2.line(image, p, q, AXIS_BGR, max(1, thick - 1), cv2.LINE_AA, shift)
    return image


def _drawable(lines: list[str]) -> list[str]:
    """The lines as OpenCV's Hershey font draws them: ASCII, "?" for anything else. A lone
    surrogate (the name of a file that is not UTF-8) made OpenCV's text functions crash the
    process outright."""
    return [printable(t).encode("ascii", "replace").decode("ascii") for t in lines]


def _draw_caption(image: np.ndarray, lines: list[str], avoid: np.ndarray) -> None:
    lines = _drawable(lines)
    h, w = image.shape[:2]
    scale = max(0.35, min(h, w) / 1100)
    thick = max(1, round(scale * 1.6))
    font = cv2.FONT_HERSHEY_SIMPLEX
    sizes = [cv2.getTextSize(t, font, scale, thick)[0] for t in lines]
    line_h = max(s[1] for s in sizes) + max(4, round(8 * scale))
    pad = max(4, round(8 * scale))
    box_w = min(w, max(s[0] for s in sizes) + 2 * pad)
    box_h = min(h, line_h * len(lines) + pad)
    corners = [(0, 0), (w - box_w, 0), (0, h - box_h), (w - box_w, h - box_h)]

    def hidden(corner):
        x, y = corner
        return np.count_nonzero((avoid[:, 0] >= x) & (avoid[:, 0] < x + box_w)
                                & (avoid[:, 1] >= y) & (avoid[:, 1] < y + box_h))

    x0, y0 = min(corners, key=hidden)  # ties keep the top-left, where readers look first
    region = image[y0:y0 + box_h, x0:x0 + box_w]
    region[:] = (region * 0.35).astype(np.uint8)
    for i, text in enumerate(lines):
        y = y0 + pad + line_h * (i + 1) - max(2, round(4 * scale))
        cv2.putText(image, text, (x0 + pad, y), font, scale, TEXT_BGR, thick, cv2.LINE_AA)


def add_caption_band(image: np.ndarray, lines: list[str]) -> np.ndarray:
    """``image`` (BGR) with ``lines`` in a dark band below it, widened on the right if the text
    needs it: no pixel of the image is covered and its pixel coordinates stay the same."""
    lines = _drawable(lines)
    h, w = image.shape[:2]
    scale = max(0.4, min(h, w) / 1100)
    thick = max(1, round(scale * 1.6))
    font = cv2.FONT_HERSHEY_SIMPLEX
    sizes = [cv2.getTextSize(t, font, scale, thick)[0] for t in lines]
    pad = max(4, round(8 * scale))
    line_h = max(s[1] for s in sizes) + pad
    out = np.zeros((h + line_h * len(lines) + pad, max(w, max(s[0] for s in sizes) + 2 * pad), 3),
                   np.uint8)
    out[:h, :w] = image
    for i, text in enumerate(lines):
        cv2.putText(out, text, (pad, h + line_h * (i + 1)), font, scale, TEXT_BGR, thick,
                    cv2.LINE_AA)
    return out
