"""Editing a head ellipse by hand: what each handle drag and each manual click means.

Kept apart from the Qt items that call it, so the rules a clinician relies on are tested without
a display: dragging an axis end moves that end only, along its axis, as a caliper moves (the
opposite end stays put, so the axis lengthens by exactly the drag and the centre follows by half
of it); the rotation handle turns the ellipse about its centre by the angle the pointer turns.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import CALIBRATED, PixelSize

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


def drag_handle(start: Ellipse, handle: str, dx: float, dy: float,
                grab: tuple[float, float] | None = None) -> Ellipse:
    """The ellipse after moving ``handle`` of ``start`` by (dx, dy) pixels.

    The centre moves the whole ellipse. An axis end moves by the drag's component along its
    axis while the opposite end stays where it was (so the semi-axis changes by half the drag
    and the centre moves by the other half). The rotation handle, grabbed at ``grab`` (default:
    where ``handle_positions`` puts it), turns the ellipse about its centre as far as the
    pointer turns about it.
    """
    if handle == "centre":
        return replace(start, cx=start.cx + dx, cy=start.cy + dy)
    ua, ub = _units(start)
    d = np.array([dx, dy])
    if handle in ("a+", "a-", "b+", "b-"):
        axis, unit = (("a", ua) if handle[0] == "a" else ("b", ub))
        sign = 1.0 if handle.endswith("+") else -1.0
        semi = getattr(start, axis)
        new = max(MIN_SEMI_AXIS, semi + sign * float(d @ unit) / 2.0)
        shift = sign * (new - semi) * unit
        return replace(start, cx=start.cx + float(shift[0]), cy=start.cy + float(shift[1]),
                       **{axis: new})
    if handle == "rotate":
        gx, gy = grab if grab is not None else handle_positions(start)["rotate"]
        turn = (math.atan2(gy + dy - start.cy, gx + dx - start.cx)
                - math.atan2(gy - start.cy, gx - start.cx))
        return replace(start, angle_deg=(start.angle_deg + math.degrees(turn) + 180.0) % 360.0
                       - 180.0)
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
                     f"{CALIBRATED} {length_mm:g} mm line over {pixels:.0f} px")
