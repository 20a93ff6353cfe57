"""The clinic features in the window: cine frames, gestational age, review queue, PDF report."""

import shutil

import cv2
import numpy as np
import pytest
from dicomfiles import make_dicom, region

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.sidecar_store import load_annotation

from .conftest import FakeSegmenter, SAMPLES, open_and_wait, open_folder


def cine(tmp_path, scans):
    """A three-frame DICOM loop of one real scan, frame i brightened by 20*i."""
    gray = cv2.imread(str(scans / "050_HC.png"), cv2.IMREAD_GRAYSCALE)
    frames = np.stack([np.clip(gray.astype(int) + 20 * i, 0, 255).astype(np.uint8)
                       for i in range(3)])
    rows, cols = gray.shape
    return make_dicom(tmp_path / "loop.dcm", frames,
                      regions=[region(0, 0, cols - 1, rows - 1, 0.01)])


def test_frame_slider_measures_another_frame_and_undo_returns(qtbot, window, scans, tmp_path,
                                                             settings):
    path = cine(tmp_path, scans)
    document = open_and_wait(qtbot, window, path)
    slider = window.clinic.frames
    assert slider.isVisible() and slider.slider.maximum() == 2
    assert document.annotation.pixel_size.source == "DICOM ultrasound region calibration"
    first = document.scan.pixels.copy()
    with qtbot.waitSignal(window.service.returned, timeout=10000):
        slider.slider.setValue(2)
    qtbot.waitUntil(lambda: document.annotation.ellipse is not None)
    assert document.annotation.frame == 2 and document.scan.metadata["frame"] == 2
    assert int(document.scan.pixels.mean()) > int(first.mean())
    assert load_annotation(path, settings.data_dir).frame == 2
    while document.annotation.frame == 2:
        window.act_undo.trigger()
    assert document.scan.metadata["frame"] == 0
    np.testing.assert_array_equal(document.scan.pixels, first)


def test_a_split_screen_is_measured_with_the_calibration_where_the_contour_lies(
        qtbot, window, scans, tmp_path, settings):
    gray = cv2.imread(str(scans / "050_HC.png"), cv2.IMREAD_GRAYSCALE)
    rows, cols = gray.shape
    half = cols // 2
    path = make_dicom(tmp_path / "split.dcm", gray,
                      regions=[region(0, 0, half - 20, rows - 1, 0.01),  # left: 0.1 mm
                               region(half + 20, 0, cols - 1, rows - 1, 0.02)])  # right: 0.2 mm
    document = open_and_wait(qtbot, window, path)
    assert document.annotation.pixel_size is None  # the head is between the halves: no mm
    left, right = Ellipse(half / 2, rows / 2, 80, 60, 0), Ellipse(1.5 * half, rows / 2, 80, 60, 0)
    window.session.edit_ellipse(left, "move left")
    assert document.annotation.pixel_size.mm_per_pixel == pytest.approx(0.1)
    window.session.edit_ellipse(right, "move right")
    assert document.annotation.pixel_size.mm_per_pixel == pytest.approx(0.2)
    assert document.measurement().hc == pytest.approx(right.perimeter() * 0.2)
    assert load_annotation(path, settings.data_dir).pixel_size.mm_per_pixel == pytest.approx(0.2)
    window.act_undo.trigger()
    assert document.annotation.pixel_size.mm_per_pixel == pytest.approx(0.1)
    window.session.set_pixel_size(PixelSize(0.15, "typed by user"))
    window.session.edit_ellipse(right, "move right")
    assert document.annotation.pixel_size == PixelSize(0.15, "typed by user")  # the user's stays


def test_still_images_have_no_frame_slider(qtbot, window, scans):
    open_and_wait(qtbot, window, scans / "050_HC.png")
    assert not window.clinic.frames.isVisible()


def test_gestational_age_gives_a_percentile_and_is_saved(qtbot, window, scans, settings):
    document = open_and_wait(qtbot, window, scans / "249_HC.png")
    panel = window.clinic.pregnancy
    panel.method.setCurrentText("Weeks+days today")
    panel.ga_text.setText("16+0")  # the fake model's head: 14w+6d by HC
    panel.ga_text.editingFinished.emit()
    text = panel.result.text()
    assert "GA from HC" in text and "Hadlock 1984" in text
    assert "HC at 16w+0d" in text and "INTERGROWTH-21st" in text
    saved = load_annotation(scans / "249_HC.png", settings.data_dir)
    assert saved.extra["pregnancy"] == {"method": "weeks+days", "ga": "16+0"}
    window.act_undo.trigger()  # back to the method chosen, nothing typed: no error shown
    assert document.annotation.extra["pregnancy"] == {"method": "weeks+days", "ga": ""}
    assert "not understood" not in panel.result.text() and "HC at" not in panel.result.text()

    panel.method.setCurrentText("Weeks+days today")
    panel.ga_text.setText("42+0")
    panel.ga_text.editingFinished.emit()
    panel.confirm_dates.click()  # questioned (27 weeks from the age by HC), then confirmed
    assert "outside the INTERGROWTH-21st HC standard" in panel.result.text()
    panel.ga_text.setText("twenty")
    panel.ga_text.editingFinished.emit()
    assert "not understood" in panel.result.text()


def test_patient_fields_are_shown_and_reported_only_when_asked(qtbot, window, scans, tmp_path):
    pypdf = __import__("pytest").importorskip("pypdf")
    open_and_wait(qtbot, window, cine(tmp_path, scans))
    assert "Patient: Doe Jane" in window.clinic.pregnancy.patient_label.text()
    out = tmp_path / "report.pdf"
    assert window.clinic.export_report(out)
    assert "Doe" not in pypdf.PdfReader(str(out)).pages[0].extract_text()
    window.clinic.pregnancy.include_patient.setChecked(True)
    assert window.clinic.export_report(out)
    assert "Doe" in pypdf.PdfReader(str(out)).pages[0].extract_text()


def test_doubtful_scans_first_and_filtered(qtbot, make_window, scans):
    window = make_window(FakeSegmenter(confidence=0.5))
    open_and_wait(qtbot, window, scans / "249_HC.png")  # flagged: low shape score
    window.session.open_paths([scans / "050_HC.png"])
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    window.session.edit_ellipse(Ellipse(300, 250, 120, 90, 0), "edit")  # edited: no review
    open_folder(qtbot, window, scans)  # the folder: nothing new, order 249, 050
    queue = window.clinic.queue
    queue.sort.setCurrentText("Name")
    assert [p.name for p in window.session.scans] == ["050_HC.png", "249_HC.png"]
    queue.sort.setCurrentText("Doubtful first")
    assert [p.name for p in window.session.scans] == ["249_HC.png", "050_HC.png"]
    assert window.folder_panel.item(0).text().startswith("249_HC.png")

    window.session.go_to(scans / "249_HC.png")
    queue.filter.setCurrentText("Edited")
    panel = window.folder_panel
    hidden = {panel.item(i).text().split()[0]: panel.item(i).isHidden() for i in range(2)}
    assert hidden == {"249_HC.png": False, "050_HC.png": False}  # the shown scan stays
    queue.filter.setCurrentText("Flagged only")
    hidden = {panel.item(i).text().split()[0]: panel.item(i).isHidden() for i in range(2)}
    assert hidden == {"249_HC.png": False, "050_HC.png": True}
    assert document.state == "edited"


def test_next_and_previous_follow_the_review_filter(qtbot, make_window, scans):
    shutil.copy(SAMPLES / "673_HC.png", scans / "673_HC.png")
    window = make_window(FakeSegmenter(confidence=0.5))  # every automatic result is flagged
    session = window.session
    open_folder(qtbot, window, scans)
    names = [p.name for p in session.scans]
    assert names == ["050_HC.png", "249_HC.png", "673_HC.png"]
    for path in session.scans:  # visit each: all flagged, then the middle one edited
        session.go_to(path)
        qtbot.waitUntil(lambda: session.current.annotation.ellipse is not None, timeout=20000)
        if path.name == "249_HC.png":
            session.edit_ellipse(Ellipse(300, 250, 120, 90, 0), "edit")

    window.clinic.queue.filter.setCurrentText("Flagged only")
    session.go_to(scans / "050_HC.png")
    session.step(1)
    assert session.shown.name == "673_HC.png"  # the edited scan is skipped
    session.step(1)
    assert session.shown.name == "673_HC.png"  # the end of the queue: stays
    session.step(-1)
    assert session.shown.name == "050_HC.png"
    window.clinic.queue.filter.setCurrentText("All scans")
    session.step(1)
    assert session.shown.name == "249_HC.png"
