"""Editing a head ellipse by hand: what each handle drag and each manual click means.

Kept apart from the Qt items that call it, so the rules a clinician relies on (dragging an axis
end outward by d pixels lengthens that semi-axis by exactly d; the centre stays put while an
axis changes) are tested without a display.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .geometry import Ellipse
from .pixelsize import PixelSize

#: No semi-axis gets shorter than this while dragging: a zero-size ellipse has no handles left.
MIN_SEMI_AXIS = 2.0
#: The rotation handle sits this far out along axis ``a``, as a multiple of ``a``.
ROTATION_HANDLE_REACH = 1.15

HANDLES = ("centre", "a+", "a-", "b+", "b-", "rotate")


def _units(e: Ellipse) -> tuple[np.ndarray, np.ndarray]:
    t = math.radians(e.angle_deg)
    return np.array([math.cos(t), math.sin(t)]), np.array([-math.sin(t), math.cos(t)])


def handle_positions(e: Ellipse) -> dict[str, tuple[float, float]]:
    """Where each handle of ``e`` sits, in scan pixels."""
    ua, ub = _units(e)
    c = np.array([e.cx, e.cy])
    points = {"centre": c, "a+": c + e.a * ua, "a-": c - e.a * ua,
              "b+": c + e.b * ub, "b-": c - e.b * ub,
              "rotate": c + ROTATION_HANDLE_REACH * e.a * ua}
    return {k: (float(p[0]), float(p[1])) for k, p in points.items()}


def drag_handle(start: Ellipse, handle: str, dx: float, dy: float) -> Ellipse:
    """The ellipse after moving ``handle`` of ``start`` by (dx, dy) pixels.

    The centre moves the whole ellipse; an axis end changes only its semi-axis (by the drag's
    component along that axis; the other end stays mirrored about the fixed centre); the
    rotation handle turns the ellipse to point axis ``a`` at the pointer.
    """
    if handle == "centre":
        return replace(start, cx=start.cx + dx, cy=start.cy + dy)
    ua, ub = _units(start)
    d = np.array([dx, dy])
    if handle in ("a+", "a-"):
        sign = 1.0 if handle == "a+" else -1.0
        return replace(start, a=max(MIN_SEMI_AXIS, start.a + sign * float(d @ ua)))
    if handle in ("b+", "b-"):
        sign = 1.0 if handle == "b+" else -1.0
        return replace(start, b=max(MIN_SEMI_AXIS, start.b + sign * float(d @ ub)))
    if handle == "rotate":
        hx, hy = handle_positions(start)["rotate"]
        angle = math.degrees(math.atan2(hy + dy - start.cy, hx + dx - start.cx))
        return replace(start, angle_deg=angle)
    raise ValueError(f"unknown handle {handle!r}; expected one of {HANDLES}")


def ellipse_from_clicks(p1: tuple[float, float], p2: tuple[float, float],
                        p3: tuple[float, float]) -> Ellipse:
    """The ellipse a sonographer draws: two clicks for the ends of one axis, a third for the
    other axis's reach (its distance from the first axis). Raises ValueError on a degenerate
    drawing (the same point twice, or a third click on the first axis)."""
    a_end, b_end, third = (np.asarray(p, float) for p in (p1, p2, p3))
    half = (b_end - a_end) / 2.0
    a = float(np.hypot(*half))
    if a < MIN_SEMI_AXIS:
        raise ValueError("the two ends of the first axis are too close together")
    centre = a_end + half
    ub = np.array([-half[1], half[0]]) / a
    b = abs(float((third - centre) @ ub))
    if b < MIN_SEMI_AXIS:
        raise ValueError("the third point lies on the first axis; click beside it")
    angle = math.degrees(math.atan2(half[1], half[0]))
    return Ellipse(float(centre[0]), float(centre[1]), a, b, angle)


def calibrated_pixel_size(p1: tuple[float, float], p2: tuple[float, float],
                          length_mm: float) -> PixelSize:
    """Pixel size from a line drawn over a known distance (e.g. the depth scale)."""
    pixels = float(math.hypot(p2[0] - p1[0], p2[1] - p1[1]))
    if pixels < 5.0:
        raise ValueError("draw the calibration line over at least 5 pixels")
    if not length_mm > 0:
        raise ValueError("the known length must be a positive number of millimetres")
    return PixelSize(length_mm / pixels,
                     f"calibrated: {length_mm:g} mm line over {pixels:.0f} px")
