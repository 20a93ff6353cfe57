"""Caliper pairs a person places or confirms, kept in the sidecar's ``extra`` (the result
record, ``core.record.result``, measures and draws them).

Two kinds: the outer-to-inner BPD pair (suggested from the image by ``core.skull_edges`` until
a person moves or confirms it; only then is it saved) and any number of two-point distance
calipers (D1, D2, ...). Both belong to the frame they were placed on. A damaged entry in a
sidecar is ignored (the pair is suggested again, the distance dropped), never a crash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fetalview.core.record.review import BPD_PAIR_KEY
from fetalview.core.record.sidecar import Annotation
from fetalview.core.measure.skull_edges import suggest_bpd_outer_inner

#: ``extra`` key of the distance calipers: [{"ends": [[x, y], [x, y]]}, ...].
CALIPERS_KEY = "calipers"
CALIPER_KEYS = (BPD_PAIR_KEY, CALIPERS_KEY)
#: No saved point lies further than this from the image (a damaged or foreign file).
MAX_COORDINATE = 1e6

Point = tuple[float, float]


@dataclass(frozen=True)
class Calipers:
    """Two caliper ends in scan pixels."""

    p: Point
    q: Point

    @property
    def length(self) -> float:
        return math.hypot(self.q[0] - self.p[0], self.q[1] - self.p[1])

    def moved(self, end: int, dx: float, dy: float) -> Calipers:
        """The pair with end 0 (``p``) or 1 (``q``) moved; the other end stays put."""
        x, y = (self.p, self.q)[end]
        point = (x + dx, y + dy)
        return Calipers(point, self.q) if end == 0 else Calipers(self.p, point)

    def record(self) -> list[list[float]]:
        return [[round(float(v), 2) for v in self.p], [round(float(v), 2) for v in self.q]]

    def ends(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The ends as saved (rounded as in ``record``): what a confirmation keeps."""
        near, far = self.record()
        return (near[0], near[1]), (far[0], far[1])


def _point(raw) -> Point | None:
    if not isinstance(raw, list) or len(raw) != 2:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        return None
    x, y = float(raw[0]), float(raw[1])
    if not (math.isfinite(x) and math.isfinite(y) and abs(x) < MAX_COORDINATE
            and abs(y) < MAX_COORDINATE):
        return None
    return x, y


def _pair(p_raw, q_raw) -> Calipers | None:
    p, q = _point(p_raw), _point(q_raw)
    return None if p is None or q is None else Calipers(p, q)


def saved_bpd_pair(extra: dict) -> tuple[Calipers, bool] | None:
    """The saved outer-to-inner pair and whether a person confirmed it; None if none."""
    raw = extra.get(BPD_PAIR_KEY)
    if not isinstance(raw, dict):
        return None
    pair = _pair(raw.get("near"), raw.get("far"))
    return None if pair is None else (pair, raw.get("confirmed") is True)


def with_bpd_pair(extra: dict, pair: Calipers | None, confirmed: bool = False) -> dict:
    out = {k: v for k, v in extra.items() if k != BPD_PAIR_KEY}
    if pair is not None:
        near, far = pair.record()
        out[BPD_PAIR_KEY] = {"near": near, "far": far, "confirmed": bool(confirmed)}
    return out


def saved_calipers(extra: dict) -> list[Calipers]:
    raw = extra.get(CALIPERS_KEY)
    if not isinstance(raw, list):
        return []
    found = []
    for entry in raw:
        ends = entry.get("ends") if isinstance(entry, dict) else None
        pair = _pair(*ends) if isinstance(ends, list) and len(ends) == 2 else None
        if pair is not None:
            found.append(pair)
    return found


def with_calipers(extra: dict, calipers: list[Calipers]) -> dict:
    out = {k: v for k, v in extra.items() if k != CALIPERS_KEY}
    if calipers:
        out[CALIPERS_KEY] = [{"ends": c.record()} for c in calipers]
    return out


def bpd_pair(annotation: Annotation,
             pixels: np.ndarray | None) -> tuple[Calipers | None, bool]:
    """The outer-to-inner pair to show: the saved one, else a suggestion from the image (None
    when the skull's echoes are too faint, or without the image); and whether a person
    confirmed it."""
    saved = saved_bpd_pair(annotation.extra)
    if saved is not None:
        return saved
    if annotation.ellipse is None or pixels is None:
        return None, False
    found = suggest_bpd_outer_inner(pixels, annotation.ellipse)
    return (None if found is None else Calipers(*found)), False
