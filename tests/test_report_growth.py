"""The report's growth page: the HC chart on the INTERGROWTH-21st centiles, the z-score, the
header from the DICOM, and a patient's table of scans; its text read back with Ghostscript
(the chart's labels must be text in the PDF, not pixels)."""

import re
import shutil
import subprocess
from datetime import date

import numpy as np
import pytest
from test_report import page_text, result_of

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.growth import GrowthPoint
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.report.pdf import write_report

pytestmark = pytest.mark.gui
HEAD = Ellipse(200, 150, 90, 70, 0)  # HC 252 mm at 0.5 mm/pixel
PIXELS = np.zeros((300, 400), np.uint8)


def gs_text(path) -> str:
    """The PDF's text as Ghostscript reads it, whitespace collapsed."""
    if shutil.which("gs") is None:
        pytest.skip("Ghostscript is not installed")
    run = subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=txtwrite",
                          "-sOutputFile=-", str(path)], capture_output=True, text=True,
                         check=True)
    return re.sub(r"\s+", " ", run.stdout)


def test_the_chart_with_its_centile_labels_and_z_score_is_in_the_pdf(tmp_path):
    result = result_of("a.png", HEAD, PixelSize(0.5, "test"), ga="28+0")
    path = write_report(tmp_path / "r.pdf", result, PIXELS)
    growth = page_text(path, 1)
    assert "Head circumference growth" in growth
    text = gs_text(path)
    for label in ("3rd", "10th", "50th", "90th", "97th", "Gestational age (weeks)"):
        assert label in text, label
    assert re.search(r"HC at 28w\+0d: \d+\w\w percentile, z [+-]\d\.\d\d", growth), growth


def test_without_a_gestational_age_the_chart_says_why_it_has_no_point(tmp_path):
    result = result_of("a.png", HEAD, PixelSize(0.5, "test"))
    growth = page_text(write_report(tmp_path / "r.pdf", result, PIXELS), 1)
    assert "No point on the chart: no gestational age given" in growth


def test_the_header_carries_the_allowed_patient_fields_and_a_table_of_every_scan(tmp_path):
    result = result_of("a.png", HEAD, PixelSize(0.5, "test"), ga="32+0")
    patient = {"patient_name": "Doe Jane", "patient_id": "P123", "birth_date": "1990-04-02",
               "exam_date": "2026-03-01", "facility": "St Elsewhere", "operator": "Smith A"}
    points = [GrowthPoint(20 * 7, 175.0, True, False, date(2025, 11, 9)),
              GrowthPoint(32 * 7, 252.0, False, True, date(2026, 3, 1)),
              GrowthPoint(26 * 7, 240.0, True, False, date(2026, 1, 18))]
    path = write_report(tmp_path / "r.pdf", result, PIXELS, patient, points=points)
    for page in (page_text(path, 0), page_text(path, 1)):
        for words in ("Patient: Doe Jane", "Patient ID: P123", "Birth date: 1990-04-02",
                      "Exam date: 2026-03-01", "Facility: St Elsewhere", "Operator: Smith A"):
            assert words in page, words
    growth = page_text(path, 1)
    rows = [growth.index(d) for d in ("2025-11-09", "2026-01-18", "2026-03-01 32w+0d")]
    assert rows == sorted(rows)  # in date order
    assert "2025-11-09 20w+0d 175.0 mm" in growth and "not confirmed" in growth


def test_a_single_scan_gets_no_table_and_no_patient_fields_unless_allowed(tmp_path):
    result = result_of("a.png", HEAD, PixelSize(0.5, "test"), ga="28+0")
    growth = page_text(write_report(tmp_path / "r.pdf", result, PIXELS), 1)
    assert "Exam date" not in growth and "Patient" not in growth


def test_the_list_report_charts_every_confirmed_scan_at_its_age(tmp_path):
    from dataclasses import replace
    from datetime import datetime, timezone

    from fetalview.charts.growth_chart import LIST_LEGEND
    from fetalview.core.record.review import sign_off
    from fetalview.report.list_pdf import ListedScan, write_list_report

    ps = PixelSize(0.5, "test")
    signed = sign_off("A. Jones", HEAD, HEAD, ps, "m",
                      now=datetime(2026, 12, 5, 8, 14, tzinfo=timezone.utc))
    confirmed = replace(result_of("a.png", HEAD, ps, ga="28+0"), signoff=signed,
                        state=signed.state)
    assert confirmed.chart[0] and confirmed.chart[0][0].confirmed
    scans = [ListedScan("a.png", confirmed), ListedScan("b.png", result_of("b.png", HEAD, ps))]
    text = gs_text(write_list_report(tmp_path / "list.pdf", scans, "/data/day 1"))
    for words in ("3rd", "50th", "97th", "Gestational age (weeks)", LIST_LEGEND[:40]):
        assert words in text, words
    assert text.index(LIST_LEGEND[:40]) < text.index("a.png")  # the chart heads the list
