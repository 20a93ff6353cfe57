"""Where a scan's result came from when the PACS held it already: the report it was read from.

Opened from the PACS, a scan measured on arrival (or confirmed at another workstation) shows
the report the PACS holds instead of measuring again. Its annotation then says so in
``Annotation.extra[PACS_KEY]``: which report (``SrReference``: its study, series, class and
instance, so that a confirmation or correction sent from here names it as the report it
replaces), the contour and confirmation it gave, the review flag it carried (a flagged
automatic result stays flagged here) and the system that wrote it. Figures from other systems'
reports of the same image ride along in ``extra[OTHER_KEY]``, to be shown beside fetalview's,
read-only.

All of it is read leniently: it is what the app itself wrote, and a damaged entry only loses
the note, never the measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

#: ``Annotation.extra`` key of the PACS report the result was read from.
PACS_KEY = "pacs_report"
#: ``Annotation.extra`` key of other systems' HC/BPD/OFD for the same image.
OTHER_KEY = "pacs_other_reports"
_ELLIPSE_KEYS = ("cx", "cy", "a", "b", "angle_deg")


@dataclass(frozen=True)
class SrReference:
    """One report in the PACS, as a later report names it (Predecessor Documents Sequence)."""

    study_instance_uid: str
    series_instance_uid: str
    sop_class_uid: str
    sop_instance_uid: str


@dataclass(frozen=True)
class OtherValues:
    """HC, BPD and OFD (mm; None where not given) of another system's report."""

    source: str
    hc: float | None
    bpd: float | None
    ofd: float | None

    def line(self) -> str:
        figures = ", ".join(f"{name} {value:.1f} mm" for name, value in
                            (("HC", self.hc), ("BPD", self.bpd), ("OFD", self.ofd))
                            if value is not None)
        return f"{self.source}, in the PACS (read-only, not checked here): {figures}"


def origin_json(ref: SrReference, source: str, ellipse, verified_by: str | None,
                verified_at: str | None, review_flag: str | None) -> dict:
    """The ``extra[PACS_KEY]`` entry of a result read from the report ``ref``."""
    return {"study": ref.study_instance_uid, "series": ref.series_instance_uid,
            "sop_class": ref.sop_class_uid, "sop": ref.sop_instance_uid, "source": source,
            "ellipse": {k: float(getattr(ellipse, k)) for k in _ELLIPSE_KEYS},
            "verified_by": verified_by, "verified_at": verified_at, "review_flag": review_flag}


def other_json(values: list[OtherValues]) -> list[dict]:
    return [{"source": v.source, "hc": v.hc, "bpd": v.bpd, "ofd": v.ofd} for v in values]


def _origin(annotation) -> dict | None:
    entry = annotation.extra.get(PACS_KEY) if annotation is not None else None
    return entry if isinstance(entry, dict) else None


def replaced_report(annotation) -> SrReference | None:
    """The PACS report that a report of ``annotation`` replaces; None for a result that was not
    read from the PACS."""
    entry = _origin(annotation)
    if entry is None:
        return None
    uids = [entry.get(k) for k in ("study", "series", "sop_class", "sop")]
    if not all(isinstance(u, str) and u for u in uids):
        return None
    return SrReference(*uids)


def stored_as(annotation, ref: SrReference):
    """``annotation`` once a report of it, ``ref``, is stored in the PACS: that report is now
    the one its result stands on, so the next report sent from here (a correction after a
    confirmation) names it as the one it replaces, not the report before it. A result that
    was not read from the PACS, or has no contour, is returned as it is."""
    entry = _origin(annotation)
    if entry is None or annotation.ellipse is None:
        return annotation
    signoff = annotation.confirmed
    origin = origin_json(ref, entry.get("source") or "", annotation.ellipse,
                         signoff.by if signoff else None, signoff.at if signoff else None,
                         None if signoff else entry.get("review_flag"))
    return replace(annotation, extra={**annotation.extra, PACS_KEY: origin})


def as_the_pacs_holds_it(annotation) -> bool:
    """Whether ``annotation`` still shows the contour (and confirmation) of its PACS report."""
    entry = _origin(annotation)
    if entry is None or annotation.ellipse is None or not isinstance(entry.get("ellipse"), dict):
        return False
    shown = {k: float(getattr(annotation.ellipse, k)) for k in _ELLIPSE_KEYS}
    if shown != entry["ellipse"]:
        return False
    signoff = annotation.confirmed
    if entry.get("verified_by") is None:
        return signoff is None
    return signoff is not None and (signoff.by, signoff.at) == (entry["verified_by"],
                                                                entry.get("verified_at"))


def pacs_flag(annotation) -> str | None:
    """The review flag of the PACS report, while its automatic contour is what is shown."""
    entry = _origin(annotation)
    flag = entry.get("review_flag") if entry is not None else None
    return flag if isinstance(flag, str) and flag and as_the_pacs_holds_it(annotation) else None


def pacs_note(annotation) -> str | None:
    """Where the shown result came from, while it is what the PACS holds, e.g. "As stored in
    the PACS: report by fetalview (resunet-v1)."."""
    if not as_the_pacs_holds_it(annotation):
        return None
    source = _origin(annotation).get("source")
    return "As stored in the PACS" + (f": report by {source}." if isinstance(source, str)
                                      and source else ".")


def _mm(value) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok and value > 0 else None


def other_values(annotation) -> tuple[OtherValues, ...]:
    """Other systems' figures for the scan, as the PACS held them when it was opened."""
    entries = annotation.extra.get(OTHER_KEY) if annotation is not None else None
    if not isinstance(entries, list):
        return ()
    return tuple(OtherValues(str(e.get("source") or "another system"), _mm(e.get("hc")),
                             _mm(e.get("bpd")), _mm(e.get("ofd")))
                 for e in entries if isinstance(e, dict))
