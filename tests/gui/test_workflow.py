"""Working through a list: the first-launch state, number dialogs that start empty, a pixel
size for a whole folder, and the keyboard flow (focus back on the scan, redo keys, questions
that default to No, a 30-scan folder signed off by keyboard alone)."""

import cv2
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QMessageBox, QPushButton

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.sidecar import Annotation
from fetalview.core.record.sidecar_store import load_annotation, save_annotation
from fetalview.gui.dialogs import NumberDialog
from fetalview.gui.settings import FOLDER_SOURCE

from .conftest import SAMPLES, FakeSegmenter, open_and_wait, open_folder


def _folder(tmp_path, name: str, count: int, size=(400, 300)):
    folder = tmp_path / name
    folder.mkdir()
    image = cv2.resize(cv2.imread(str(SAMPLES / "050_HC.png"), cv2.IMREAD_GRAYSCALE), size)
    for i in range(count):
        cv2.imwrite(str(folder / f"scan{i:02d}.png"), image)
    return sorted(folder.iterdir())


def _measured(window):
    return not window.session.queue.running and all(
        s != "not measured" for s in window.session.states.values())


def test_first_launch_shows_the_ways_in_and_disables_what_needs_a_scan(qtbot, window):
    assert window.stack.currentWidget() is window.empty_state
    texts = [b.text() for b in window.empty_state.findChildren(QPushButton) if b.isVisible()]
    assert texts == ["Open a folder of scans...", "Open scans...", "Try a sample scan"]
    needs_a_scan = [window.act_next, window.act_prev, window.act_zoom_in, window.act_fit,
                    window.act_export, window.act_copy, window.act_csv, window.act_confirm,
                    window.act_confirm_next, window.act_segment, window.act_type_ps,
                    window.clinic.act_report, window.act_outline]
    assert not any(a.isEnabled() for a in needs_a_scan)
    assert not window.panel.brightness.isEnabled() and not window.clinic.pregnancy.isEnabled()
    assert window.clinic.pregnancy.patient_label.text() == "No scan open."

    next(b for b in window.empty_state.findChildren(QPushButton)
         if b.text() == "Try a sample scan").click()
    qtbot.waitUntil(lambda: window.session.current is not None
                    and window.session.current.annotation.ellipse is not None)
    assert window.stack.currentWidget() is window.view
    assert all(a.isEnabled() for a in needs_a_scan)
    assert window.panel.brightness.isEnabled() and window.clinic.pregnancy.isEnabled()


def test_sample_scans_open_from_a_copy_in_the_data_folder_and_the_package_stays_as_shipped(
        qtbot, window, settings, monkeypatch, tmp_path):
    """An old build's result left beside a bundled sample is not copied, and what the app saves
    for the samples (the model's results, an edit) goes beside the copies, never into the
    bundled folder."""
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    for name in ("050_HC.png", "249_HC.png", "samples_pixel_size_and_HC.csv"):
        (bundled / name).write_bytes((SAMPLES / name).read_bytes())
    (bundled / "050_HC.png.fetalview.json").write_text("{}")
    monkeypatch.setattr("fetalview.bundled.sample_scans_dir", lambda: bundled)
    shipped = {p.name: p.read_bytes() for p in bundled.iterdir()}

    window.act_samples.trigger()
    qtbot.waitUntil(lambda: _measured(window) and window.session.current is not None
                    and window.session.current.annotation.ellipse is not None)
    copies = settings.data_dir.parent / "sample scans"
    assert {p.parent for p in window.session.scans} == {copies}
    assert (copies / "050_HC.png").read_bytes() == shipped["050_HC.png"]
    window.session.edit_ellipse(Ellipse(200, 150, 80, 60, 0), "a person's edit")
    edited = window.session.current.path
    assert load_annotation(edited, settings.data_dir).edited
    assert {p.name: p.read_bytes() for p in bundled.iterdir()} == shipped


def test_a_number_dialog_starts_empty_and_enter_on_it_accepts_nothing(qtbot):
    dialog = NumberDialog(None, "Pixel size", "Millimetres per pixel:", True)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.field.text() == "" and not dialog.whole_folder.isChecked()
    QTest.keyClick(dialog.field, Qt.Key_Return)
    assert dialog.isVisible() and dialog.result() != QDialog.Accepted
    QTest.keyClicks(dialog.field, "0.")
    QTest.keyClick(dialog.field, Qt.Key_Return)  # "0." is no size
    assert dialog.isVisible()
    QTest.keyClicks(dialog.field, "15")
    QTest.keyClick(dialog.field, Qt.Key_Return)
    assert dialog.result() == QDialog.Accepted and dialog.value == 0.15


def test_a_folder_pixel_size_reaches_every_scan_without_its_own_and_is_remembered(
        qtbot, make_window, tmp_path, settings, monkeypatch):
    import fetalview.gui.main_window as main_window
    paths = _folder(tmp_path, "folder", 3)
    elsewhere = _folder(tmp_path, "elsewhere", 1)
    own = PixelSize(0.3, "typed by user")
    save_annotation(paths[2], Annotation(paths[2].name, Ellipse(200, 150, 90, 70, 5),
                                         pixel_size=own), settings.data_dir)
    window = make_window(FakeSegmenter())
    window.session.open_paths([paths[0].parent, elsewhere[0].parent])  # one queue for both
    qtbot.waitUntil(lambda: len(window.session.states) == 4 and _measured(window),
                    timeout=20000)
    assert window.session.current.annotation.pixel_size is None
    monkeypatch.setattr(main_window, "ask_number", lambda *args: (0.15, True))
    window.act_type_ps.trigger()
    assert window.session.current.annotation.pixel_size == PixelSize(0.15, "typed by user")
    results = window.session.results
    assert results[paths[1]].pixel_size == PixelSize(0.15, FOLDER_SOURCE)
    assert results[paths[2]].pixel_size == own
    assert results[elsewhere[0]].pixel_size is None
    assert "mm" in window.folder_panel._rows[paths[1]].text()  # noqa: SLF001
    window.close()

    again = make_window(FakeSegmenter())  # the same settings: remembered for that folder
    again.session.open_paths([paths[1]])
    qtbot.waitUntil(lambda: again.session.current.annotation.ellipse is not None)
    assert again.session.current.annotation.pixel_size == PixelSize(0.15, FOLDER_SOURCE)
    assert "typed by user for this folder" in again.panel.pixel_label.text()
    again.session.open_paths([elsewhere[0]])
    assert again.session.current.annotation.pixel_size is None


def test_enter_in_the_ga_field_gives_the_keys_back_to_the_scan(qtbot, window, scans,
                                                               settings):
    settings.operator = "A. Jones"
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    first = window.session.current
    window.clinic.pregnancy.method.setCurrentText("Weeks+days today")
    field = window.clinic.pregnancy.ga_text
    field.setFocus()
    assert window.focusWidget() is field
    QTest.keyClicks(field, "20+3")
    QTest.keyClick(field, Qt.Key_Return)
    assert first.state == "auto"  # Return in a field is the field's, not Confirm
    assert first.annotation.extra["pregnancy"]["ga"] == "20+3"
    assert window.focusWidget() is window.view
    QTest.keyClick(window.focusWidget(), Qt.Key_N)
    assert window.session.current.path == scans / "249_HC.png"
    assert field.text() != "20+3n"


@pytest.mark.parametrize("keys", ["Ctrl+Y", "Ctrl+Shift+Z"])
def test_ctrl_y_and_ctrl_shift_z_redo(qtbot, window, scans, keys):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    drawn = document.annotation.ellipse
    QTest.keySequence(window, QKeySequence.Undo)
    assert document.annotation.ellipse != drawn
    QTest.keySequence(window, QKeySequence(keys))
    assert document.annotation.ellipse == drawn


def test_questions_default_to_the_answer_that_changes_nothing(qtbot, settings, monkeypatch):
    from fetalview.gui.main_window import MainWindow
    asked = []

    def question(parent, title, text, buttons, default):
        asked.append(default)
        return QMessageBox.No

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    window = MainWindow(settings, lambda device: FakeSegmenter())  # its own question box
    qtbot.addWidget(window)
    assert window._ask("Replace it?") is False  # noqa: SLF001
    assert asked == [QMessageBox.No]


def test_a_30_scan_folder_is_signed_off_by_keyboard_alone(qtbot, make_window, tmp_path,
                                                          settings):
    settings.operator = "A. Jones"
    paths = _folder(tmp_path, "list", 30, size=(200, 150))
    window = make_window(FakeSegmenter())
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: _measured(window), timeout=30000)  # before anyone reaches the end
    window.view.setFocus()
    for _ in range(30):
        QTest.keyClick(window.focusWidget(), Qt.Key_Space)  # Confirm and next: one key
    assert [window.session.states[p] for p in paths] == ["confirmed"] * 30
    assert all(load_annotation(p, settings.data_dir).confirmed.by == "A. Jones" for p in paths)


def test_exports_go_to_a_folder_asked_once_beside_the_scans_and_replace_nothing(
        qtbot, window, scans, settings, monkeypatch):
    import fetalview.gui.files as files
    from fetalview.core.io.scans import list_scans
    from fetalview.core.io.ownfiles import is_own_output
    asked = []
    monkeypatch.setattr(files, "ask_export_folder",
                        lambda parent, suggested, scans: asked.append(suggested) or suggested)
    open_and_wait(qtbot, window, scans / "050_HC.png")
    window.act_export.trigger()
    window.act_export.trigger()  # again: a second file, the first kept
    window.clinic.act_report.trigger()
    window.act_csv.trigger()
    out = scans.parent / "scans fetalview exports"
    assert asked == [out] and settings.export_folder_for(scans) == out
    assert sorted(p.name for p in out.iterdir()) == [
        "050_HC_fetalview_image-2.png", "050_HC_fetalview_image.png",
        "050_HC_fetalview_report.pdf", "scans_fetalview_measurements.csv"]
    assert all(is_own_output(p) for p in out.glob("*.png"))
    assert [p.name for p in list_scans(scans)] == ["050_HC.png", "249_HC.png"]
    assert window.focusWidget() is window.view


def test_each_list_exports_to_its_own_folder_offered_beside_it(qtbot, window, scans, tmp_path,
                                                               settings, monkeypatch):
    """The walkthrough: exports from every folder (and from PACS studies) landed in the first
    folder's export folder, mixing patients."""
    import shutil

    import fetalview.gui.files as files
    other = tmp_path / "patient B"
    other.mkdir()
    shutil.copy(scans / "249_HC.png", other / "249_HC.png")
    asked = []
    monkeypatch.setattr(files, "ask_export_folder", lambda parent, suggested, folder:
                        asked.append((suggested, folder)) or suggested)
    open_and_wait(qtbot, window, scans / "050_HC.png")
    window.act_export.trigger()
    open_and_wait(qtbot, window, other / "249_HC.png")
    window.act_export.trigger()
    window.clinic.act_report.trigger()
    open_and_wait(qtbot, window, scans / "050_HC.png")
    window.act_export.trigger()  # back to the first list: its folder, not asked again
    first = scans.parent / "scans fetalview exports"
    second = tmp_path / "patient B fetalview exports"
    assert asked == [(first, scans), (second, other)]
    assert sorted(p.name for p in first.iterdir()) == [
        "050_HC_fetalview_image-2.png", "050_HC_fetalview_image.png"]
    assert sorted(p.name for p in second.iterdir()) == [
        "249_HC_fetalview_image.png", "249_HC_fetalview_report.pdf"]
