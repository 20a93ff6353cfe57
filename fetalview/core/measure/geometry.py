"""Ellipse geometry: the head model every measurement in fetalview rests on.

Conventions (shared with OpenCV and HC18): image coordinates in pixels, x to the right, y down,
pixel centres at integer coordinates. ``angle_deg`` is the rotation of semi-axis ``a`` from the
x axis, clockwise on screen (because y points down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Ellipse:
    """A head ellipse in pixel coordinates of the original scan."""

    cx: float
    cy: float
    a: float  # semi-axis along ``angle_deg``
    b: float  # the other semi-axis
    angle_deg: float

    @property
    def major(self) -> float:
        return max(self.a, self.b)

    @property
    def minor(self) -> float:
        return min(self.a, self.b)

    def perimeter(self) -> float:
        return ramanujan_perimeter(self.a, self.b)

    def scaled(self, factor: float) -> Ellipse:
        """The same ellipse in a coordinate system ``factor`` times larger (e.g. mm)."""
        return Ellipse(self.cx * factor, self.cy * factor, self.a * factor, self.b * factor,
                       self.angle_deg)

    def axis_endpoints(self) -> tuple[np.ndarray, np.ndarray]:
        """The two ends of axis ``a`` and the two ends of axis ``b``, each as a (2, 2) array."""
        t = math.radians(self.angle_deg)
        ua = np.array([math.cos(t), math.sin(t)])
        ub = np.array([-math.sin(t), math.cos(t)])
        c = np.array([self.cx, self.cy])
        return (np.stack([c - self.a * ua, c + self.a * ua]),
                np.stack([c - self.b * ub, c + self.b * ub]))

    def points(self, n: int = 360) -> np.ndarray:
        """``n`` points on the ellipse, (n, 2) as (x, y)."""
        s = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        t = math.radians(self.angle_deg)
        x = self.a * np.cos(s)
        y = self.b * np.sin(s)
        return np.stack([self.cx + x * math.cos(t) - y * math.sin(t),
                         self.cy + x * math.sin(t) + y * math.cos(t)], axis=1)

    def filled_mask(self, shape: tuple[int, int], supersample: int = 1) -> np.ndarray:
        """The filled ellipse rasterised into a uint8 0/255 image of ``shape`` (rows, cols).

        With ``supersample > 1`` the result is the fractional coverage (0..255), which keeps
        training targets faithful to a boundary that falls between pixels.
        """
        shift = 4  # OpenCV's fixed-point sub-pixel bits
        s = supersample
        canvas = np.zeros((shape[0] * s, shape[1] * s), np.uint8)
        scale = (1 << shift)
        centre = (round((self.cx + 0.5) * s * scale - 0.5 * scale),
                  round((self.cy + 0.5) * s * scale - 0.5 * scale))
        axes = (max(round(self.a * s * scale), 0), max(round(self.b * s * scale), 0))
        cv2.ellipse(canvas, centre, axes, self.angle_deg, 0, 360, 255, -1, cv2.LINE_8, shift)
        if s == 1:
            return canvas
        return cv2.resize(canvas, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def ramanujan_perimeter(a: float, b: float) -> float:
    """Ramanujan's second approximation, the formula HC18 uses for its reference HC."""
    h = ((a - b) / (a + b)) ** 2 if a + b > 0 else 0.0
    return math.pi * (a + b) * (1.0 + 3.0 * h / (10.0 + math.sqrt(4.0 - 3.0 * h)))


def fit_ellipse(points: np.ndarray) -> Ellipse:
    """Least-squares ellipse through boundary points (N, 2), N >= 5.

    Uses Fitzgibbon's direct fit, which always returns an ellipse (never a hyperbola) and is
    unbiased enough on dense boundary samples to recover the axes within a small fraction of a
    pixel. Raises ValueError when the points cannot define an ellipse.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(pts) < 5:
        raise ValueError("an ellipse needs at least 5 boundary points")
    (cx, cy), (w, h), angle = cv2.fitEllipseDirect(pts)
    if not all(map(math.isfinite, (cx, cy, w, h, angle))) or w <= 0 or h <= 0:
        raise ValueError("the boundary points do not define an ellipse")
    return Ellipse(float(cx), float(cy), float(w) / 2.0, float(h) / 2.0, float(angle))


def _where_different(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns where two bool arrays differ, row by row as ``np.nonzero`` lists
    them; OpenCV finds them twice as fast."""
    xy = cv2.findNonZero(cv2.compare(a.view(np.uint8), b.view(np.uint8), cv2.CMP_NE)) \
        if a.size else None
    if xy is None:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    cols, rows = xy.reshape(-1, 2).T
    return rows, cols


def mask_boundary_points(mask: np.ndarray, level: np.ndarray | None = None) -> np.ndarray:
    """Sub-pixel points on the boundary of a binary ``mask``, (N, 2) as (x, y).

    The boundary lies between each inside pixel and its outside 4-neighbour. Where ``level`` (a
    float map, positive inside, e.g. logits) is given, the point sits at its linearly
    interpolated zero crossing; otherwise half-way. This removes the half-pixel inward bias of
    taking boundary pixel centres, which would otherwise shrink HC by about pi pixels.
    """
    nonzero = mask if mask.dtype == np.uint8 else mask.astype(bool).view(np.uint8)
    # Only the mask's bounding rectangle, one pixel wider on each side (where its outside
    # neighbours lie), can hold boundary points: on a head that is a fraction of the scan.
    # Points come in the same (row-major) order as over the whole mask.
    x, y, w, h = cv2.boundingRect(nonzero)
    x0, y0 = max(x - 1, 0), max(y - 1, 0)
    inside = nonzero[y0:y + h + 1, x0:x + w + 1].astype(bool)
    lv = None if level is None else np.asarray(level[y0:y + h + 1, x0:x + w + 1], np.float32)
    points = []
    for axis in (0, 1):
        a = inside[:-1, :] if axis == 0 else inside[:, :-1]
        b = inside[1:, :] if axis == 0 else inside[:, 1:]
        rows, cols = _where_different(a, b)
        if lv is not None:
            la = lv[rows, cols]
            lb = lv[rows + 1, cols] if axis == 0 else lv[rows, cols + 1]
            denom = la - lb
            crossing = (la * lb < 0) & (np.abs(denom) > 1e-6)
            t = np.where(crossing, la / np.where(crossing, denom, 1.0), 0.5)
            t = np.clip(t, 0.0, 1.0)
        else:
            t = np.full(len(rows), 0.5, np.float32)
        rows, cols = rows + y0, cols + x0
        if axis == 0:
            points.append(np.stack([cols, rows + t], axis=1))
        else:
            points.append(np.stack([cols + t, rows], axis=1))
    return np.concatenate(points).astype(np.float32)


def radial_distance(ellipse: Ellipse, points: np.ndarray) -> np.ndarray:
    """Signed distance (outside positive) of points from the ellipse along the ray from its
    centre; close to the true geometric distance for points near a head outline."""
    t = math.radians(ellipse.angle_deg)
    dx, dy = points[:, 0] - ellipse.cx, points[:, 1] - ellipse.cy
    u = dx * math.cos(t) + dy * math.sin(t)
    v = -dx * math.sin(t) + dy * math.cos(t)
    r = np.sqrt((u / ellipse.a) ** 2 + (v / ellipse.b) ** 2)
    return np.hypot(u, v) * (1.0 - 1.0 / np.maximum(r, 1e-9))


def fit_ellipse_robust(points: np.ndarray, rounds: int = 3, min_tolerance: float = 2.0) -> Ellipse:
    """Ellipse fit that ignores local bulges and dents of the boundary.

    A segmentation that leaks into a neighbouring structure or misses a shadowed stretch of
    skull leaves a run of boundary points off the true outline; plain least squares lets them
    pull the whole ellipse. Each round drops points further than 3 robust standard deviations
    (never less than ``min_tolerance`` pixels) from the current fit and refits.
    """
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    ellipse = fit_ellipse(pts)
    for _ in range(rounds):
        d = radial_distance(ellipse, pts)
        spread = 1.4826 * float(np.median(np.abs(d - np.median(d))))
        keep = np.abs(d) <= max(3.0 * spread, min_tolerance)
        if keep.all() or keep.sum() < max(5, len(pts) // 2):
            break
        ellipse = fit_ellipse(pts[keep])
    return ellipse
