"""What the loader refuses or notes reaches the app's user and never ends the app (issue 9):
a pixel size outside the plausible range, from any source, opens the scan in pixels and says
why (Pixel Spacing 150 mm, a region of 50 cm per pixel, a pixel-size CSV row of 150, a size
typed in); an image of pixels with burned-in patient details leaves only when the user says so.
"""

from __future__ import annotations

import shutil

import numpy as np
from dicomfiles import make_dicom, region
from hostilefiles import scan_like

from .conftest import SAMPLES, open_and_wait


def test_implausible_dicom_calibrations_open_in_pixels(qtbot, window, tmp_path):
    pixels = np.asarray(scan_like())
    for path, words in ((make_dicom(tmp_path / "spacing.dcm", pixels, pixel_spacing=[150, 150]),
                         "DICOM Pixel Spacing gives 150 mm per pixel"),
                        (make_dicom(tmp_path / "region.dcm", pixels,
                                    regions=[region(0, 0, 95, 63, 50)]),
                         "ultrasound region 1 gives 500 mm per pixel")):
        document = open_and_wait(qtbot, window, path)
        assert document.annotation.pixel_size is None
        assert words in window.message_bar.text, window.message_bar.text


def test_a_pixel_size_csv_row_of_150_costs_only_that_scan_its_millimetres(qtbot, window,
                                                                          tmp_path):
    for name in ("050_HC.png", "249_HC.png"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    (tmp_path / "exam_pixel_size.csv").write_text(
        "filename,pixel size(mm)\n050_HC.png,150\n249_HC.png,0.12\n")
    document = open_and_wait(qtbot, window, tmp_path / "050_HC.png")
    assert document.annotation.pixel_size is None
    assert "CSV exam_pixel_size.csv gives 150 mm per pixel" in window.message_bar.text
    assert open_and_wait(qtbot, window, tmp_path / "249_HC.png").annotation.pixel_size.mm_per_pixel \
        == 0.12


def test_a_typed_pixel_size_of_150_is_not_applied(qtbot, window, scans, monkeypatch):
    import fetalview.gui.main_window as main_window
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    before = document.annotation.pixel_size
    monkeypatch.setattr(main_window, "ask_number", lambda *args: (150.0, True))
    window.act_type_ps.trigger()
    assert document.annotation.pixel_size == before
    assert "Pixel size not applied: typed by user gives 150 mm" in window.message_bar.text
    assert window.settings.folder_pixel_size(scans) is None  # nor remembered for the folder


def test_an_image_of_burned_in_pixels_is_exported_only_when_the_user_says_so(
        qtbot, window, tmp_path, answers, monkeypatch):
    """BurnedInAnnotation YES: PNG, clipboard and report each ask first; a no writes nothing."""
    scan = make_dicom(tmp_path / "named.dcm", np.asarray(scan_like(size=(200, 150))),
                      burned_in="YES")
    open_and_wait(qtbot, window, scan)
    answers.extend([False, False, False])
    assert not window.export_png(tmp_path / "a.png")
    assert "patient details burned into its pixels" in window.message_bar.text
    window.copy_image()
    assert not window.clinic.export_report(tmp_path / "a.pdf")
    assert not answers and not (tmp_path / "a.png").exists() and not (tmp_path / "a.pdf").exists()
    answers.append(True)
    assert window.export_png(tmp_path / "a.png") and (tmp_path / "a.png").exists()
