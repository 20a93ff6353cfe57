"""Talking to the clinic's PACS over DICOM networking (pynetdicom): echo, store, find.

Every call opens one association under a deadline (``network.run_bounded``) and closes it; a
node that refuses the association, cannot be reached, stops answering or refuses an object
raises ``PacsError`` with a sentence for the user, so the caller (the batch, the app's worker)
reports it for that scan and goes on; ``PacsUnreachable`` tells it that the node itself did not
work. ``retrieve`` brings studies back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind, Verification

from fetalview.core.pacs.network import (DEFAULT_DEADLINE_S, DEFAULT_TIMEOUT_S, PacsError,
                                         PacsUnreachable, association, check_status, peer_text,
                                         run_bounded, status_problem)
from fetalview.core.pacs.node import DEFAULT_CALLING_AET, PacsNode

__all__ = ["DEFAULT_CALLING_AET", "DEFAULT_TIMEOUT_S", "PacsError", "PacsNode",
           "PacsUnreachable", "StudyHit", "echo", "find_studies", "store"]
_PENDING = (0xFF00, 0xFF01)
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


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


def echo(node: PacsNode, calling_aet: str = DEFAULT_CALLING_AET,
         timeout: float = DEFAULT_TIMEOUT_S, deadline: float = DEFAULT_DEADLINE_S) -> None:
    """C-ECHO: the app's Test connection."""
    def work(line):
        with association(line, node, calling_aet, [(Verification, (ImplicitVRLittleEndian,))],
                         timeout) as assoc:
            check_status(assoc.send_c_echo(), node, "the echo")
    run_bounded(node, "the echo", deadline, work)


def _describe(ds: Dataset, path: Path) -> str:
    """What a file is, in the words of a message: fetalview's own two, or the file's name."""
    if str(ds.get("Modality", "")) == "SR":
        return "the report (SR)"
    if str(ds.get("SOPClassUID", "")) == _SECONDARY_CAPTURE:
        return "the annotated image (SC)"
    return Path(path).name


def store(node: PacsNode, paths: list[Path], calling_aet: str = DEFAULT_CALLING_AET,
          timeout: float = DEFAULT_TIMEOUT_S, deadline: float = DEFAULT_DEADLINE_S) -> None:
    """C-STORE each file, in one association; raises unless every one was stored, saying per
    file what was stored and what was refused and why.

    A file without a Patient ID is refused before anything is sent: the PACS would file it
    under no patient (or under whichever other study has an empty ID), where nobody finds it
    and somebody else's worklist may."""
    datasets = [pydicom.dcmread(p) for p in paths]
    for path, ds in zip(paths, datasets):
        if not str(ds.get("PatientID", "") or "").strip():
            raise PacsError(f"{Path(path).name} has no patient ID: the PACS would file it "
                            "under no patient; nothing was sent")
    contexts = {(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in datasets}
    outcome: list[tuple[str, str | None]] = []  # (what, why not stored or None), as it goes

    def work(line):
        with association(line, node, calling_aet, [(c, (ts,)) for c, ts in sorted(contexts)],
                         timeout) as assoc:
            for path, ds in zip(paths, datasets):
                what = _describe(ds, path)
                status = assoc.send_c_store(ds)
                outcome.append((what, status_problem(status, node, what)))
                if status is None or "Status" not in status:
                    break  # the connection is gone: the rest cannot go either

    try:
        run_bounded(node, "the store", deadline, work)
    except PacsError as exc:
        stored = [what for what, why in outcome if why is None]
        if stored:
            raise type(exc)(f"{exc}; before that, {' and '.join(stored)} "
                            f"{'was' if len(stored) == 1 else 'were'} stored") from None
        raise
    if any(why for _, why in outcome) or len(outcome) < len(paths):
        said = [f"{what} was stored" if why is None else f"{what} was not stored: {why}"
                for what, why in outcome]
        said += [f"{_describe(ds, p)} was not sent" for p, ds in
                 zip(paths[len(outcome):], datasets[len(outcome):])]
        cls = PacsUnreachable if len(outcome) < len(paths) else PacsError
        raise cls("; ".join(said))


def find(node: PacsNode, query: Dataset, what: str, calling_aet: str = DEFAULT_CALLING_AET,
         timeout: float = DEFAULT_TIMEOUT_S,
         deadline: float = DEFAULT_DEADLINE_S) -> list[Dataset]:
    """The answers to a Study Root C-FIND of ``query`` (``what`` names it in messages), within
    the deadline (``network.run_bounded``)."""
    def work(line):
        answers = []
        with association(line, node, calling_aet,
                         [(StudyRootQueryRetrieveInformationModelFind, (ImplicitVRLittleEndian,))],
                         timeout) as assoc:
            for status, found in assoc.send_c_find(query,
                                                   StudyRootQueryRetrieveInformationModelFind):
                check_status(status, node, what, pending_ok=True)
                if found is not None and status.Status in _PENDING:
                    answers.append(found)
        return answers
    return run_bounded(node, what, deadline, work)


def find_studies(node: PacsNode, calling_aet: str = DEFAULT_CALLING_AET, *,
                 patient_id: str = "", patient_name: str = "", study_date: str = "",
                 timeout: float = DEFAULT_TIMEOUT_S,
                 deadline: float = DEFAULT_DEADLINE_S) -> list[StudyHit]:
    """C-FIND at study level. ``patient_name`` matches anywhere in the name (wildcards added);
    ``study_date`` is YYYYMMDD or a range YYYYMMDD-YYYYMMDD; empty fields match everything.
    The hits' texts are the PACS's, made printable; their UIDs are checked when retrieved."""
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
    hits = [StudyHit(str(found.get("StudyInstanceUID", "")),
                     peer_text(found.get("PatientName", "")).replace("^", " ").strip(),
                     peer_text(found.get("PatientID", "")),
                     peer_text(found.get("StudyDate", "")),
                     peer_text(found.get("StudyDescription", "")),
                     ", ".join(peer_text(v) for v in _values(found.get("ModalitiesInStudy"))),
                     peer_text(found.get("NumberOfStudyRelatedInstances", "")))
            for found in find(node, query, "the search", calling_aet, timeout, deadline)]
    return sorted(hits, key=lambda h: (h.study_date, h.patient_name), reverse=True)


def _values(value) -> list[str]:
    """A DICOM value as a list of strings: one value comes back as a plain string."""
    if value is None or value == "":
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]
