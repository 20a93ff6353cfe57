"""``fetalview measure --edd --reports``: each scan's report with its patient's serial scans.

A dated patient's report carries the serial chart, the table of scans and the finding (issue 19),
as the app's does: every scan of the run of that patient up to the report's own exam date (a
scan's serial ends with it, ``patients.serial_for(..., until=exam)``, so a later scan changes no
earlier report). That needs every scan measured first, so with ``--edd`` the batch keeps, per
scan, what its report needs apart from the pixels (the annotation, the record and the file's
patient fields: a few kilobytes) and writes the reports after the measuring pass, reading each
scan's pixels again for its first page: one scan's pixels in memory at a time, as while
measuring. A scan whose pixels are no longer those measured gets no report: its page would show
an image the figures were not measured on.

The CSV rows are written as scans are measured, before the reports; so a report that cannot be
written is said on standard error, named in ``failed``, and the run ends with exit code 1, as for
any output file not written.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fetalview.core.io.dicom import DicomError, looks_like_dicom
from fetalview.core.io.outputs import output_name, reason
from fetalview.core.io.safetext import printable
from fetalview.core.io.scans import Scan, ScanLoadError, load_scan
from fetalview.core.record.patients import exam_day, scan_patient, serial_for
from fetalview.core.record.result import ScanResult
from fetalview.core.record.sidecar import Annotation

#: Said after a report that could not be written: its row was written before, and says nothing.
ROW_SAYS_NOTHING = ("with --edd the reports are written after every scan is measured, so the "
                    "scan's CSV row does not say so")
CHANGED = "the scan's pixels changed on disk after it was measured"


@dataclass(frozen=True)
class _Kept:
    """What one scan's report needs, but its pixels."""

    name: str
    path: Path
    frame: int
    stem: str
    annotation: Annotation
    fields: dict[str, str]  # the file's Patient ID and exam date (``patients.scan_patient``)
    record: ScanResult
    digest: bytes  # of the pixels measured, to know them again


def _digest(pixels: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(pixels).tobytes(), digest_size=16).digest()


class SerialReports:
    """The run's reports, kept while measuring (``keep``) and written at the end (``write``)
    into ``folder`` by ``write_report`` (``batch.ReportWriter``), each scan dated by
    ``dating``."""

    def __init__(self, folder: Path, write_report, dating: dict):
        self.folder, self.write_report, self.dating = folder, write_report, dating
        self.kept: list[_Kept] = []
        #: The names of the scans whose report could not be written (each said on stderr).
        self.failed: list[str] = []

    def keep(self, name: str, scan: Scan, record: ScanResult, annotation: Annotation,
             stem: str) -> None:
        fields = {k: scan.metadata[k] for k in ("patient_id", "exam_date") if k in scan.metadata}
        self.kept.append(_Kept(name, scan.path, scan.metadata.get("frame", 0), stem, annotation,
                               fields, record, _digest(scan.pixels)))

    def write(self, progress: bool = False) -> None:
        """Write every kept scan's report with its serial; each failure said and counted."""
        scans = [(k.name, k.annotation, k.fields) for k in self.kept]
        for kept in tqdm(self.kept, desc="reports", unit="report", file=sys.stderr,
                         disable=not progress):
            patient_id, exam = scan_patient(kept.fields, kept.annotation.extra)
            try:
                serial = serial_for(patient_id, scans, self.dating, until=exam_day(exam))
                self._write(kept, replace(kept.record, serial=serial))
            except Exception as exc:  # one scan's report must not cost the others theirs
                self.failed.append(kept.name)
                why = (reason(exc) if isinstance(exc, OSError) else str(exc)
                       if isinstance(exc, (ValueError, DicomError, ScanLoadError))
                       else f"{type(exc).__name__}: {exc}")
                tqdm.write(printable(f"fetalview: {kept.name}: no report written (--reports: "
                                     f"{why}); {ROW_SAYS_NOTHING}"), file=sys.stderr)
        self.kept = []

    def _write(self, kept: _Kept, record: ScanResult) -> None:
        scan = load_scan(kept.path, kept.frame if looks_like_dicom(kept.path) else 0)
        if _digest(scan.pixels) != kept.digest:
            raise ValueError(CHANGED)
        self.write_report(self.folder / output_name(kept.stem, "report", ".pdf"), scan, record)
