"""A patient's pregnancy dated once in the panel, and their serial scans (issue 19 items 2, 3).

Three DICOM studies of one patient on three dates: the EDD typed once on one of them dates all
three (each by its own Study Date), the three signed-off heads are three points in date order,
and the head falling from the 60th to the 5th centile is the record's finding, shown in the
panel. A PNG with no patient has no serial scans and says why, until a person assigns one.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from fetalview.core.measure.biometry import measure
from fetalview.core.measure.growth import GestationalAge, hc_centile, intergrowth_hc_mean_sd
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.patients import PATIENT_KEY
from fetalview.core.record.serial import NO_PATIENT
from fetalview.core.results.tables import export_row

from dicomfiles import make_dicom
from .conftest import FakeSegmenter, open_and_wait, open_folder
from .test_panel_inputs import type_date
from test_report import page_text

EDD = date(2026, 10, 8)
WIDTH = 200  # the fake model's head: semi-axes WIDTH/4 and WIDTH/5 pixels


def study(path, weeks: int, z: float):
    """A DICOM study of PID-0042 at ``weeks`` (by ``EDD``) whose head, as the fake model
    finds it, lies at z-score ``z`` (its pixel spacing chosen so)."""
    ga = GestationalAge(weeks * 7)
    mean, sd = intergrowth_hc_mean_sd(ga)
    unit = measure(FakeSegmenter.expected(np.zeros((160, WIDTH))), PixelSize(1.0, "")).hc
    spacing = (mean + z * sd) / unit
    make_dicom(path, np.full((160, WIDTH), 60, np.uint8), pixel_spacing=[spacing, spacing])
    ds = pydicom.dcmread(path)
    ds.StudyDate = (EDD - timedelta(days=280 - weeks * 7)).strftime("%Y%m%d")
    ds.save_as(path)
    return path


def test_three_studies_dated_once_are_three_points_in_order_with_the_fall_flagged(
        qtbot, window, tmp_path):
    paths = [study(tmp_path / f"s{w}.dcm", w, z)
             for w, z in ((30, -0.2533), (24, 0.2533), (34, -1.645))]
    panel = window.clinic.pregnancy
    first = open_and_wait(qtbot, window, paths[0])
    panel.method.setCurrentText("Estimated date of delivery")
    assert not panel.exam_date.isEnabled()  # the file's Study Date stands
    type_date(panel.date_edit, EDD.isoformat())  # typed once, on the 30-week scan
    assert first.result().ga == GestationalAge(210)
    assert "pregnancy" not in first.annotation.extra  # kept with the patient, not the scan
    assert window.session.patients.book.dating("PID-0042") == {"method": "edd",
                                                               "edd": EDD.isoformat()}
    for path in paths:
        document = open_and_wait(qtbot, window, path)
        assert window.session.sign_off("Dr A")
        assert panel.method.currentText() == "Estimated date of delivery"
        assert panel.date_edit.text() == EDD.isoformat()
    ages = [window.session.documents[p].result().ga for p in paths]
    assert ages == [GestationalAge(210), GestationalAge(168), GestationalAge(238)]  # to the day

    record = document.result()  # the 34-week scan, shown
    points = record.serial.hc
    assert [p.exam_date for p in points] == sorted(p.exam_date for p in points)
    assert [p.ga_days for p in points] == [168, 210, 238]
    assert [p.latest for p in points] == [False, False, True] and all(p.confirmed
                                                                       for p in points)
    assert round(hc_centile(points[0].value_mm, GestationalAge(168)).percentile) == 60
    assert round(hc_centile(points[2].value_mm, GestationalAge(238)).percentile) == 5
    finding = record.serial_finding
    assert "from the 60th centile" in finding and "to the 5th" in finding
    assert "not a diagnosis" in finding
    assert finding in panel.result.text().split("\n")  # the panel shows the record's words
    assert "3 HC on the chart" in panel.serial_label.text()
    qtbot.waitUntil(lambda: window.clinic.growth.points == points)  # the chart plots all three
    assert export_row(record)["growth_finding"] == finding  # the CSV, in the same words
    listed = window.session.patients.listed_record(paths[2], document.annotation)
    assert listed.serial_finding == finding and listed.ga == GestationalAge(238)
    report = tmp_path / "report.pdf"
    assert window.clinic.export_report(report)  # the PDF, in the same words
    assert finding in page_text(report)


def test_a_png_without_a_patient_has_no_serial_and_a_patient_can_be_assigned(qtbot, window,
                                                                               scans):
    document = open_and_wait(qtbot, window, scans / "249_HC.png")
    panel = window.clinic.pregnancy
    record = document.result()
    assert record.serial.hc == () and record.serial.note == NO_PATIENT
    assert NO_PATIENT in panel.serial_label.text()
    assert panel.patient_id.isVisibleTo(panel)
    panel.patient_id.setFocus()
    QTest.keyClicks(panel.patient_id, "P-77")
    QTest.keyClick(panel.patient_id, Qt.Key_Return)
    assert document.annotation.extra[PATIENT_KEY] == {"patient_id": "P-77"}
    assert document.result().serial.patient_id == "P-77"
    panel.method.setCurrentText("Last menstrual period")
    type_date(panel.exam_date, "2026-05-21")  # a PNG's exam date is typed, kept with the scan
    type_date(panel.date_edit, "2026-01-01")
    assert document.annotation.extra[PATIENT_KEY] == {"patient_id": "P-77",
                                                      "exam_date": "2026-05-21"}
    assert window.session.patients.book.dating("P-77") == {"method": "lmp", "lmp": "2026-01-01"}
    assert "20w+0d" in document.result().growth[0]  # dated (and questioned: the head is older)
    window.act_undo.trigger()  # the assignment is an undoable step of the scan
    assert "exam_date" not in document.annotation.extra[PATIENT_KEY]


def test_a_folder_of_studies_is_one_serial_from_the_background_results(qtbot, window, tmp_path,
                                                                        monkeypatch):
    """The open list's scans measured in the background join their patient's serial, unsigned
    (drawn apart on the chart), and no file is read on the GUI thread to gather them."""
    folder = tmp_path / "patient"
    folder.mkdir()
    for w, z in ((24, 0.2533), (30, -0.2533), (34, -1.645)):
        study(folder / f"s{w}.dcm", w, z)
    window.session.patients.book.set_dating("PID-0042", {"method": "edd",
                                                         "edd": EDD.isoformat()})
    monkeypatch.setattr("fetalview.gui.folder.patients.file_fields",
                        lambda path: pytest.fail(f"{path} read on the GUI thread"))
    open_folder(qtbot, window, folder)
    session = window.session
    qtbot.waitUntil(lambda: all(session.known_result(p)[1] is not None for p in session.scans))
    assert session.current.path.name == "s24.dcm"  # the first scan: its serial ends with it
    assert [p.ga_days for p in session.current.result().serial.hc] == [168]
    session.go_to(folder / "s34.dcm")
    qtbot.waitUntil(lambda: session.current.annotation.ellipse is not None)
    record = session.current.result()
    assert [p.ga_days for p in record.serial.hc] == [168, 210, 238]
    assert [p.confirmed for p in record.serial.hc] == [False, False, False]
    assert record.serial_finding.endswith("Not every measurement in it is confirmed yet.")
