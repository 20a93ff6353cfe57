"""Talking to the clinic's PACS over DICOM networking (pynetdicom): echo, store, find, get.

Every call opens one association and closes it; a node that refuses the association, cannot be
reached or refuses an object raises ``PacsError`` with a sentence for the user, so the caller
(the batch, the app's worker) reports it for that scan and goes on. C-GET, not C-MOVE, brings
studies back: the PACS sends the objects over the association fetalview opened, so nothing
needs to be configured on the PACS for fetalview's own address or port.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, JPEG2000, JPEG2000Lossless, JPEGBaseline8Bit,
                         JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1, RLELossless)
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (BasicTextSRStorage, ComprehensiveSRStorage,
                                  EnhancedSRStorage,
                                  MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
                                  MultiFrameTrueColorSecondaryCaptureImageStorage,
                                  SecondaryCaptureImageStorage,
                                  StudyRootQueryRetrieveInformationModelFind,
                                  StudyRootQueryRetrieveInformationModelGet,
                                  UltrasoundImageStorage, UltrasoundMultiFrameImageStorage,
                                  Verification)

from fetalview.core.results.dicom_results import to_bytes
from fetalview.core.io.outputs import write_atomic
from fetalview.core.pacs.node import DEFAULT_CALLING_AET, PacsNode, check_ae_title

DEFAULT_TIMEOUT_S = 10.0
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
_PENDING = (0xFF00, 0xFF01)


class PacsError(Exception):
    """The PACS could not do what was asked; the message is for the user."""


@dataclass(frozen=True)
class StudyHit:
    """One study a C-FIND found, with what the Open from PACS list shows (newest first)."""

    study_uid: str
    patient_name: str
    patient_id: str
    study_date: str
    description: str
    modalities: str  # e.g. "OT, SR, US"
    instances: str


@contextmanager
def _association(node: PacsNode, calling_aet: str, contexts: Iterable[tuple[str, tuple]],
                 timeout: float, roles=(), handlers=()):
    ae = AE(ae_title=check_ae_title(calling_aet))
    for attr in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, attr, timeout)
    for abstract, syntaxes in contexts:
        ae.add_requested_context(abstract, list(syntaxes))
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, ext_neg=list(roles),
                         evt_handlers=list(handlers))
    if not assoc.is_established:
        if assoc.is_rejected:
            raise PacsError(f"{node} refused the connection (is {calling_aet} known to it?)")
        # pynetdicom reports a refused TCP connection as an abort too
        raise PacsError(f"{node} cannot be reached (nothing accepted the connection: is it "
                        "running, and are host and port right?)")
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


def echo(node: PacsNode, calling_aet: str = DEFAULT_CALLING_AET,
         timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """C-ECHO: the app's Test connection."""
    with _association(node, calling_aet, [(Verification, (ImplicitVRLittleEndian,))],
                      timeout) as assoc:
        status = assoc.send_c_echo()
        _check(status, node, "the echo")


def store(node: PacsNode, paths: list[Path], calling_aet: str = DEFAULT_CALLING_AET,
          timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """C-STORE each file, in one association; raises on the first one not stored.

    A file without a Patient ID is refused before anything is sent: the PACS would file it
    under no patient (or under whichever other study has an empty ID), where nobody finds it
    and somebody else's worklist may."""
    datasets = [pydicom.dcmread(p) for p in paths]
    for path, ds in zip(paths, datasets):
        if not str(ds.get("PatientID", "") or "").strip():
            raise PacsError(f"{Path(path).name} has no patient ID: the PACS would file it "
                            "under no patient; nothing was sent")
    contexts = {(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in datasets}
    with _association(node, calling_aet, [(c, (ts,)) for c, ts in sorted(contexts)],
                      timeout) as assoc:
        for path, ds in zip(paths, datasets):
            _check(assoc.send_c_store(ds), node, Path(path).name)


def find_studies(node: PacsNode, calling_aet: str = DEFAULT_CALLING_AET, *,
                 patient_id: str = "", patient_name: str = "", study_date: str = "",
                 timeout: float = DEFAULT_TIMEOUT_S) -> list[StudyHit]:
    """C-FIND at study level. ``patient_name`` matches anywhere in the name (wildcards added);
    ``study_date`` is YYYYMMDD or a range YYYYMMDD-YYYYMMDD; empty fields match everything."""
    query = Dataset()
    query.SpecificCharacterSet = "ISO_IR 192"  # a typed name need not be ASCII
    query.QueryRetrieveLevel = "STUDY"
    query.PatientID = patient_id.strip()
    name = patient_name.strip()
    query.PatientName = f"*{name}*" if name else ""
    query.StudyDate = study_date.strip()
    for keyword in ("StudyInstanceUID", "StudyDescription", "ModalitiesInStudy",
                    "NumberOfStudyRelatedInstances"):
        setattr(query, keyword, "")
    hits = []
    with _association(node, calling_aet,
                      [(StudyRootQueryRetrieveInformationModelFind, (ImplicitVRLittleEndian,))],
                      timeout) as assoc:
        for status, found in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
            _check(status, node, "the search", pending_ok=True)
            if found is not None and status.Status in _PENDING:
                hits.append(StudyHit(
                    str(found.get("StudyInstanceUID", "")),
                    str(found.get("PatientName", "") or "").replace("^", " ").strip(),
                    str(found.get("PatientID", "")), str(found.get("StudyDate", "")),
                    str(found.get("StudyDescription", "")),
                    ", ".join(_values(found.get("ModalitiesInStudy"))),
                    str(found.get("NumberOfStudyRelatedInstances", ""))))
    return sorted(hits, key=lambda h: (h.study_date, h.patient_name), reverse=True)


def _values(value) -> list[str]:
    """A DICOM value as a list of strings: one value comes back as a plain string."""
    if value is None or value == "":
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def is_scan_instance(ds: Dataset) -> bool:
    """An image to open and measure: pixel data, and not one of fetalview's own results."""
    return "PixelData" in ds and str(ds.get("Manufacturer", "")) != "fetalview"


def get_study(node: PacsNode, study_uid: str, folder: Path,
              calling_aet: str = DEFAULT_CALLING_AET, *,
              keep: Callable[[Dataset], bool] = is_scan_instance,
              timeout: float = DEFAULT_TIMEOUT_S) -> list[Path]:
    """C-GET a whole study; the instances ``keep`` accepts are saved in ``folder`` as
    ``<SOP Instance UID>.dcm`` (so fetching again replaces only the same object). Returns them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def on_store(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        if keep(ds):
            path = folder / (re.sub(r"[^0-9.]", "_", str(ds.SOPInstanceUID)) + ".dcm")
            write_atomic(path, to_bytes(ds))
            saved.append(path)
        return 0x0000

    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    contexts = [(StudyRootQueryRetrieveInformationModelGet, (ImplicitVRLittleEndian,))]
    contexts += [(c, TRANSFER_SYNTAXES) for c in RETRIEVED_CLASSES]
    with _association(node, calling_aet, contexts, timeout,
                      roles=[build_role(c, scp_role=True) for c in RETRIEVED_CLASSES],
                      handlers=[(evt.EVT_C_STORE, on_store)]) as assoc:
        for status, _ in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet):
            _check(status, node, "the retrieval", pending_ok=True)
    return saved


def _check(status: Dataset | None, node: PacsNode, what: str, pending_ok: bool = False) -> None:
    """Raise PacsError unless the DIMSE status says success (or warning, or pending)."""
    if status is None or "Status" not in status:
        raise PacsError(f"{node} did not answer {what} (timed out or connection lost)")
    code = int(status.Status)
    if code == 0x0000 or (code & 0xF000) == 0xB000:  # success, or done with a warning
        return
    if pending_ok and code in _PENDING:
        return
    comment = str(status.get("ErrorComment", "") or "").strip()
    raise PacsError(f"{node} refused {what} (status 0x{code:04X}{': ' + comment if comment else ''})")
