"""A patient's earlier studies in the PACS as points of the serial (issue 19 item 3): each
image's standing fetalview report is one point, dated by the patient's dating on its study's
date (else by the GA its summary states), confirmed iff VERIFIED; other systems' reports and
a flagged automatic one never plot."""

from datetime import date

import numpy as np
import pydicom
import pytest
from dicomfiles import make_dicom

from fetalview.core.batch import batch_result
from fetalview.core.io.scans import load_scan
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.growth import GestationalAge, hc_at_centile
from fetalview.core.model.segmentation import Segmentation
from fetalview.core.record.pacs_origin import SrReference
from fetalview.core.record.patients import serial_for
from fetalview.core.record.serial import FINDING_START
from fetalview.core.results.dicom_results import make_results
from fetalview.core.results.sr_reader import StudyReport, read_report
from fetalview.core.results.sr_serial import serial_entries

EDD = {"method": "edd", "edd": "2026-09-01"}  # 2026-03-17 is 16+0, 2026-05-12 is 24+0
E = Ellipse(100.0, 100.0, 80.0, 60.0, 0.0)


def _report(study, sop, day, hc, *, verified=False, predecessors=(), ours=True, flag=None,
            summary_ga=None):
    return StudyReport(SrReference(study, f"{study}.9", "1.2.840.10008.5.1.4.1.1.88.33", sop),
                       ours, "fetalview (m1)", f"{study}.1", hc, None, None,
                       ellipse=E if ours else None, verified=verified,
                       verifier="Smith Anna" if verified else None,
                       predecessors=predecessors, review_flag=flag, exam_date=day,
                       summary_ga_days=summary_ga)


def _reports():
    high = hc_at_centile(GestationalAge(16 * 7), 70)
    return [
        _report("1.1", "1.1.1", date(2026, 3, 17), high - 5),  # automatic, then confirmed:
        _report("1.1", "1.1.2", date(2026, 3, 17), high, verified=True, predecessors=("1.1.1",)),
        _report("1.2", "1.2.1", date(2026, 5, 12), hc_at_centile(GestationalAge(168), 60)),
        _report("1.2", "1.2.5", date(2026, 5, 12), 150.0, ours=False),  # the scanner's own
        _report("1.3", "1.3.1", date(2026, 4, 14), 120.0, flag="low confidence"),
    ]


def test_each_standing_report_is_one_point_dated_by_the_patients_dating():
    entries = {e.exam_date: e for e in serial_entries(_reports(), EDD)}
    assert set(entries) == {date(2026, 3, 17), date(2026, 5, 12), date(2026, 4, 14)}
    confirmed = entries[date(2026, 3, 17)]
    assert confirmed.confirmed and confirmed.from_pacs
    assert confirmed.hc_mm == pytest.approx(hc_at_centile(GestationalAge(112), 70))
    assert confirmed.ga == GestationalAge(16 * 7)
    automatic = entries[date(2026, 5, 12)]
    assert not automatic.confirmed and automatic.ga == GestationalAge(24 * 7)
    flagged = entries[date(2026, 4, 14)]
    assert flagged.why_not == "awaits review" and flagged.hc_mm is None


def test_without_a_dating_here_the_reports_own_ga_dates_it():
    [entry] = serial_entries([_report("2.1", "2.1.1", date(2026, 3, 17), 120.0,
                                      summary_ga=115)], None)
    assert entry.ga == GestationalAge(115)
    [undated] = serial_entries([_report("2.1", "2.1.1", date(2026, 3, 17), 120.0)], None)
    assert undated.ga is None and undated.why_not == "not dated"


def test_the_serial_counts_the_points_from_the_pacs_and_finds_the_fall():
    low_today = hc_at_centile(GestationalAge(24 * 7 + 28), 2)
    earlier = serial_entries(_reports()[:2], EDD)
    today = serial_for("P1", [], EDD, earlier=earlier)
    assert today.from_pacs == 1
    assert today.chart_line == ("Serial scans: 1 HC on the chart (1 of them from earlier "
                                "studies in the PACS)")
    fall = serial_entries(_reports()[:2] + [_report("1.4", "1.4.1", date(2026, 6, 9),
                                                    low_today, verified=True)], EDD)
    serial = serial_for("P1", [], EDD, earlier=fall)
    assert [p.exam_date for p in serial.hc] == [date(2026, 3, 17), date(2026, 6, 9)]
    assert serial.finding.startswith(FINDING_START)
    assert "across the 50th and 10th" in serial.finding
    until = serial_for("P1", [], EDD, until=date(2026, 4, 1), earlier=fall)
    assert [p.exam_date for p in until.hc] == [date(2026, 3, 17)]  # a later study: not yet


def test_a_written_report_gives_back_its_study_date_and_the_ga_its_summary_states(tmp_path):
    path = make_dicom(tmp_path / "a.dcm", np.full((160, 200), 60, np.uint8),
                      pixel_spacing=[0.5, 0.5])
    ds = pydicom.dcmread(path)
    ds.StudyDate = "20260512"
    ds.save_as(path)
    scan = load_scan(path)
    segmentation = Segmentation(None, E.points(64), E, 0.99, "m1", pixel_size=scan.pixel_size)
    record = batch_result("a", scan, segmentation, pregnancy={**EDD, "exam_date": "2026-05-12"})
    report = read_report(make_results(scan, record).sr)
    assert report.exam_date == date(2026, 5, 12)
    assert report.summary_ga_days == 24 * 7
    [entry] = serial_entries([report], None)  # no dating here: the report's own GA
    assert entry.ga == GestationalAge(24 * 7) and entry.hc_mm == pytest.approx(report.hc)
