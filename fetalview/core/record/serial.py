"""A patient's serial scans: each scan's head measurements at its GA, in time order, and the
finding a clinician reads growth for, a head that falls across centile lines.

A clinician reads serial growth from a chart: where each HC sits among the INTERGROWTH-21st
centiles, and whether the head keeps to its centile or crosses down (what serial third-trimester
scans look for). This module gives the chart its points (``growth.GrowthPoint``) and the record
its finding in words; it draws nothing. A scan is on the chart when its figures are shown: in mm,
with a GA from the patient's dating, and not waiting for review (a flagged contour's GA and
percentile are withheld, so it must not sit on a chart looking like a result). Points a person
has not confirmed are marked so (``confirmed=False``): the chart draws them apart, never joined.

The finding (``crossing_finding``): the latest HC below the 3rd centile, or a fall from an
earlier scan across two or more of the major centile lines (3rd, 10th, 50th, 90th, 97th), e.g.
from above the 50th to below the 10th. It is worded as something for the clinician to assess,
never as a diagnosis, and says when it rests on figures nobody has confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fetalview.core.measure.growth import (INTERGROWTH_NAME, GestationalAge, GrowthPoint,
                                           OutOfRange, hc_centile)

#: The centile lines a growth chart draws and a fall is counted across.
MAJOR_CENTILES = (3, 10, 50, 90, 97)
#: A fall across this many major centile lines is a finding.
LINES_FOR_FINDING = 2
#: What a scan's record says when it has no patient to have serial scans with.
NO_PATIENT = ("No serial scans: this scan has no patient ID (give one under Patient and study "
              "to see it with the patient's other scans)")
FINDING_START = "Finding for the clinician to assess, not a diagnosis: "


@dataclass(frozen=True)
class SerialEntry:
    """One scan of a patient as the serial needs it (``result.serial_entry`` makes it)."""

    name: str
    exam_date: date | None
    ga: GestationalAge | None  # None: not dated, or its figures are withheld
    hc_mm: float | None
    bpd_mm: float | None
    ofd_mm: float | None
    confirmed: bool
    why_not: str | None = None  # why this scan is not on the chart, in words
    #: Read from a report of an earlier study in the PACS: a point only, not in the scan list.
    from_pacs: bool = False


@dataclass(frozen=True)
class Serial:
    """A patient's scans on the chart: HC, BPD and OFD points in time order (the latest
    marked), the finding, and what was left off the chart and why."""

    patient_id: str | None
    hc: tuple[GrowthPoint, ...] = ()
    bpd: tuple[GrowthPoint, ...] = ()
    ofd: tuple[GrowthPoint, ...] = ()
    finding: str | None = None
    note: str | None = None  # why there are no points, or which scans were left off
    from_pacs: int = 0  # how many of the HC points came from earlier studies in the PACS

    @property
    def chart_line(self) -> str:
        """How many HC points are on the chart, and how many of them the PACS gave."""
        pacs = (f" ({self.from_pacs} of them from earlier studies in the PACS)"
                if self.from_pacs else "")
        return f"Serial scans: {len(self.hc)} HC on the chart{pacs}"

    @property
    def lines(self) -> list[str]:
        """The serial in words, for the panel and the reports: the finding, then the note."""
        return [line for line in (self.finding, self.note) if line]


def no_patient() -> Serial:
    return Serial(None, note=NO_PATIENT)


def serial_of(patient_id: str, entries: list[SerialEntry]) -> Serial:
    """The patient's serial from one entry per scan (any order)."""
    plotted = sorted((e for e in entries if e.why_not is None and e.ga and e.exam_date),
                     key=lambda e: (e.exam_date, e.ga.days))
    left = [f"{e.name} ({e.why_not})" for e in entries if e.why_not is not None]
    note = ("Not on the chart: " + "; ".join(left)) if left else None
    points = {}
    from_pacs = sum(1 for e in plotted if e.from_pacs and e.hc_mm is not None)
    for measure in ("hc_mm", "bpd_mm", "ofd_mm"):
        shown = [e for e in plotted if getattr(e, measure) is not None]
        points[measure] = tuple(GrowthPoint(e.ga.days, getattr(e, measure), e.confirmed,
                                            i == len(shown) - 1, e.exam_date)
                                for i, e in enumerate(shown))
    return Serial(patient_id, points["hc_mm"], points["bpd_mm"], points["ofd_mm"],
                  crossing_finding(points["hc_mm"]), note, from_pacs)


def _percentile(point: GrowthPoint) -> float | None:
    try:
        return hc_centile(point.value_mm, GestationalAge(point.ga_days)).percentile
    except (OutOfRange, ValueError):
        return None


def _ordinal(n: float) -> str:
    n = round(n)
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _when(point: GrowthPoint) -> str:
    return f"{GestationalAge(point.ga_days)}, {point.exam_date.isoformat()}"


def crossing_finding(points: tuple[GrowthPoint, ...]) -> str | None:
    """The finding about the latest HC ``points`` in time order, in words, or None."""
    if not points:
        return None
    latest = points[-1]
    now = _percentile(latest)
    if now is None:
        return None
    said = []
    earlier = [(p, pct) for p in points[:-1] if (pct := _percentile(p)) is not None]
    if earlier:
        start, before = max(earlier, key=lambda item: item[1])
        crossed = [c for c in MAJOR_CENTILES if now < c < before]
        if len(crossed) >= LINES_FOR_FINDING:
            lines = " and ".join(_ordinal(c) for c in reversed(crossed))
            said.append(f"HC fell from the {_ordinal(before)} centile ({_when(start)}) to the "
                        f"{_ordinal(now)} ({_when(latest)}), across the {lines} centile lines")
            unconfirmed = not (start.confirmed and latest.confirmed)
        else:
            unconfirmed = not latest.confirmed
    else:
        unconfirmed = not latest.confirmed
    if now < MAJOR_CENTILES[0]:
        said.append(f"the latest HC ({_when(latest)}) is below the 3rd centile")
    if not said:
        return None
    text = FINDING_START + "; ".join(said) + f" ({INTERGROWTH_NAME})."
    return text + (" Not every measurement in it is confirmed yet." if unconfirmed else "")
