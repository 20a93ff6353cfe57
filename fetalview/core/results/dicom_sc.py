"""The annotated image as DICOM Secondary Capture, so any PACS viewer shows contour and figures.

A viewer shows the contour and the figures beside the scan it was measured on: the SC goes in
the scan's own study (a new series), or, for a PNG/JPEG scan that has no study, in a new one
made from the patient fields typed in the app. The caption lies in a band below the image
(``overlay.render_overlay``), so the image's pixel coordinates are those of the scan.
"""

from __future__ import annotations

import copy
import datetime as dt
import re

import cv2
import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset

from fetalview import __version__
from fetalview.core.io.safetext import printable
from fetalview.core.results import dicom_values
from fetalview.core.results.dicom_sr import UTF8

MANUFACTURER = "fetalview"
SC_SERIES_NUMBER = 9102
BODY_PART = "UTERUS"
#: What an LO may not hold: a backslash (a second value) and control characters.
_UNWRITABLE = re.compile(r"[\\\x00-\x1f\x7f-\x9f]")


def typed_study(patient: dict[str, str], when: dt.datetime | None = None) -> Dataset:
    """Patient and study attributes for a scan that came without them (PNG/JPEG), from the
    fields typed in the app or on the command line (``patient_name`` as Family^Given,
    ``patient_id``, ``exam_date`` ISO). A name or ID DICOM cannot hold as typed is refused
    (``DicomValueError``), never cut or rewritten."""
    when = when or dt.datetime.now()
    ds = Dataset()
    ds.PatientName = dicom_values.person_name(patient.get("patient_name") or "",
                                              "the patient's name")
    ds.PatientID = dicom_values.text("LO", patient.get("patient_id") or "", "the patient ID")
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    exam = patient.get("exam_date")
    ds.StudyDate = (dt.date.fromisoformat(exam) if exam else when.date()).strftime("%Y%m%d")
    ds.StudyTime = when.strftime("%H%M%S")
    ds.StudyID = ""
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    return ds


def new_study(study: Dataset, description: str, study_uid: str) -> Dataset:
    """``study``'s patient and study attributes under a study UID of fetalview's own, so the
    results never merge into somebody else's study (``study_uid``: derived from the scan and
    patient by ``dicom_results``, so a re-send joins the same study). ``description`` is
    fetalview's own words (a file name in it may hold anything): made a valid LO."""
    ds = copy.deepcopy(study)
    ds.StudyInstanceUID = study_uid
    ds.StudyDescription = _UNWRITABLE.sub("_", printable(description))[:64]
    return ds


def build_sc(annotated_bgr: np.ndarray, study: Dataset,
             uids: tuple[str, str]) -> hd.sc.SCImage:
    """An 8-bit RGB Secondary Capture of ``annotated_bgr`` in ``study``'s patient and study;
    ``uids`` its Series and SOP Instance UIDs (as ``dicom_sr.build_sr``'s)."""
    rgb = np.ascontiguousarray(cv2.cvtColor(annotated_bgr, cv2.COLOR_BGR2RGB))
    sc = hd.sc.SCImage.from_ref_dataset(
        study, rgb, "RGB", 8, "PATIENT", uids[0], SC_SERIES_NUMBER,
        uids[1], 1, MANUFACTURER, patient_orientation=("A", "F"),
        transfer_syntax_uid="1.2.840.10008.1.2.1",
        specific_character_set=UTF8)  # names typed or copied need not be ASCII
    sc.PatientOrientation = ""  # unknown for a free-hand probe: empty (Type 2C), not made up
    sc.SeriesDescription = "fetalview annotated head"
    sc.SoftwareVersions = f"fetalview {__version__}"
    # An obstetric scan examines the pregnant uterus (PS3.16 Annex L), an unpaired part: so
    # Laterality (Type 2C, for paired parts) is absent, not empty
    sc.BodyPartExamined = BODY_PART
    sc.BurnedInAnnotation = "YES"  # the caption names the measurement, and maybe the patient
    return sc
