"""The open list's patients: the dating each scan takes from its patient, and the patient's
serial scans among the listed ones.

A scan's record (``ScanDocument.result``) is built with its patient's dating (kept once per
patient in the ``PatientBook``) on its own exam date, and with its patient's serial scans: every
listed scan of the same Patient ID, opened or measured in the background, from a folder or
retrieved from the PACS alike, and, for a study opened from the PACS, the patient's earlier
studies' reports there (``set_earlier``: read-only points). So the panel, the exports, the PDF and the SR all say the same
GA and the same finding. The core decides all of it (``core.record.patients``); this object only
gathers what the list knows: each scan's annotation and its file's patient fields (a DICOM
header is read once, without pixels).
"""

from __future__ import annotations

from pathlib import Path

from fetalview.core.io.safetext import display_name
from fetalview.core.measure.biometry import OUTER_OUTER
from fetalview.core.record.patients import (BOOK_NAME, PatientBook, PatientBookError,
                                            as_dating, exam_day, file_fields, pregnancy_record,
                                            scan_patient, serial_for)
from fetalview.core.record.result import ScanResult, build_result
from fetalview.core.record.serial import Serial
from fetalview.core.record.sidecar import Annotation


class PatientRecords:
    """What the session's documents ask for their records (``context``), and where the
    pregnancy panel's dating of a patient goes (``set_dating``)."""

    def __init__(self, session):
        self.session = session
        self.book = PatientBook(Path(session.settings.data_dir).parent / BOOK_NAME)
        self._fields: dict[Path, dict] = {}
        #: Why the patients' dating cannot be read now, for the panel; None while it can.
        self.problem: str | None = None
        #: The patient of the study opened from the PACS, and their other studies' reports.
        self._earlier: tuple[str | None, list] = (None, [])

    def set_earlier(self, patient_id: str | None, reports: list) -> None:
        """The reports (``sr_reader.StudyReport``) of ``patient_id``'s earlier studies in the
        PACS, shown as points of that patient's serial until another list is opened."""
        self._earlier = (patient_id, list(reports)) if patient_id else (None, [])

    def remember(self, path: Path, fields: dict | None) -> None:
        """What the background queue read of a scan's file: its Patient ID and exam date."""
        if fields is not None:
            self._fields[path] = fields

    def fields(self, path: Path) -> dict:
        """The patient fields of the scan at ``path``: its open document's, else those the
        background queue read, else (rarely: a scan neither opened nor queued) its file's."""
        document = self.session.documents.get(path)
        if document is not None:
            self._fields[path] = document.scan.metadata  # kept once it is closed
            return document.scan.metadata
        if path not in self._fields:
            self._fields[path] = file_fields(path)
        return self._fields[path]

    def dating(self, patient_id: str | None) -> dict | None:
        try:
            dating = self.book.dating(patient_id)
        except PatientBookError as exc:
            self.problem = f"The pregnancy's dating is not used: {exc}."
            return None
        self.problem = None
        return dating

    def context(self, document, annotation: Annotation,
                convention: str = OUTER_OUTER) -> tuple[dict | None, Serial]:
        """The record that dates ``document``'s scan shown with ``annotation`` and its
        patient's serial scans (the listed ones, this one with ``annotation``)."""
        return self._context(document.path, annotation, document.scan.metadata, convention)

    def listed_record(self, path: Path, annotation: Annotation,
                      name: str | None = None) -> ScanResult:
        """The record of a listed scan's saved ``annotation``, dated and with its serial scans
        as its document's would be, for the folder's CSV and list report (no pixels); named
        ``name`` (the list's names, ``safetext.scan_names``), else by its file name."""
        pregnancy, serial = self._context(path, annotation, self.fields(path), OUTER_OUTER)
        return build_result(name or display_name(path), annotation, None, pregnancy=pregnancy,
                            serial=serial)

    def _context(self, path: Path, annotation: Annotation, fields: dict,
                 convention: str) -> tuple[dict | None, Serial]:
        patient_id, exam = scan_patient(fields, annotation.extra)
        dating = self.dating(patient_id)
        scans = [(display_name(path), annotation, fields)] if patient_id else []
        for other in self.session.scans if patient_id else ():
            known, saved = self.session.known_result(other)
            if other != path and known and saved is not None:
                scans.append((display_name(other), saved, self.fields(other)))
        earlier_id, reports = self._earlier
        earlier = ()
        if reports and patient_id == earlier_id:
            # reports come only from a PACS retrieval, which loaded the SR reader (highdicom)
            # already; imported here, the window starts without it
            from fetalview.core.results.sr_serial import serial_entries
            earlier = serial_entries(reports, dating)
        return (pregnancy_record(dating, annotation.extra, exam),
                serial_for(patient_id, scans, dating, convention, exam_day(exam), earlier))

    def patient_of(self, document) -> tuple[str | None, str | None]:
        """The Patient ID and exam date of ``document``'s scan (the file's, else assigned)."""
        return scan_patient(document.scan.metadata, document.annotation.extra)

    def set_dating(self, document, record: dict) -> str | None:
        """Keep the dating the panel entered for the patient of ``document``; returns what the
        user must read (the book set aside, or not written), else None."""
        patient_id, exam = self.patient_of(document)
        if record.get("method") == "weeks+days" and not exam:
            return ("A GA typed for this scan dates the patient's pregnancy from the scan's exam "
                    "date, which is not known: give the exam date, or the EDD or LMP.")
        try:
            return self.book.set_dating(patient_id, as_dating(record, exam))
        except OSError as exc:
            return (f"The pregnancy's dating for patient {patient_id} was not saved: cannot "
                    f"write {self.book.path} ({exc.strerror or exc}). Nothing was changed.")
