"""Reports of a patient's earlier studies in the PACS as points of the patient's serial.

Each of fetalview's reports that stands (``sr_reader.newest``: the end of its predecessor chain,
per image) becomes one point: its study's date, its HC/BPD/OFD, confirmed iff the report is
VERIFIED, the GA from the patient's dating on that date (so an edited dating moves the earlier
points with today's), else the GA the report's own summary (TID 5002) states. An automatic
report with a review flag is left off the chart, as a flagged scan here is. The points are
read-only: they are not scans of the list and cannot be edited. Kept apart from the networking
(``core.pacs.earlier``) so that building a record never imports pynetdicom.
"""

from __future__ import annotations

from fetalview.core.measure.growth import GestationalAge, ga_from_record
from fetalview.core.record.patients import pregnancy_record
from fetalview.core.record.serial import SerialEntry
from fetalview.core.results.sr_reader import StudyReport, newest


def serial_entries(reports: list[StudyReport], dating: dict | None) -> tuple[SerialEntry, ...]:
    """Each image's standing fetalview report among ``reports`` as a point of the patient's
    serial, dated by the patient's ``dating`` (else the report's own GA); see the module."""
    ours = [r for r in reports if r.ours]
    images = {(r.ref.study_instance_uid, r.image_uid) for r in ours}
    entries = []
    for study, image in sorted(images, key=str):
        report = newest(r for r in ours if (r.ref.study_instance_uid, r.image_uid)
                        == (study, image))
        entries.append(_entry(report, dating))
    return tuple(entries)


def _entry(report: StudyReport, dating: dict | None) -> SerialEntry:
    day = report.exam_date
    name = f"PACS report of {day.isoformat() if day else 'an undated study'}"
    ga, why = None, None
    if report.review_flag and not report.verified:
        why = "awaits review"
    elif day is None:
        why = "no exam date"
    else:
        try:
            ga = ga_from_record(pregnancy_record(dating, {}, day.isoformat()))
        except ValueError:
            why = "dates questioned"
        if ga is None and why is None and report.summary_ga_days is not None:
            try:
                ga = GestationalAge(report.summary_ga_days)
            except ValueError:
                ga = None
        why = why or (None if ga is not None else "not dated")
    shown = why is None
    return SerialEntry(name, day, ga if shown else None, report.hc if shown else None,
                       report.bpd if shown else None, report.ofd if shown else None,
                       report.verified, why, from_pacs=True)
