"""What one measured scan leaves for the PACS: its Structured Report and its annotated image.

Both go in the scan's own study when the scan is DICOM (same Study Instance UID, each in a new
series), so the reporting system and the viewer find them beside the scan; a PNG/JPEG scan
gets one new study holding both, the SR pointing at the Secondary Capture as its image.
Used by ``fetalview measure --dicom-out`` and by the app's Send to PACS alike.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from fetalview.core.io import dicom
from fetalview.core.results.dicom_sc import build_sc, new_study
from fetalview.core.io.outputs import write_outputs
from fetalview.core.io.scans import Scan
from fetalview.core.record.result import ScanResult
from fetalview.core.results.dicom_sr import SourceImage, build_sr
from fetalview.core.results.overlay import annotated_image

SR_SUFFIX = "_SR.dcm"
SC_SUFFIX = "_SC.dcm"
#: What a source DICOM needs for the results to join its study and point at it.
_IDENTITY = ("StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID", "SOPInstanceUID")
#: Patient and study attributes of Type 2 (present, maybe empty) that the SR and SC copy;
#: scanners do not all write them.
_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
          "StudyID", "AccessionNumber", "ReferringPhysicianName")


@dataclass(frozen=True)
class DicomResults:
    sr: Dataset
    sc: Dataset

    def write(self, folder: Path, stem: str) -> list[Path]:
        """``<stem>_SR.dcm`` and ``<stem>_SC.dcm`` in ``folder``, both or neither (an SR must
        never point at an image that is not there), never through a link
        (``outputs.write_outputs``). The SR takes its name first: if the SC then fails, the new
        SR is removed again, so no SR is left beside an older run's SC."""
        files = [(Path(folder) / (stem + suffix), to_bytes(ds))
                 for ds, suffix in ((self.sr, SR_SUFFIX), (self.sc, SC_SUFFIX))]
        write_outputs(files)
        return [path for path, _ in files]


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def make_results(scan: Scan, result: ScanResult, *, organization: str = "",
                 patient: dict[str, str] | None = None, named: bool = False) -> DicomResults:
    """The SR and SC of ``scan``'s ``result``: the SC is the annotated image (``named`` as the
    app's own exports are), the SR its figures and review; ``patient`` the typed fields for a
    scan that is not DICOM. Raises ValueError without a pixel size and ``dicom.DicomError``
    when the source DICOM can no longer be read."""
    if not result.in_mm:
        raise ValueError("no pixel size: nothing in mm to report")
    image = annotated_image(result, scan.pixels, named=named)
    header = dicom.read_header(scan.path) if dicom.looks_like_dicom(scan.path) else None
    if header is not None and all(k in header for k in _IDENTITY):
        for keyword in _TYPE2:
            if keyword not in header:
                setattr(header, keyword, "")
        sc = build_sc(image, header)
        evidence, source = header, SourceImage.of(header, scan.metadata.get("frame", 0))
    else:  # no study to join: a new one, with the DICOM's own patient fields if it has them
        fields = dicom.patient_fields(header) if header is not None else (patient or {})
        study = new_study(fields, f"fetalview measurement of {scan.path.name}")
        sc = build_sc(image, study)
        evidence, source = sc, SourceImage.of(sc)
    return DicomResults(build_sr(evidence, source, result, organization), sc)
