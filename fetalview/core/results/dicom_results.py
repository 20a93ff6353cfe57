"""What one measured scan leaves for the PACS: its Structured Report and its annotated image.

Both go in the scan's own study when the scan is DICOM (same Study Instance UID, each in a new
series), so the reporting system and the viewer find them beside the scan; a PNG/JPEG scan
gets one new study holding both, the SR pointing at the Secondary Capture as its image.
Used by ``fetalview measure --dicom-out`` and by the app's Send to PACS alike.

Their UIDs are not random: they are derived from the source's identity and a digest of the
result (``ResultUids``), so sending an unchanged result again gives the PACS the same
instances (which it keeps once) instead of another SR and image series each time, while a
changed result gets new ones: a new report beside the old.
"""

from __future__ import annotations

import copy
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import generate_uid

from fetalview.core.io import dicom
from fetalview.core.io.outputs import write_outputs
from fetalview.core.io.safetext import display_name
from fetalview.core.io.scans import Scan
from fetalview.core.record.result import ScanResult, result_digest
from fetalview.core.results import dicom_values
from fetalview.core.results.dicom_sc import build_sc, new_study, typed_study
from fetalview.core.results.dicom_sr import SourceImage, build_sr
from fetalview.core.results.dicom_values import DicomValueError
from fetalview.core.results.overlay import annotated_image

SR_SUFFIX = "_SR.dcm"
SC_SUFFIX = "_SC.dcm"
#: What a source DICOM needs for the results to join its study and point at it.
_IDENTITY = ("StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID", "SOPInstanceUID")
#: Patient and study attributes of Type 2 (present, maybe empty) that the SR and SC copy, in
#: their DICOM form, with their VR; scanners do not all write them. Those that say whose
#: result it is are copied exactly or not at all (``DicomValueError``); the others, when not
#: valid, are left out (empty) and the results' notes say so.
_IDENTIFYING = {"PatientName": "PN", "PatientID": "LO", "AccessionNumber": "SH"}
_OPTIONAL = {"PatientBirthDate": "DA", "PatientSex": "CS", "StudyDate": "DA", "StudyTime": "TM",
             "StudyID": "SH", "ReferringPhysicianName": "PN"}
#: PS3.3 C.7.1.1: Patient's Sex is M, F, O or empty.
_SEXES = ("M", "F", "O")
_WORDS = {"PatientName": "the patient's name", "PatientID": "the patient ID",
          "AccessionNumber": "the accession number", "PatientBirthDate": "the birth date",
          "PatientSex": "the patient's sex", "StudyDate": "the study date",
          "StudyTime": "the study time", "StudyID": "the study ID",
          "ReferringPhysicianName": "the referring physician's name",
          "StudyInstanceUID": "the Study Instance UID",
          "SeriesInstanceUID": "the Series Instance UID", "SOPClassUID": "the SOP Class UID",
          "SOPInstanceUID": "the SOP Instance UID"}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DicomResults:
    sr: Dataset
    sc: Dataset
    notes: tuple[str, ...] = ()  # what was left out or changed in where they go, in words
    digest: str = ""  # the result's ``result_digest``: what a record of this send names

    def write(self, folder: Path, stem: str) -> list[Path]:
        """``<stem>_SR.dcm`` and ``<stem>_SC.dcm`` in ``folder``, both or neither (an SR must
        never point at an image that is not there), never through a link
        (``outputs.write_outputs``). The SR takes its name first: if the SC then fails, the new
        SR is removed again, so no SR is left beside an older run's SC."""
        files = [(Path(folder) / (stem + suffix), to_bytes(ds))
                 for ds, suffix in ((self.sr, SR_SUFFIX), (self.sc, SC_SUFFIX))]
        write_outputs(files)
        return [path for path, _ in files]


@dataclass(frozen=True)
class ResultUids:
    """The UIDs of one result's SR and SC: the same for the same source and result.

    ``source`` names the scan (a DICOM's study and SOP Instance UIDs and frame; for a PNG/JPEG
    scan its pixels and the patient typed for it), ``result`` is a digest of everything the
    record says (``result_digest``) and of who it is reported for. A PNG/JPEG scan's new study
    hangs on ``source`` only, so a corrected result joins the study of the first."""

    source: str
    result: str

    def _uid(self, *parts: str) -> str:
        return generate_uid(entropy_srcs=["fetalview", *parts])

    @property
    def study(self) -> str:
        return self._uid("study", self.source)

    @property
    def sr(self) -> tuple[str, str]:
        return self._uid("sr series", self.source, self.result), \
            self._uid("sr", self.source, self.result)

    @property
    def sc(self) -> tuple[str, str]:
        return self._uid("sc series", self.source, self.result), \
            self._uid("sc", self.source, self.result)


def _source_identity(scan: Scan, header: Dataset | None, patient: dict | None) -> str:
    """What names the scan the result is of, in words a digest can take: its pixels and frame,
    and whose they are (a source's UIDs and patient, or the patient typed for a PNG/JPEG), so
    two scans never share a study fetalview made, even without UIDs of their own."""
    pixels = hashlib.sha256(scan.pixels.tobytes()).hexdigest()
    said = [_value(header, k) for k in (*_IDENTITY, *_IDENTIFYING)] if header is not None \
        else sorted((patient or {}).items())
    return repr((pixels, scan.pixels.shape, scan.metadata.get("frame", 0), said))


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def make_results(scan: Scan, result: ScanResult, *, organization: str = "",
                 patient: dict[str, str] | None = None, named: bool = False) -> DicomResults:
    """The SR and SC of ``scan``'s ``result``: the SC is the annotated image (``named`` as the
    app's own exports are), the SR its figures and review; ``patient`` the typed fields for a
    scan that is not DICOM.

    A source DICOM's patient and study attributes are copied in their DICOM form, each checked
    for its VR. Without valid Study, Series, SOP Class and SOP Instance UIDs the results cannot
    join the source's study or point at it: they go to a new study, the SR pointing at the SC,
    and the notes (logged as warnings) say so, as they say each optional value left out.

    Raises ValueError without a pixel size, ``DicomValueError`` for a value that DICOM cannot
    hold as it is (nothing is altered: that scan's DICOM output stops) and ``dicom.DicomError``
    when the source DICOM can no longer be read or its character set is not DICOM's."""
    if not result.in_mm:
        raise ValueError("no pixel size: nothing in mm to report")
    image = annotated_image(result, scan.pixels, named=named)
    header = dicom.read_header(scan.path) if dicom.looks_like_dicom(scan.path) else None
    notes: list[str] = []
    description = f"fetalview measurement of {display_name(scan.path)}"
    uids = ResultUids(_source_identity(scan, header, patient),
                      result_digest(result, organization, named))
    if header is None:
        study = new_study(typed_study(patient or {}), description, uids.study)
        joined = None
    else:
        study = _source_study(header, notes)
        joined = _joined(header, study, notes)
    if joined is not None:
        sc = build_sc(image, joined, uids.sc)
        evidence, source = joined, SourceImage.of(joined, scan.metadata.get("frame", 0), notes)
    else:  # no study to join: a new one, with the patient, the SR pointing at the capture
        sc = build_sc(image, study if header is None else new_study(study, description,
                                                                    uids.study), uids.sc)
        evidence, source = sc, SourceImage.of(sc)
    for note in notes:
        log.warning("%s: %s", display_name(scan.path), note)
    return DicomResults(build_sr(evidence, source, result, organization, uids.sr), sc,
                        tuple(notes), uids.result)


def _source_study(header: Dataset, notes: list[str]) -> Dataset:
    """The source's patient and study attributes as DICOM has them (``Doe^Jane``, YYYYMMDD),
    decoded from its declared character set, each valid for its VR: an identifying one that
    is not stops the output; another is left empty and noted."""
    dicom.check_character_set(header)
    study = Dataset()
    for keyword, vr in {**_IDENTIFYING, **_OPTIONAL}.items():
        value = _value(header, keyword)
        try:
            if keyword == "PatientSex" and value:
                value = dicom_values.code(value, _WORDS[keyword], _SEXES)
            elif value:
                value = dicom_values.CHECKS[vr](value, _WORDS[keyword])
        except DicomValueError as exc:
            if keyword in _IDENTIFYING:
                raise
            notes.append(f"{exc.what} {dicom_values.shown(value)} {exc.why}: left out of "
                         "the SR and SC")
            value = ""
        setattr(study, keyword, value)
    return study


def _joined(header: Dataset, study: Dataset, notes: list[str]) -> Dataset | None:
    """``study`` with the source image's UIDs, to join its study and point at it; None (and a
    note) when one of them is missing or not a valid UID."""
    joined = copy.deepcopy(study)
    for keyword in _IDENTITY:
        value = _value(header, keyword)
        try:
            setattr(joined, keyword, dicom_values.uid(value, _WORDS[keyword]))
        except DicomValueError as exc:
            notes.append(f"{exc.what} {dicom_values.shown(value) if value else 'is missing'}"
                         f"{' ' + exc.why if value else ''}: the SR and SC go to a new study of "
                         "the same patient, and the SR points at the SC, not at the scan")
            return None
    if "NumberOfFrames" in header:
        joined.NumberOfFrames = header.NumberOfFrames
    return joined


def _value(header: Dataset, keyword: str) -> str:
    """An attribute's value as text in its DICOM form; several values joined by the backslash
    that separates them in DICOM, so that the checks see (and refuse) them."""
    value = header.get(keyword)
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)
