"""Reading TID 5000 reports back from the PACS: fetalview's own (round trip through build_sr),
other systems' figures, predecessor chains, and a confirmation naming the report it replaces."""

import datetime as dt
import time
from dataclasses import replace

import cv2
import numpy as np
import pydicom
import pytest

from dicomcheck import dciodvfy_errors
from dicomfiles import make_dicom, region
from fetalview.core.io.scans import load_scan
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.record.model_result import review_needed, scan_state
from fetalview.core.record.pacs_origin import PACS_KEY, SrReference, pacs_note, replaced_report
from fetalview.core.record.result import build_result
from fetalview.core.record.review import CORRECTED, sign_off
from fetalview.core.record.sidecar import Annotation
from fetalview.core.results.dicom_results import make_results
from fetalview.core.results.sr_reader import newest, read_report
from fetalview.core.pacs.shared_record import with_report

ELLIPSE = Ellipse(200.3, 150.7, 120.25, 90.5, 23.0)
TALL = Ellipse(200.0, 150.0, 70.0, 95.0, -12.0)  # semi-axis a the minor one


def _scan(tmp_path):
    img = np.full((300, 400), 30, np.uint8)
    cv2.ellipse(img, (200, 150), (120, 90), 20, 0, 360, 220, 3)
    return load_scan(make_dicom(tmp_path / "src.dcm", img, regions=[region(0, 0, 399, 299,
                                                                           0.05)]))


def _sr(scan, annotation):
    result = build_result(scan.path.name, annotation, scan.pixels)
    return result, make_results(scan, result, organization="Clinic X").sr


def _automatic(scan, ellipse=ELLIPSE, confidence=0.99):
    return Annotation(scan.path.name, ellipse=ellipse, auto_ellipse=ellipse,
                      model_version="resunet-test", confidence=confidence,
                      pixel_size=scan.pixel_size)


def _points(e: Ellipse) -> np.ndarray:
    return np.sort(e.points(720), axis=0)


@pytest.mark.parametrize("ellipse", [ELLIPSE, TALL])
def test_fetalviews_report_reads_back_to_its_ellipse_and_figures(tmp_path, ellipse):
    scan = _scan(tmp_path)
    result, sr = _sr(scan, _automatic(scan, ellipse))
    report = read_report(sr)
    assert report.ours and report.model_version == "resunet-test"
    assert report.image_uid == str(pydicom.dcmread(scan.path).SOPInstanceUID)
    e = report.ellipse
    assert (e.cx, e.cy) == pytest.approx((ellipse.cx, ellipse.cy), abs=0.01)
    assert (e.major, e.minor) == pytest.approx((ellipse.major, ellipse.minor), abs=0.01)
    assert np.abs(_points(e) - _points(ellipse)).max() < 0.02  # the same outline
    assert report.hc == round(result.ellipse_measurement.hc, 2)
    assert report.bpd == round(result.ellipse_measurement.bpd, 2)
    assert report.ofd == round(result.ellipse_measurement.ofd, 2)
    assert not report.verified and report.complete and report.verifier is None
    assert report.ref.sop_instance_uid == str(sr.SOPInstanceUID)


def test_a_confirmed_report_says_who_and_when(tmp_path):
    scan = _scan(tmp_path)
    when = dt.datetime(2026, 12, 5, 9, 14, tzinfo=dt.timezone.utc)
    a = _automatic(scan)
    a = replace(a, confirmed=sign_off("A. Jones", ELLIPSE, ELLIPSE, a.pixel_size,
                                      "resunet-test", when))
    report = read_report(_sr(scan, a)[1])
    assert report.verified and report.verifier == "A. Jones"
    assert report.verified_at == when  # written in local time, read in local time
    assert not report.edited


def test_when_it_was_confirmed_reads_the_same_in_another_time_zone(tmp_path, monkeypatch):
    scan = _scan(tmp_path)
    when = dt.datetime(2026, 7, 5, 9, 14, tzinfo=dt.timezone.utc)
    a = _automatic(scan)
    a = replace(a, confirmed=sign_off("A. Jones", ELLIPSE, ELLIPSE, a.pixel_size,
                                      "resunet-test", when))
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        sr = _sr(scan, a)[1]  # written in Berlin's summer time
    finally:
        monkeypatch.setenv("TZ", "America/New_York")
        time.tzset()
    try:
        assert read_report(sr).verified_at == when  # read in New York
    finally:
        monkeypatch.undo()
        time.tzset()
    assert sr.TimezoneOffsetFromUTC == "+0200"


def test_a_flagged_automatic_report_stays_flagged_when_read(tmp_path):
    scan = _scan(tmp_path)
    report = read_report(_sr(scan, _automatic(scan, confidence=0.5))[1])
    assert "model confidence 0.50" in report.review_flag
    shown = with_report(Annotation(scan.path.name), report, report, scan.pixel_size)
    assert review_needed(shown) == [report.review_flag]  # never confident for want of a number


def test_a_confirmation_names_the_report_it_replaces_and_stands_after_it(tmp_path):
    scan = _scan(tmp_path)
    _, auto_sr = _sr(scan, _automatic(scan))
    auto = read_report(auto_sr)
    shown = with_report(Annotation(scan.path.name), auto, auto, scan.pixel_size)
    assert pacs_note(shown) == "As stored in the PACS: report by fetalview (resunet-test)."
    assert replaced_report(shown) == auto.ref
    confirmed = replace(shown, confirmed=sign_off("B. Khan", shown.ellipse, shown.auto_ellipse,
                                                  shown.pixel_size, shown.model_version))
    result, sr = _sr(scan, confirmed)
    assert result.replaces == auto.ref
    [study] = sr.PredecessorDocumentsSequence
    assert study.StudyInstanceUID == auto.ref.study_instance_uid
    [series] = study.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == auto.ref.series_instance_uid
    assert series.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == auto.ref.sop_instance_uid
    path = tmp_path / "sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    assert dciodvfy_errors(path) == []
    again = read_report(pydicom.dcmread(path))
    assert again.predecessors == (auto.ref.sop_instance_uid,)
    assert newest([again, auto]) == again == newest([auto, again])  # order does not matter
    assert PACS_KEY in shown.extra


def test_other_systems_figures_are_read_without_a_contour(tmp_path):
    scan = _scan(tmp_path)
    _, sr = _sr(scan, _automatic(scan))
    sr.Manufacturer, sr.ManufacturerModelName = "Acme", "Scanner 9"
    for item in sr.ContentSequence:  # another device observer
        if item.ConceptNameCodeSequence[0].CodeValue == "121014":
            item.TextValue = "Acme"
    report = read_report(sr)
    assert not report.ours and report.ellipse is None and report.source == "Acme Scanner 9"
    assert report.hc > 0 and report.image_uid == str(pydicom.dcmread(scan.path).SOPInstanceUID)


def test_what_is_no_biometry_report_is_none(tmp_path):
    ds = pydicom.dcmread(_scan(tmp_path).path)
    assert read_report(ds) is None
    assert replaced_report(Annotation("x", extra={PACS_KEY: {"sop": "1.2"}})) is None
    assert SrReference("1", "2", "3", "4").sop_instance_uid == "4"


def test_a_corrected_report_reads_as_corrected_and_an_unchanged_one_as_unedited(tmp_path):
    scan = _scan(tmp_path)
    auto = read_report(_sr(scan, _automatic(scan))[1])
    moved = Ellipse(205.0, 150.7, 110.0, 90.5, 23.0)
    a = replace(_automatic(scan), ellipse=moved, edited=True)
    a = replace(a, confirmed=sign_off("A. Jones", moved, ELLIPSE, a.pixel_size, "resunet-test"))
    corrected = read_report(_sr(scan, a)[1])
    assert corrected.edited and not auto.edited
    shown = with_report(Annotation(scan.path.name), corrected, auto, scan.pixel_size)
    assert scan_state(shown) == CORRECTED and shown.edited
    shown = with_report(Annotation(scan.path.name), auto, auto, scan.pixel_size)
    assert scan_state(shown) == "auto" and not shown.edited
