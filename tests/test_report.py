"""The clinical report's scan page: rendered for real, its text read back from the PDF (its
growth page: tests/test_report_growth.py)."""

import re
import unicodedata
from datetime import datetime, timezone

import cv2
import numpy as np
import pytest
from dicomfiles import make_dicom, region

from fetalview.cli import main
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.growth import PREGNANCY_KEY
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.result import build_result
from fetalview.core.record.sidecar import Annotation

pypdf = pytest.importorskip("pypdf")
pytestmark = pytest.mark.gui


def page_text(path, page: int = 0) -> str:
    """A page of the two-page report as plain text (ligatures unfolded, whitespace
    collapsed): 0 the scan and its figures, 1 the growth."""
    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) == 2
    text = unicodedata.normalize("NFKC", reader.pages[page].extract_text())
    return re.sub(r"\s+", " ", text)


def result_of(name, ellipse, pixel_size, *, edited=False, model="m", ga=None, confidence=None,
              when=None, frame=0, frames=1):
    """The record the app or the batch would build for such a result."""
    extra = {PREGNANCY_KEY: {"method": "weeks+days", "ga": ga}} if ga else {}
    a = Annotation(name, ellipse=ellipse, auto_ellipse=ellipse, edited=edited, model_version=model,
                   confidence=confidence, pixel_size=pixel_size, frame=frame, extra=extra)
    return build_result(name, a, None, when=when, frame_count=frames)


def test_report_holds_the_numbers_and_the_disclaimer(tmp_path):
    from fetalview.core.record.result import UNCONFIRMED_NOTE
    from fetalview.report.pdf import write_report

    ellipse = Ellipse(400, 270, 200, 150, 10)
    result = result_of("scan.dcm", ellipse, PixelSize(0.15, "DICOM ultrasound region calibration"),
                       edited=True, model="resunet-0123456789ab",
                       when=datetime(2026, 3, 15, 10, 30), ga="20+0", frame=3, frames=5)
    m = result.measurement
    pixels = np.full((540, 800), 60, np.uint8)
    text = page_text(write_report(tmp_path / "r.pdf", result, pixels))
    for expected in (f"HC {m.hc:.1f} mm", f"BPD {m.bpd:.1f} mm", f"OFD {m.ofd:.1f} mm",
                     "Gestational age given: 20w+0d",
                     "GA from HC 19w+2d (Hadlock 1984", "HC at 20w+0d:", "INTERGROWTH-21st",
                     "0.1500 mm/pixel (DICOM ultrasound region calibration)",
                     "edited, not confirmed yet", "model resunet-0123456789ab",
                     "2026-03-15 10:30", "scan.dcm, frame 3", UNCONFIRMED_NOTE):
        assert expected in text, expected
    assert "Patient" not in text

    patient = {"patient_name": "Doe Jane", "patient_id": "PID-7"}
    text = page_text(write_report(tmp_path / "p.pdf", result, pixels, patient))
    assert "Patient: Doe Jane" in text and "Patient ID: PID-7" in text


def test_a_confirmed_report_names_its_confirmer_and_the_clinic_heads_it(tmp_path, paris):
    """A confirmed scan's PDF said "to be confirmed by a clinician", and no report named the
    clinic."""
    from dataclasses import replace

    from fetalview.core.record.result import UNCONFIRMED_NOTE
    from fetalview.core.record.review import sign_off
    from fetalview.report.pdf import write_report

    ellipse, ps = Ellipse(400, 270, 200, 150, 10), PixelSize(0.15, "typed by user")
    result = result_of("scan.png", ellipse, ps)
    signoff = sign_off("A. Jones", ellipse, ellipse, ps, "m",
                       now=datetime(2026, 12, 5, 8, 14, tzinfo=timezone.utc))
    confirmed = replace(result, signoff=signoff, state=signoff.state)
    pixels = np.full((540, 800), 60, np.uint8)
    text = page_text(write_report(tmp_path / "r.pdf", confirmed, pixels,
                                  clinic="St Mary's  Fetal\nMedicine"))
    said = "confirmed by A. Jones on 2026-12-05 09:14 CET (UTC+01:00)"
    assert said in text and UNCONFIRMED_NOTE not in text
    assert text.startswith("St Mary's Fetal Medicine Fetal head biometry")
    text = page_text(write_report(tmp_path / "u.pdf", result, pixels))
    assert UNCONFIRMED_NOTE in text and "A. Jones" not in text
    assert text.startswith("Fetal head biometry")


def test_flagged_report_withholds_growth_and_highlights_why(tmp_path):
    from fetalview.report.pdf import write_report

    ellipse = Ellipse(400, 270, 200, 94, 0)  # BPD/OFD 0.47: no head is that long
    result = result_of("a.png", ellipse, PixelSize(0.15, "typed by user"), ga="20+0",
                       confidence=0.62)
    text = page_text(write_report(tmp_path / "r.pdf", result, np.full((540, 800), 60, np.uint8)))
    assert "Review: model confidence 0.62" in text and "ratio 0.47" in text
    assert "GA and percentile: review the contour first" in text
    assert "Hadlock" not in text and "percentile," not in text
    assert "model m, model confidence 0.62" in text
    assert "automatic, flagged for review (not reviewed)" in text
    assert "BPD 28.2 mm (outer-outer)" in text and "outside 70-86" in text


def test_report_without_pixel_size_says_so(tmp_path):
    from fetalview.report.pdf import write_report

    ellipse = Ellipse(100, 80, 60, 40, 0)
    result = result_of("a.png", ellipse, None)
    text = page_text(write_report(tmp_path / "r.pdf", result, np.zeros((160, 200), np.uint8)))
    assert "no pixel size" in text and "No gestational age or percentile" in text
    assert "automatic (not reviewed)" in text


def test_batch_writes_reports_for_a_dicom_cine(tmp_path, samples_dir):
    """A real scan in a two-frame DICOM with a calibration region: measured from frame 1,
    reported with the region's pixel size, patient fields only when asked."""
    gray = cv2.imread(str(samples_dir / "249_HC.png"), cv2.IMREAD_GRAYSCALE)
    rows, cols = gray.shape
    cine = np.stack([np.zeros_like(gray), gray])
    path = make_dicom(tmp_path / "cine.dcm", cine,
                      regions=[region(0, 0, cols - 1, rows - 1, 0.0123)])
    out = tmp_path / "reports"
    assert main(["measure", str(path), "--frame", "1", "--reports", str(out),
                 "--out", str(tmp_path / "r.csv"), "--device", "cpu"]) == 0
    text = page_text(out / "cine_fetalview_report.pdf")
    assert "cine.dcm, frame 1" in text and "(DICOM ultrasound region calibration)" in text
    assert re.search(r"HC \d+\.\d mm", text) and "Doe Jane" not in text
    assert main(["measure", str(path), "--frame", "1", "--reports", str(out),
                 "--report-patient-fields", "--out", str(tmp_path / "r.csv"),
                 "--device", "cpu"]) == 0
    assert "Patient: Doe Jane" in page_text(out / "cine_fetalview_report.pdf")
