"""A patient's record across scans: the pregnancy's dating, given once, and who and when a scan is.

A pregnancy is dated once (by its EDD, its LMP, or the GA a dating scan gave on its date) and
that dating holds for every scan of the patient on any date: the GA at each scan follows from
the scan's own exam date. So the dating is kept with the patient, not with a scan: in one JSON
file in the app's data folder (``PatientBook``), keyed by Patient ID. A scan belongs to a patient
by the Patient ID its DICOM header states, or, for a PNG/JPEG (which has none), the one a person
assigned in the app, saved in the scan's sidecar with its typed exam date (``PATIENT_KEY``).

A clinician's dating is never lost: every change is written atomically (a kill leaves the old
file or the new one) after reading the file afresh, so another workstation's changes to other
patients stay; the dating it replaces is kept in the patient's ``previous`` list; and a file
this version cannot read is never written over: it is renamed aside, kept, and the user told.
A scan dated in its own sidecar before datings were kept per patient (``extra["pregnancy"]``)
keeps that dating while its patient has none (``pregnancy_record``).
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

from fetalview.core.io.dicom import DicomError, looks_like_dicom, patient_fields, read_header
from fetalview.core.io.outputs import write_atomic
from fetalview.core.measure.biometry import OUTER_OUTER
from fetalview.core.measure.growth import DATES_CHECKED, PREGNANCY_KEY, parse_date
from fetalview.core.record.result import build_result, serial_entry
from fetalview.core.record.serial import Serial, SerialEntry, no_patient, serial_of
from fetalview.core.record.sidecar import Annotation

#: ``Annotation.extra`` key of who and when a PNG/JPEG scan is, as a person gave them:
#: ``{"patient_id": "...", "exam_date": "2026-05-24"}`` (a DICOM scan's own fields win).
PATIENT_KEY = "patient"
#: The book's file in the app's data folder, and what its JSON says it is.
BOOK_NAME = "patients.json"
FORMAT = "fetalview-patients"
VERSION = 1
#: The methods a patient's dating may use: each dates the pregnancy once, for any exam date
#: (a GA typed "today" is kept as a dating scan of that scan's date, see ``as_dating``).
DATING_METHODS = ("edd", "lmp", "dating scan")
#: The inputs of each method, beside ``method`` (and ``dates_checked`` once confirmed).
DATING_FIELDS = {"edd": ("edd",), "lmp": ("lmp",), "dating scan": ("scan_date", "scan_ga")}


class PatientBookError(Exception):
    """The book cannot be read or written; the message says so for the user."""


def scan_patient(metadata: dict, extra: dict) -> tuple[str | None, str | None]:
    """Whose scan this is and its exam date (ISO): the file's own (DICOM), else what a person
    assigned to it in the app; None for what neither gives."""
    assigned = extra.get(PATIENT_KEY) or {}
    patient_id = (metadata.get("patient_id") or assigned.get("patient_id") or "").strip()
    exam = metadata.get("exam_date") or (assigned.get("exam_date") or "").strip()
    return patient_id or None, exam or None


def file_fields(path: Path) -> dict[str, str]:
    """The patient fields a scan file states (DICOM: name, ID, exam date), read from its
    header only; {} for an image file or a header that cannot be read (said when opened)."""
    try:
        return patient_fields(read_header(path)) if looks_like_dicom(path) else {}
    except (DicomError, OSError):
        return {}


def serial_for(patient_id: str | None, scans: list[tuple[str, Annotation, dict]],
               dating: dict | None, convention: str = OUTER_OUTER,
               until: date | None = None, earlier: tuple[SerialEntry, ...] = ()) -> Serial:
    """The serial of ``patient_id`` among ``scans`` (each its name, its annotation and its
    file's patient fields, ``file_fields``), each dated by the patient's ``dating`` on its own
    exam date; without a patient ID, none, and why (``serial.NO_PATIENT``). The BPD points are
    in ``convention`` where a person placed outer-to-inner calipers, else outer-to-outer.
    ``until``: the exam date of the scan whose record this is: its serial is what was known
    then, so it ends with that scan (its finding is that scan's), and a later scan does not
    change what an earlier one's report says. ``earlier``: the patient's scans read from
    reports of other studies in the PACS (``core.pacs.earlier``), points only."""
    if not patient_id:
        return no_patient()
    entries = []
    for name, annotation, fields in scans:
        pid, exam = scan_patient(fields, annotation.extra)
        day = exam_day(exam)
        if pid == patient_id and not (until and day and day > until):
            record = build_result(name, annotation, None, convention,
                                  pregnancy=pregnancy_record(dating, annotation.extra, exam))
            entries.append(serial_entry(record, day))
    entries += [e for e in earlier if not (until and e.exam_date and e.exam_date > until)]
    return serial_of(patient_id, entries)


def exam_day(exam: str | None) -> date | None:
    """An exam date as a date; None when it is missing or does not parse."""
    try:
        return parse_date(exam, "exam date") if exam else None
    except ValueError:
        return None


def pregnancy_record(dating: dict | None, extra: dict, exam: str | None) -> dict | None:
    """The pregnancy record (``growth.ga_from_record``'s form) that dates one scan: the
    patient's ``dating`` on the scan's ``exam`` date (``exam_date`` left empty when the scan
    has none, which ``ga_from_record`` refuses), else the scan's own saved record."""
    if dating and dating.get("method"):
        return {**dating, "exam_date": exam or ""}
    return extra.get(PREGNANCY_KEY) or None


def as_dating(record: dict, exam: str | None) -> dict:
    """What the pregnancy panel entered, as a patient's dating: the exam date dropped (each
    scan brings its own), a GA typed for this scan kept as a dating scan on its ``exam`` date."""
    record = {k: v for k, v in record.items() if k != "exam_date"}
    if record.get("method") == "weeks+days":
        record = {"method": "dating scan", "scan_date": exam or "", "scan_ga": record.get("ga", ""),
                  **({DATES_CHECKED: True} if record.get(DATES_CHECKED) else {})}
    return record


class PatientBook:
    """Each patient's dating, by Patient ID, in one JSON file (``BOOK_NAME`` in the data
    folder). Read afresh on every call: another workstation may have changed it."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {"format": FORMAT, "version": VERSION, "patients": {}}
        except (OSError, ValueError) as exc:
            raise PatientBookError(f"the patients' dating file {self.path} cannot be read "
                                   f"({exc})") from None
        if (not isinstance(data, dict) or data.get("format") != FORMAT
                or data.get("version") != VERSION or not isinstance(data.get("patients"), dict)):
            raise PatientBookError(f"the patients' dating file {self.path} is not one this "
                                   f"version of fetalview reads")
        return data

    def dating(self, patient_id: str | None) -> dict | None:
        """The patient's dating, or None (no ID, none given). PatientBookError when the file
        cannot be read."""
        if not patient_id:
            return None
        entry = self._read()["patients"].get(patient_id) or {}
        dating = entry.get("dating")
        return dict(dating) if isinstance(dating, dict) and dating.get("method") else None

    def set_dating(self, patient_id: str, dating: dict) -> str | None:
        """Save the patient's ``dating`` ({} clears it), keeping the one it replaces in the
        patient's ``previous``. Returns a note for the user when an unreadable file had to be
        set aside first (it is kept, renamed); OSError when the file cannot be written."""
        note = None
        try:
            data = self._read()
        except PatientBookError as exc:
            aside = self._set_aside()
            note = f"{exc}; it is kept as {aside.name} and a new one was started"
            data = self._read()
        entry = dict(data["patients"].get(patient_id) or {})
        old = entry.get("dating")
        if old == (dating or None):
            return note
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if old:
            entry["previous"] = list(entry.get("previous") or []) + [{**old, "replaced": now}]
        entry.update(dating=dict(dating) or None, changed=now)
        data["patients"][patient_id] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
        return note

    def _set_aside(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        for n in range(1, 1000):
            aside = self.path.with_name(f"patients.unreadable-{stamp}-{n}.json")
            if not os.path.lexists(aside):
                os.rename(self.path, aside)
                return aside
        raise OSError(f"no free name to keep {self.path} aside")
