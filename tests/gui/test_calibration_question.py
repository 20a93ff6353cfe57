"""A pixel size a person types or calibrates is questioned before use where it disagrees with
the scan's own calibration or makes an implausible head (issue 20, item 8: a calibration on an
on-screen ruler gave HC 283 mm, GA 31 weeks, for a head the file measured at 135 mm)."""

from __future__ import annotations

import cv2
import pytest
from dicomfiles import make_dicom

from fetalview.core.measure.pixelsize import PixelSize

from .conftest import SAMPLES, open_and_wait


@pytest.fixture
def asked(window, monkeypatch):
    """The questions the window asks, each answered with the next of ``replies``."""
    record = {"questions": [], "replies": []}

    def confirm(question: str) -> bool:
        record["questions"].append(question)
        return record["replies"].pop(0)
    monkeypatch.setattr(window.session, "confirm", confirm)
    return record


def test_a_calibration_that_disagrees_with_the_file_is_questioned(qtbot, window, tmp_path,
                                                                   asked):
    pixels = cv2.imread(str(SAMPLES / "050_HC.png"), cv2.IMREAD_GRAYSCALE)
    document = open_and_wait(qtbot, window, make_dicom(tmp_path / "head.dcm", pixels,
                                                       pixel_spacing=[0.15, 0.15]))
    own = document.annotation.pixel_size
    assert own.mm_per_pixel == 0.15
    hc_px = document.annotation.ellipse.perimeter()

    asked["replies"].append(False)  # a line over 400 px said to be 80 mm: 0.2 mm per pixel
    window.apply_calibration([(10, 10), (10, 410)], 80.0, whole_folder=True)
    assert document.annotation.pixel_size == own  # declined: the file's own stays
    assert window.settings.folder_pixel_size(tmp_path) is None
    assert "Pixel size not changed" in window.message_bar.text
    question = asked["questions"][-1]
    assert "Use 0.2 mm per pixel (calibrated: 80 mm line over 400 px)?" in question
    assert "33% larger than the scan's own calibration, 0.15 mm per pixel" in question
    assert f"HC {hc_px * 0.2:.0f} mm instead of {hc_px * 0.15:.0f} mm" in question
    assert "No keeps 0.15 mm per pixel" in question

    asked["replies"].append(True)
    window.apply_calibration([(10, 10), (10, 410)], 80.0)
    assert document.annotation.pixel_size.mm_per_pixel == pytest.approx(0.2)
    assert len(asked["questions"]) == 2

    window.act_undo.trigger()
    window.apply_calibration([(10, 10), (10, 410)], 61.0)  # 0.1525: within 10% of the file's
    assert document.annotation.pixel_size.mm_per_pixel == pytest.approx(0.1525)
    assert len(asked["questions"]) == 2  # not asked


def test_a_pixel_size_that_makes_an_implausible_head_is_questioned(qtbot, window, scans, asked,
                                                                    monkeypatch):
    import fetalview.gui.main_window as main_window
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    csv_size = document.annotation.pixel_size  # a PNG: its CSV's, nothing in the file
    hc_px = document.annotation.ellipse.perimeter()
    for typed, words in ((0.4, "above any plausible fetal head (40 to 373 mm)"),
                         (0.03, "below any plausible fetal head (40 to 373 mm)")):
        monkeypatch.setattr(main_window, "ask_number", lambda *args, mm=typed: (mm, True))
        asked["replies"].append(False)
        window.act_type_ps.trigger()
        assert document.annotation.pixel_size == csv_size
        assert f"It makes HC {hc_px * typed:.0f} mm, {words}" in asked["questions"][-1]
        assert window.settings.folder_pixel_size(scans) is None

    asked["replies"].append(True)
    window.act_type_ps.trigger()
    assert document.annotation.pixel_size == PixelSize(0.03, "typed by user")
    monkeypatch.setattr(main_window, "ask_number", lambda *args: (0.15, False))
    window.act_type_ps.trigger()  # HC 170 mm: plausible, and no file calibration to disagree
    assert document.annotation.pixel_size == PixelSize(0.15, "typed by user")
    assert len(asked["questions"]) == 3
