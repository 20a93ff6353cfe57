"""Bringing a study back from the PACS (C-GET) into the app's cache, trusting nothing it sends.

C-GET, not C-MOVE: the PACS sends the objects over the association fetalview opened, so nothing
needs to be configured on the PACS for fetalview's own address or port. What arrives names
folders and files, so it is checked first: the study's UID and every SOP Instance UID must be
valid UIDs (``node.is_uid``: never ``.``/``..``, never two UIDs on one name), every instance
must belong to the study (and patient) asked for, and one SOP Instance UID twice is an error,
never a silent replace. Instances are staged in a folder of their own and move into
``cache/<Study Instance UID>`` only when the retrieval ended well; a cancel, a limit (count or
size) or a failure leaves the cache as it was. The counts say what arrived against what the
PACS said it would send (a C-GET "completed with failures", 0xB000, is reported as such).
Each kept image is also named in words (``describe``: patient, study date, description, image
number), for the app's list: a file named by its UID says nothing to the person choosing it.
The study's biometry reports come along, read (``sr_reader``): the PACS is the department's
shared record, so a result measured on arrival or confirmed elsewhere is shown, not redone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, JPEG2000, JPEG2000Lossless, JPEGBaseline8Bit,
                         JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1, RLELossless)
from pynetdicom import build_role, evt
from pynetdicom.sop_class import (BasicTextSRStorage, ComprehensiveSRStorage,
                                  EnhancedSRStorage,
                                  MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
                                  MultiFrameTrueColorSecondaryCaptureImageStorage,
                                  SecondaryCaptureImageStorage,
                                  StudyRootQueryRetrieveInformationModelGet,
                                  UltrasoundImageStorage, UltrasoundMultiFrameImageStorage)

from fetalview.core.io.outputs import write_atomic
from fetalview.core.pacs.network import (DEFAULT_TIMEOUT_S, PacsError, association,
                                         check_status, peer_text, run_bounded)
from fetalview.core.pacs.node import DEFAULT_CALLING_AET, PacsNode, is_uid
from fetalview.core.results.dicom_results import to_bytes
from fetalview.core.results.sr_reader import SrReadError, StudyReport, read_report

#: What a C-GET asks the PACS to send back: ultrasound frames and loops, captures and reports.
RETRIEVED_CLASSES = (UltrasoundImageStorage, UltrasoundMultiFrameImageStorage,
                     SecondaryCaptureImageStorage,
                     MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
                     MultiFrameTrueColorSecondaryCaptureImageStorage, ComprehensiveSRStorage,
                     EnhancedSRStorage, BasicTextSRStorage)
#: Uncompressed first; then the compressions scanners write, so a PACS need not transcode.
TRANSFER_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit,
                     JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1, JPEG2000Lossless,
                     JPEG2000, RLELossless, DeflatedExplicitVRLittleEndian)
#: A whole study may take long; Cancel ends it sooner.
DEFAULT_RETRIEVE_DEADLINE_S = 900.0
_REFUSED = 0xC000  # C-STORE: cannot understand / refused
_OUT_OF_RESOURCES = 0xA700


@dataclass(frozen=True)
class Limits:
    """The most one retrieval takes: instances, and megabytes in all."""

    instances: int = 2000
    megabytes: int = 4000


@dataclass
class Retrieved:
    """What a retrieval brought: the scans to open, and the counts to say."""

    folder: Path
    saved: list[Path] = field(default_factory=list)  # the instances ``keep`` accepted
    received: int = 0  # instances of the study that arrived and were kept in the cache
    expected: int | None = None  # what the PACS said it would send, when it said
    failed_at_pacs: int = 0  # sub-operations the PACS reported as failed
    refused: list[str] = field(default_factory=list)  # what arrived and was refused, and why
    names: dict[Path, str] = field(default_factory=dict)  # each saved image in words, in order
    #: The study's biometry reports (TID 5000), fetalview's and other systems', as read.
    reports: list[StudyReport] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # reports that could not be read, and why
    notes: list[str] = field(default_factory=list)  # said once its reports were taken in
    patient_id: str | None = None  # the patient the study's instances are of
    #: The reports of the patient's other studies in the PACS (``core.pacs.earlier``).
    earlier: list[StudyReport] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.refused and not self.failed_at_pacs \
            and (self.expected is None or self.received >= self.expected)

    def summary(self) -> str:
        of = f" of {self.expected}" if self.expected is not None else ""
        text = f"Retrieved {self.received}{of} instances"
        if self.failed_at_pacs:
            text += f" (the PACS reported {self.failed_at_pacs} failed)"
        if self.refused:
            text += "; refused: " + "; ".join(self.refused)
        return text + f". {len(self.saved)} image{'s' * (len(self.saved) != 1)} to open."


def is_scan_instance(ds: Dataset) -> bool:
    """An image to open and measure: pixel data, and not one of fetalview's own results."""
    return "PixelData" in ds and str(ds.get("Manufacturer", "")) != "fetalview"


def describe(ds: Dataset) -> tuple[str, str, str]:
    """The patient's name, the study's date (YYYY-MM-DD) and its description, as shown to
    a person (the name's DICOM ``^`` as spaces; what the PACS sent, made printable)."""
    date = peer_text(ds.get("StudyDate", ""))
    if len(date) == 8 and date.isdigit():
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    description = ds.get("StudyDescription", "") or ds.get("SeriesDescription", "")
    name = " ".join(peer_text(ds.get("PatientName", "")).replace("^", " ").split())
    return name or "no patient name", date or "no study date", peer_text(description)


def _order(ds: Dataset) -> tuple:
    """Where an image stands in its study: by series, then instance number, then UID."""
    def number(keyword):
        try:
            return int(ds.get(keyword, 0) or 0)
        except (TypeError, ValueError):
            return 0
    return number("SeriesNumber"), number("InstanceNumber"), str(ds.SOPInstanceUID)


def study_folder(cache: Path, study_uid: str) -> Path:
    """The cache folder of a study, named by its UID once that is checked to be one."""
    if not is_uid(study_uid):
        raise PacsError(f"the PACS gave the study the UID {peer_text(study_uid)!r}, which is not "
                        "a valid DICOM UID; it is not retrieved")
    return Path(cache) / study_uid


class _Receiver:
    """The C-STORE handler of one retrieval: checks each instance, stages the ones kept."""

    def __init__(self, study_uid: str, patient_id: str | None, staging: Path,
                 keep: Callable[[Dataset], bool], limits: Limits, cancel: threading.Event):
        self.study_uid, self.patient_id, self.staging = study_uid, patient_id, staging
        self.keep, self.limits, self.cancel = keep, limits, cancel
        self.seen: set[str] = set()
        self.kept: list[Path] = []
        self.said: dict[Path, tuple[tuple, tuple[str, str, str]]] = {}  # order, description
        self.refused: list[str] = []
        self.reports: list[StudyReport] = []
        self.unread: list[str] = []
        self.duplicate: str | None = None
        self.stopped: str | None = None
        self.bytes = 0

    def stop(self, event, why: str) -> int:
        self.stopped = self.stopped or why
        self.cancel.set()  # the watchdog cuts the connection: the PACS sends nothing more
        return _OUT_OF_RESOURCES

    def on_store(self, event) -> int:
        if self.cancel.is_set():
            return self.stop(event, "cancelled")
        self.bytes += len(event.request.DataSet.getvalue())
        if len(self.seen) >= self.limits.instances:
            return self.stop(event, f"the study holds more than {self.limits.instances} "
                                    "instances, the most one retrieval takes")
        if self.bytes > self.limits.megabytes * 1_000_000:
            return self.stop(event, f"the study is larger than {self.limits.megabytes} MB, the "
                                    "most one retrieval takes")
        ds = event.dataset
        ds.file_meta = event.file_meta
        sop = str(ds.get("SOPInstanceUID", ""))
        if not is_uid(sop):
            self.refused.append(f"an instance whose SOP Instance UID {peer_text(sop)!r} is not "
                                "a valid UID")
            return _REFUSED
        if str(ds.get("StudyInstanceUID", "")) != self.study_uid:
            self.refused.append(f"instance {sop}, of another study")
            return _REFUSED
        patient = str(ds.get("PatientID", "") or "")
        if self.patient_id is None:
            self.patient_id = patient  # the first instance's patient, when none was asked
        if patient != self.patient_id:
            self.refused.append(f"instance {sop}, of another patient")
            return _REFUSED
        if sop in self.seen:
            self.duplicate = sop
            return self.stop(event, f"the PACS sent two instances with SOP Instance UID {sop}")
        self.seen.add(sop)
        if "ContentSequence" in ds and "PixelData" not in ds:  # a report: read, not saved
            try:
                report = read_report(ds)
            except (SrReadError, AttributeError, TypeError, ValueError) as exc:
                self.unread.append(f"report {sop}: {exc}")
            else:
                if report is not None:
                    self.reports.append(report)
        if self.keep(ds):
            path = self.staging / f"{sop}.dcm"
            write_atomic(path, to_bytes(ds))
            self.kept.append(path)
            self.said[path] = (_order(ds), describe(ds))
        return 0x0000


def get_study(node: PacsNode, study_uid: str, cache: Path,
              calling_aet: str = DEFAULT_CALLING_AET, *, patient_id: str | None = None,
              keep: Callable[[Dataset], bool] = is_scan_instance, limits: Limits = Limits(),
              cancel: threading.Event | None = None, timeout: float = DEFAULT_TIMEOUT_S,
              deadline: float = DEFAULT_RETRIEVE_DEADLINE_S,
              series_uids: tuple[str, ...] = ()) -> Retrieved:
    """C-GET a whole study (or only its series ``series_uids``) into ``cache/<study_uid>``;
    the instances ``keep`` accepts are saved there as ``<SOP Instance UID>.dcm`` (fetching
    again replaces only the same object).
    Raises PacsError when it was cancelled, hit a limit or failed: then nothing is kept."""
    folder = study_folder(cache, study_uid)
    Path(cache).mkdir(parents=True, exist_ok=True)
    cancel = cancel or threading.Event()
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=cache))
    receiver = _Receiver(study_uid, patient_id, staging, keep, limits, cancel)
    query = Dataset()
    query.QueryRetrieveLevel = "SERIES" if series_uids else "STUDY"
    query.StudyInstanceUID = study_uid
    if series_uids:
        query.SeriesInstanceUID = list(series_uids)
    contexts = [(StudyRootQueryRetrieveInformationModelGet, (ImplicitVRLittleEndian,))]
    contexts += [(c, TRANSFER_SYNTAXES) for c in RETRIEVED_CLASSES]
    result = Retrieved(folder)

    def work(line):
        with association(line, node, calling_aet, contexts, timeout,
                         roles=[build_role(c, scp_role=True) for c in RETRIEVED_CLASSES],
                         handlers=[(evt.EVT_C_STORE, receiver.on_store)]) as assoc:
            final = None
            for status, _ in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet):
                if receiver.stopped:
                    return
                check_status(status, node, "the retrieval", pending_ok=True)
                final = status
            if final is not None:
                counts = [int(final.get(k, 0) or 0) for k in (
                    "NumberOfCompletedSuboperations", "NumberOfFailedSuboperations",
                    "NumberOfWarningSuboperations")]
                if any(k in final for k in ("NumberOfCompletedSuboperations",
                                            "NumberOfFailedSuboperations")):
                    result.expected = sum(counts)
                result.failed_at_pacs = counts[1]  # the ones refused here among them

    try:
        try:
            run_bounded(node, "the retrieval", deadline, work, cancel)
        except PacsError:
            if receiver.stopped in (None, "cancelled"):
                raise
        if receiver.stopped:
            raise PacsError(f"Retrieval stopped: {receiver.stopped}. Nothing was kept.")
        folder.mkdir(exist_ok=True)
        for number, path in enumerate(sorted(receiver.kept, key=lambda p: receiver.said[p][0]),
                                      1):
            os.replace(path, folder / path.name)
            result.saved.append(folder / path.name)
            result.names[folder / path.name] = ", ".join(
                filter(None, (*receiver.said[path][1], f"image {number}")))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.received, result.refused = len(receiver.seen), receiver.refused
    result.reports, result.unread = receiver.reports, receiver.unread
    result.patient_id = receiver.patient_id
    result.failed_at_pacs = max(0, result.failed_at_pacs - len(receiver.refused))
    return result
