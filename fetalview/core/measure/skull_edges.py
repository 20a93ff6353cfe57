"""Where the skull's edges lie along the head's short axis: the outer-to-inner BPD suggestion.

Growth charts (Hadlock, INTERGROWTH-21st) define BPD "outer-to-inner" (leading edge to leading
edge): from the outer edge of the skull nearer the probe to the inner edge of the far skull.
Both are *rising* edges in the direction the sound travels, which is what an echo shows most
sharply. The head ellipse (HC18's convention, which the model learned) lies on the skull's outer
edge, so its short axis gives outer-to-outer; this module finds the two leading edges in the
image along that axis.

The probe is taken to sit at the top of the image, as scanners show it by default: the near
skull is the end of the short axis with the smaller y. What is returned is a *suggestion*,
shown as such until a person confirms or moves it.

Method: the intensity profile along the short axis (averaged over a few pixels across it and
smoothed) is searched near each end for the brightest echo (the skull), preferring echoes close
to the ellipse; the leading edge is where the profile crosses half-way between the dark before
the echo and its peak (half maximum, which stays put under blur). Too faint an echo gives no
suggestion rather than a guess.
"""

from __future__ import annotations

import cv2
import numpy as np

from fetalview.core.measure.geometry import Ellipse

#: Profile sample step along the axis, in pixels.
STEP_PX = 0.5
#: The skull echo is searched from this far outside the ellipse end ...
OUTSIDE_REACH = 0.05
#: ... to this far inside it, as fractions of the semi-minor axis (the far skull's echo on
#: HC18 scans is 5-12% of it thick, blur included).
INSIDE_REACH = 0.22
#: The dark before an echo is looked for within this fraction of the semi-minor axis.
BACKGROUND_REACH = 0.15
#: An echo less than this many grey levels above the dark before it is not taken for skull.
MIN_CONTRAST = 12.0
#: Profiles are averaged over +/- this many pixels across the axis (speckle).
ACROSS_PX = 2


Point = tuple[float, float]


def short_axis_ends(ellipse: Ellipse) -> tuple[np.ndarray, np.ndarray]:
    """The ends of the short (BPD) axis, near (smaller y, the probe's side) first."""
    (a0, a1), (b0, b1) = ellipse.axis_endpoints()
    ends = (a0, a1) if ellipse.a < ellipse.b else (b0, b1)
    near, far = sorted(ends, key=lambda p: (p[1], p[0]))
    return near, far


def _profile(pixels: np.ndarray, centre: np.ndarray, u: np.ndarray, s: np.ndarray) -> np.ndarray:
    across = np.array([-u[1], u[0]])
    offsets = np.arange(-ACROSS_PX, ACROSS_PX + 1, dtype=np.float64)
    pts = centre + s[:, None, None] * u + offsets[None, :, None] * across  # (n, k, 2)
    map_x = pts[..., 0].astype(np.float32)
    map_y = pts[..., 1].astype(np.float32)
    image = pixels if pixels.dtype == np.float32 else pixels.astype(np.float32)
    sampled = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=0)
    profile = sampled.mean(axis=1)
    sigma = 1.0 / STEP_PX  # one pixel
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    return np.convolve(np.pad(profile, radius, mode="edge"), kernel, mode="valid")


def _leading_edge(s: np.ndarray, v: np.ndarray, end: float, inward: float,
                  reach: float) -> float | None:
    """The rising half-maximum crossing (in +s) before the skull echo near ``end``.

    ``inward`` is +1 where the head's inside lies at larger s than ``end``, else -1.
    """
    lo, hi = sorted((end - inward * OUTSIDE_REACH * reach, end + inward * INSIDE_REACH * reach))
    window = np.nonzero((s >= lo) & (s <= hi))[0]
    if len(window) < 3:
        return None
    closeness = 1.0 - 0.5 * np.abs(s[window] - end) / (INSIDE_REACH * reach)
    peak = int(window[np.argmax(v[window] * closeness)])
    start = max(0, int(np.searchsorted(s, s[peak] - BACKGROUND_REACH * reach)))
    before = v[start:peak + 1]
    if len(before) < 2:
        return None
    dark = start + int(np.argmin(before))
    if v[peak] - v[dark] < MIN_CONTRAST:
        return None
    half = 0.5 * (v[peak] + v[dark])
    i = peak
    while i > dark and v[i - 1] >= half:
        i -= 1
    if i == dark:
        return float(s[dark])
    t = (half - v[i - 1]) / (v[i] - v[i - 1])
    return float(s[i - 1] + t * (s[i] - s[i - 1]))


def suggest_bpd_outer_inner(pixels: np.ndarray, ellipse: Ellipse) -> tuple[Point, Point] | None:
    """The near skull's outer edge and the far skull's inner edge on the short axis of
    ``ellipse``, as (x, y) scan pixels; None when either echo is too faint to place."""
    if pixels.ndim != 2 or ellipse.minor < 4:
        return None
    near, far = short_axis_ends(ellipse)
    centre = (near + far) / 2.0
    r = ellipse.minor
    u = (far - near) / (2.0 * r)
    span = r * (1.0 + OUTSIDE_REACH + BACKGROUND_REACH) + 4
    s = np.arange(-span, span + STEP_PX, STEP_PX)
    v = _profile(pixels, centre, u, s)
    near_s = _leading_edge(s, v, -r, +1.0, r)
    far_s = _leading_edge(s, v, +r, -1.0, r)
    if near_s is None or far_s is None or not far_s - near_s > r:
        return None
    p, q = centre + near_s * u, centre + far_s * u
    return (float(p[0]), float(p[1])), (float(q[0]), float(q[1]))
