"""Sign-off: a clinician confirming a contour, and the review state that follows from it.

A confirmation (``SignOff``) records who, when (stored as UTC, said in local time with its
zone: a UTC time on a report reads as an hour off in most clinics), the model version and the
HC/BPD/OFD confirmed as they were shown, the BPD with its convention (and, outer-to-inner, the
caliper ends it was measured between), with the ellipse and pixel size they rest on. It stands
only while the scan still shows exactly that ellipse at that pixel size (and those BPD
calipers): any later edit (or another pixel size) makes the scan "edited" again until it is
confirmed anew, without anyone having to remember to clear it, and undoing that edit brings the
confirmation back. A later change of the BPD convention in the settings changes no
confirmation: the scan keeps the BPD it was confirmed with until it is confirmed again.

A confirmed contour is a *correction* when it differs from the model's beyond the tolerance
below: its outline moved more than ``OUTLINE_TOLERANCE_PX`` anywhere, or HC changed by more than
``HC_TOLERANCE_MM``. Under both, a nudge changed nothing a clinician could measure; such a
confirmation is "confirmed (unchanged)" and is never fed to fine-tuning as if it were a
correction (training on the model's own output teaches it nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

import cv2
import numpy as np

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.biometry import BPD_CONVENTIONS, OUTER_INNER, OUTER_OUTER, \
    Measurement, measure
from fetalview.core.measure.pixelsize import PixelSize

#: ``Annotation.extra`` key of the outer-to-inner BPD pair (``core.record.calipers`` keeps it):
#: {"near": [x, y], "far": [x, y], "confirmed": b}. Named here, where a confirmation checks it.
BPD_PAIR_KEY = "bpd_outer_inner"
#: Caliper ends as saved: ((x, y), (x, y)) in scan pixels, rounded as the sidecar keeps them.
Ends = tuple[tuple[float, float], tuple[float, float]]

OUTLINE_TOLERANCE_PX = 1.0
HC_TOLERANCE_MM = 0.5

#: The states a scan can be in, as the list, the exports and the CSV name them.
NOT_MEASURED = "not measured"
AUTO = "auto"
LOW_CONFIDENCE = "low confidence"
EDITED = "edited"
CONFIRMED = "confirmed"
CORRECTED = "corrected"
UNREADABLE = "unreadable"
SIGNED_OFF = (CONFIRMED, CORRECTED)

#: How exports and reports say each state, in full.
STATE_WORDS = {
    NOT_MEASURED: "not measured",
    AUTO: "automatic (not reviewed)",
    LOW_CONFIDENCE: "automatic, flagged for review (not reviewed)",
    EDITED: "edited, not confirmed yet",
    CONFIRMED: "confirmed unchanged",
    CORRECTED: "corrected and confirmed",
    UNREADABLE: "unreadable",
}

_SAMPLES = 720  # points along each outline: chords stay within 0.01 px of a 400 px skull


@dataclass(frozen=True)
class SignOff:
    """One confirmation, exactly as the sidecar's ``confirmed`` object stores it."""

    by: str
    at: str  # ISO 8601, UTC
    model_version: str | None  # None for a contour drawn by hand
    hc: float
    bpd: float
    ofd: float
    unit: str  # "mm", or "px" when no pixel size was known
    ellipse: Ellipse
    mm_per_pixel: float | None
    corrected: bool  # beyond the tolerance from the model's contour
    bpd_convention: str = OUTER_OUTER  # the BPD's, as shown when confirmed
    bpd_ends: Ends | None = None  # the outer-to-inner calipers ``bpd`` was measured between

    @property
    def state(self) -> str:
        return CORRECTED if self.corrected else CONFIRMED

    def stands_for(self, ellipse: Ellipse | None, pixel_size: PixelSize | None,
                   bpd_ends: Ends | None = None) -> bool:
        """Whether this confirmation still covers what the scan shows: the ellipse, the pixel
        size and, for an outer-to-inner BPD, the confirmed calipers ``bpd_ends``."""
        mm = pixel_size.mm_per_pixel if pixel_size is not None else None
        return ellipse is not None and ellipse == self.ellipse and mm == self.mm_per_pixel \
            and (self.bpd_convention != OUTER_INNER or bpd_ends == self.bpd_ends)

    @property
    def bpd_text(self) -> str:
        """e.g. "BPD 37.2 mm outer-inner", as confirmed."""
        value = f"{self.bpd:.1f} mm" if self.unit == "mm" else f"{self.bpd:.0f} px"
        return f"BPD {value} {self.bpd_convention}"

    def words(self) -> str:
        """e.g. "corrected and confirmed by A. Jones, 2026-11-27 09:14 CET (UTC+01:00)"."""
        return f"{STATE_WORDS[self.state]} by {self.by}, {self.when_text}"

    @property
    def when_text(self) -> str:
        """When, in this computer's local time with its zone (``local_time_text``)."""
        t = datetime.fromisoformat(self.at)
        return local_time_text(t if t.tzinfo else t.replace(tzinfo=timezone.utc))


def local_time_text(t: datetime) -> str:
    """``t`` in local time with the zone's name and offset, e.g. "2026-12-05 09:14 CET
    (UTC+01:00)": the one way every output states a time, so a reader never has to guess
    whether it is UTC. A naive ``t`` is taken as local time already."""
    local = t.astimezone()
    offset = local.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}"
    if local.tzname() in ("UTC", zone):  # a computer set to UTC: said once
        return f"{local:%Y-%m-%d %H:%M} UTC"
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone})"


def outline_distance_px(e: Ellipse, f: Ellipse) -> float:
    """The largest distance from a point of either outline to the other outline, in pixels."""
    def one_way(p: Ellipse, q: Ellipse) -> float:
        polygon = q.points(_SAMPLES).astype(np.float32).reshape(-1, 1, 2)
        return max(abs(cv2.pointPolygonTest(polygon, (float(x), float(y)), True))
                   for x, y in p.points(_SAMPLES))
    return max(one_way(e, f), one_way(f, e))


def is_correction(ellipse: Ellipse, model: Ellipse | None, pixel_size: PixelSize | None) -> bool:
    """Whether ``ellipse`` differs from the model's beyond the stated tolerance (a contour
    drawn with no model result at all is always a clinician's own)."""
    if model is None:
        return True
    if pixel_size is not None:
        hc_change = abs(measure(ellipse, pixel_size).hc - measure(model, pixel_size).hc)
        if hc_change > HC_TOLERANCE_MM:
            return True
    return outline_distance_px(ellipse, model) > OUTLINE_TOLERANCE_PX


def sign_off(by: str, ellipse: Ellipse, model: Ellipse | None, pixel_size: PixelSize | None,
             model_version: str | None, now: datetime | None = None,
             shown: Measurement | None = None, bpd_ends: Ends | None = None) -> SignOff:
    """The confirmation of ``ellipse`` by ``by`` now, with the figures ``shown`` (their BPD in
    its convention; outer-to-inner needs the caliper ends ``bpd_ends``, as saved); without
    ``shown``, the ellipse's own (BPD outer-to-outer)."""
    m = shown or measure(ellipse, pixel_size)
    if (m.bpd_convention == OUTER_INNER) != (bpd_ends is not None):
        raise ValueError("an outer-to-inner BPD is confirmed with its calipers, and only it")
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return SignOff(by=by, at=when.isoformat(timespec="seconds"), model_version=model_version,
                   hc=m.hc, bpd=m.bpd, ofd=m.ofd, unit=m.unit, ellipse=ellipse,
                   mm_per_pixel=pixel_size.mm_per_pixel if pixel_size else None,
                   corrected=is_correction(ellipse, model, pixel_size),
                   bpd_convention=m.bpd_convention, bpd_ends=bpd_ends)


# --- the sidecar's ``confirmed`` object ----------------------------------------------------

def signoff_json(s: SignOff | None) -> dict | None:
    if s is None:
        return None
    e = s.ellipse
    value = {"by": s.by, "at": s.at, "model_version": s.model_version, "hc": s.hc,
             "bpd": s.bpd, "bpd_convention": s.bpd_convention, "ofd": s.ofd, "unit": s.unit,
             "state": s.state,
             "ellipse": {"cx": e.cx, "cy": e.cy, "a": e.a, "b": e.b, "angle_deg": e.angle_deg},
             "mm_per_pixel": s.mm_per_pixel}
    if s.bpd_ends is not None:
        value["bpd_ends"] = [list(p) for p in s.bpd_ends]
    return value


def ends_of(raw) -> Ends | None:
    """Two saved (x, y) points, as floats; None when ``raw`` is not two finite points."""
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        return None
    points = []
    for point in raw:
        if not isinstance(point, (list, tuple)) or len(point) != 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in point):
            return None
        points.append((float(point[0]), float(point[1])))
    return points[0], points[1]


def _finite(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be text, not {value!r}")
    return value


def signoff_from_json(value, what: str = "confirmed") -> SignOff:
    """The SignOff in a parsed ``confirmed`` object; ValueError says what is wrong."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object")
    missing = [k for k in ("by", "at", "hc", "bpd", "ofd", "unit", "state", "ellipse")
               if k not in value]
    if missing:
        raise ValueError(f"{what} lacks {', '.join(missing)}")
    at = _text(value["at"], f"{what}.at")
    datetime.fromisoformat(at)  # ValueError names the bad text
    if value["unit"] not in ("mm", "px"):
        raise ValueError(f"{what}.unit must be mm or px, not {value['unit']!r}")
    if value["state"] not in SIGNED_OFF:
        raise ValueError(f"{what}.state must be one of {', '.join(SIGNED_OFF)}")
    e = value["ellipse"]
    if not isinstance(e, dict):
        raise ValueError(f"{what}.ellipse must be an object")
    try:
        ellipse = Ellipse(*(_finite(e[k], f"{what}.ellipse.{k}")
                            for k in ("cx", "cy", "a", "b", "angle_deg")))
    except KeyError as exc:
        raise ValueError(f"{what}.ellipse lacks {exc.args[0]}") from None
    mm = value.get("mm_per_pixel")
    version = value.get("model_version")
    convention = value.get("bpd_convention", OUTER_OUTER)  # confirmations before it was kept
    if convention not in BPD_CONVENTIONS:
        raise ValueError(f"{what}.bpd_convention must be one of {', '.join(BPD_CONVENTIONS)}")
    ends = ends_of(value.get("bpd_ends")) if convention == OUTER_INNER else None
    if convention == OUTER_INNER and ends is None:
        raise ValueError(f"{what}.bpd_ends must be two points for an outer-inner BPD")
    return SignOff(by=_text(value["by"], f"{what}.by"), at=at,
                   model_version=None if version is None else _text(version,
                                                                   f"{what}.model_version"),
                   hc=_finite(value["hc"], f"{what}.hc"), bpd=_finite(value["bpd"], f"{what}.bpd"),
                   ofd=_finite(value["ofd"], f"{what}.ofd"), unit=value["unit"], ellipse=ellipse,
                   mm_per_pixel=None if mm is None else _finite(mm, f"{what}.mm_per_pixel"),
                   corrected=value["state"] == CORRECTED, bpd_convention=convention,
                   bpd_ends=ends)


def confirmed_bpd_ends(extra: dict) -> Ends | None:
    """The ends of the outer-to-inner BPD pair in ``extra`` when a person confirmed it."""
    raw = extra.get(BPD_PAIR_KEY)
    if not isinstance(raw, dict) or raw.get("confirmed") is not True:
        return None
    return ends_of([raw.get("near"), raw.get("far")])


def standing_signoff(annotation) -> SignOff | None:
    """The annotation's confirmation while it still covers the contour on it (and the BPD
    calipers it was confirmed with), else None."""
    c = getattr(annotation, "confirmed", None)
    if c is None or not c.stands_for(annotation.ellipse, annotation.pixel_size,
                                     confirmed_bpd_ends(annotation.extra)):
        return None
    return c
