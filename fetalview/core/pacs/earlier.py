"""A patient's earlier scans in the PACS: the reports of their other studies, as serial points.

Opened from the PACS, today's study holds today's images only; the patient's earlier scans are
other studies there. Their serial (``core.record.serial``) must still show them, so this finds
the patient's other studies (C-FIND by Patient ID), and of each fetches only its reports
(a series-level C-FIND for Modality SR, then a C-GET of those series alone: an earlier study's
images are never retrieved) and reads them (``sr_reader``). Nothing is written to the cache.
``core.results.sr_serial`` makes them the serial's points. Runs in the retrieval's background
job.
"""

from __future__ import annotations

import tempfile
import threading

from pydicom.dataset import Dataset

from fetalview.core.pacs.client import find, find_studies
from fetalview.core.pacs.network import DEFAULT_DEADLINE_S, DEFAULT_TIMEOUT_S
from fetalview.core.pacs.node import DEFAULT_CALLING_AET, PacsNode, is_uid
from fetalview.core.pacs.retrieve import get_study
from fetalview.core.results.sr_reader import StudyReport

def report_series(node: PacsNode, study_uid: str, calling_aet: str = DEFAULT_CALLING_AET,
                  timeout: float = DEFAULT_TIMEOUT_S,
                  deadline: float = DEFAULT_DEADLINE_S) -> tuple[str, ...]:
    """The UIDs of the study's report series (Modality SR), by a series-level C-FIND."""
    query = Dataset()
    query.QueryRetrieveLevel = "SERIES"
    query.StudyInstanceUID = study_uid
    query.Modality = "SR"
    query.SeriesInstanceUID = ""

    return tuple(uid for hit in find(node, query, "the search for reports", calling_aet, timeout,
                                     deadline)
                 if is_uid(uid := str(hit.get("SeriesInstanceUID", "")))
                 and str(hit.get("Modality", "SR")) == "SR")


def earlier_reports(node: PacsNode, patient_id: str, study_uid: str,
                    calling_aet: str = DEFAULT_CALLING_AET,
                    cancel: threading.Event | None = None
                    ) -> tuple[list[StudyReport], list[str]]:
    """The reports of ``patient_id``'s studies other than ``study_uid``, and what could not be
    read, in words. PacsError when the PACS cannot be asked."""
    reports: list[StudyReport] = []
    unread: list[str] = []
    for hit in find_studies(node, calling_aet, patient_id=patient_id):
        if hit.study_uid == study_uid or hit.patient_id != patient_id:
            continue
        series = report_series(node, hit.study_uid, calling_aet)
        if not series:
            continue
        with tempfile.TemporaryDirectory(prefix="fetalview-earlier-") as nowhere:
            got = get_study(node, hit.study_uid, nowhere, calling_aet, patient_id=patient_id,
                            keep=lambda ds: False, cancel=cancel, series_uids=series)
        reports += got.reports
        unread += [f"A report of the patient's study of {hit.study_date} could not be read "
                   f"({why})." for why in got.unread]
    return reports, unread
