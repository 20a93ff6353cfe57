"""The annotated image as DICOM Secondary Capture, so any PACS viewer shows contour and figures.

A viewer shows the contour and the figures beside the scan it was measured on: the SC goes in
the scan's own study (a new series), or, for a PNG/JPEG scan that has no study, in a new one
made from the patient fields typed in the app. The caption lies in a band below the image
(``overlay.render_overlay``), so the image's pixel coordinates are those of the scan.
"""

from __future__ import annotations

import datetime as dt

import cv2
import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from fetalview import __version__
from fetalview.core.results.dicom_sr import UTF8

MANUFACTURER = "fetalview"
SC_SERIES_NUMBER = 9102


def new_study(patient: dict[str, str], description: str, when: dt.datetime | None = None
              ) -> Dataset:
    """Patient and study attributes for a scan that came without them (PNG/JPEG), from the
    fields typed in the app (``patient_name``, ``patient_id``, ``exam_date`` ISO): a new
    Study Instance UID, so it never merges into somebody else's study."""
    when = when or dt.datetime.now()
    ds = Dataset()
    ds.PatientName = (patient.get("patient_name") or "").strip()
    ds.PatientID = (patient.get("patient_id") or "").strip()
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = generate_uid()
    exam = patient.get("exam_date")
    ds.StudyDate = (dt.date.fromisoformat(exam) if exam else when.date()).strftime("%Y%m%d")
    ds.StudyTime = when.strftime("%H%M%S")
    ds.StudyID = ""
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = description[:64]
    return ds


def build_sc(annotated_bgr: np.ndarray, study: Dataset) -> hd.sc.SCImage:
    """An 8-bit RGB Secondary Capture of ``annotated_bgr`` in ``study``'s patient and study."""
    rgb = np.ascontiguousarray(cv2.cvtColor(annotated_bgr, cv2.COLOR_BGR2RGB))
    sc = hd.sc.SCImage.from_ref_dataset(
        study, rgb, "RGB", 8, "PATIENT", hd.UID(), SC_SERIES_NUMBER,
        hd.UID(), 1, MANUFACTURER, patient_orientation=("A", "F"),
        transfer_syntax_uid="1.2.840.10008.1.2.1")
    sc.PatientOrientation = ""  # unknown for a free-hand probe: empty (Type 2C), not made up
    sc.SeriesDescription = "fetalview annotated head"
    sc.SpecificCharacterSet = UTF8  # names typed or copied need not be ASCII
    sc.SoftwareVersions = f"fetalview {__version__}"
    sc.Laterality = ""  # Type 2C: dciodvfy asks for it on an image without Image Laterality
    sc.BurnedInAnnotation = "YES"  # the caption names the measurement, and maybe the patient
    return sc
