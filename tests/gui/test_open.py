"""Opening scans: folders, damaged files, navigation, drag and drop, help (recent lists: test_recent_lists.py)."""

import sys

import pytest

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTableWidget

from fetalview.core.record.sidecar import sidecar_path

from .conftest import open_and_wait, open_folder


def test_folder_lists_its_scans_with_their_states(qtbot, window, scans):
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    assert window.folder_panel.count() == 2
    assert window.folder_panel.state_text(scans / "050_HC.png") == "auto"
    qtbot.waitUntil(lambda: not window.session.queue.running)  # the other, in the background
    assert window.folder_panel.state_text(scans / "249_HC.png") == "auto"


def test_corrupt_scan_shows_an_error_and_the_app_stays_usable(qtbot, window, scans):
    broken = scans / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    window.session.open_paths([broken])
    assert "Cannot open broken.png" in window.message_bar.text
    assert window.session.current is None
    assert window.folder_panel.state_text(broken) == "unreadable"
    assert not window.act_export.isEnabled()
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    assert document.path.name == "050_HC.png" and window.view.ellipse_item.isVisible()


def test_damaged_sidecar_is_reported_and_the_scan_still_opens(qtbot, window, scans):
    sidecar_path(scans / "050_HC.png").write_text("{ half a file")
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    assert "could not be read" in window.message_bar.text
    assert document.annotation.ellipse is not None


def test_next_and_previous_from_the_keyboard(qtbot, window, scans):
    open_folder(qtbot, window, scans)
    assert window.session.current.path.name == "050_HC.png"
    QTest.keyClick(window, Qt.Key_PageDown)
    assert window.session.current.path.name == "249_HC.png"
    assert window.folder_panel.currentItem().text().startswith("249_HC.png")
    QTest.keyClick(window, Qt.Key_PageDown)  # stays on the last one
    assert window.session.current.path.name == "249_HC.png"
    QTest.keyClick(window, Qt.Key_PageUp)
    assert window.session.current.path.name == "050_HC.png"


def test_choosing_in_the_list_opens_the_scan(qtbot, window, scans):
    open_folder(qtbot, window, scans)
    window.folder_panel.setCurrentRow(1)
    assert window.session.current.path.name == "249_HC.png"


def test_drag_and_drop_opens_files(qtbot, window, scans):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(scans / "249_HC.png"))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dragEnterEvent(enter)  # Qt only delivers real drops from a drag in progress
    assert enter.isAccepted()
    window.dropEvent(QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton,
                                Qt.NoModifier))
    assert window.session.current.path.name == "249_HC.png"


def test_sample_scans_open_from_the_menu(qtbot, make_window, settings, fake):
    settings.segment_on_open = False
    window = make_window(fake)
    with qtbot.waitSignal(window.session.listed):
        window.act_samples.trigger()
    assert window.folder_panel.count() == 4
    assert window.session.current.annotation.pixel_size.source.startswith("CSV")


def test_shortcut_help_lists_the_frequent_actions(qtbot, window):
    from fetalview.gui.dialogs import shortcuts_dialog
    dialog = shortcuts_dialog(window.actions(), window)
    qtbot.addWidget(dialog)
    table = dialog.findChild(QTableWidget)
    names = {table.item(i, 0).text(): table.item(i, 1).text() for i in range(table.rowCount())}
    for name in ("Run the model", "Draw by hand", "Undo", "Export annotated PNG", "Next scan",
                 "Fit to window", "Calibrate on a line"):
        assert name in names and names[name], name
    assert all(keys.strip(", ") for keys in names.values()), names


def test_zoom_and_fit(qtbot, window, scans):
    window.session.open_paths([scans / "050_HC.png"])
    fitted = window.view.zoom
    window.act_zoom_in.trigger()
    assert window.view.zoom > fitted
    window.act_fit.trigger()
    assert abs(window.view.zoom - fitted) < 1e-9
    window.view.zoom_by(1e6)
    assert window.view.zoom <= 40.0


def test_scans_left_behind_are_released_and_reopen_from_their_sidecar(qtbot, window, scans,
                                                                      monkeypatch):
    import fetalview.gui.session as session
    monkeypatch.setattr(session, "KEEP_OPEN", 1)
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    edited = window.session.current.annotation
    window.session.step(1)
    assert list(window.session.documents) == [scans / "249_HC.png"]
    window.session.step(-1)
    restored = window.session.current.annotation
    assert restored.ellipse == edited.ellipse and restored.edited


def test_fetalview_command_opens_the_window_with_its_arguments(qtbot, scans, tmp_path,
                                                                monkeypatch):
    from PySide6.QtCore import QSettings, QStandardPaths

    from fetalview.cli import main
    from fetalview.gui.main_window import MainWindow

    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(tmp_path / "cfg"))
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "cfg"))
    seen = {}

    def run_event_loop():
        QApplication.processEvents()  # the arguments are opened inside the event loop
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)
                   and w.isVisible()]
        seen["scans"] = [w.session.scans for w in windows]
        for w in windows:
            w.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(run_event_loop))
    monkeypatch.setattr("fetalview.gui.session.Session.segment", lambda self: None)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # the app installs its own
    try:
        assert main([str(scans / "050_HC.png")]) == 0
    finally:
        QStandardPaths.setTestModeEnabled(False)
    assert seen["scans"] == [[(scans / "050_HC.png").resolve()]]


def test_fetalview_help_does_not_open_a_window(capsys):
    from fetalview.gui.app import run_app
    with pytest.raises(SystemExit) as info:
        run_app(["--help"])
    assert info.value.code == 0 and "SCAN|FOLDER" in capsys.readouterr().out


@pytest.mark.parametrize("mode, dtype", [("I;16", "uint16"), ("RGB", "uint8")])
def test_16_bit_and_colour_scans_open(qtbot, window, tmp_path, mode, dtype):
    import numpy as np
    from PIL import Image
    pixels = (np.arange(64 * 96).reshape(64, 96) % 4000).astype(dtype)
    image = Image.fromarray(pixels) if mode != "RGB" else Image.fromarray(
        np.stack([pixels] * 3, axis=2).astype("uint8"))
    path = tmp_path / f"scan_{dtype}.tif"
    image.save(path)
    window.session.open_paths([path])
    document = window.session.current
    assert document is not None and document.scan.pixels.shape == (64, 96)
    assert window.message_bar.text == ""


def test_unreadable_folder_is_reported(qtbot, window, tmp_path, monkeypatch):
    import fetalview.gui.folder.listing as folder_listing

    def denied(folder):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(folder_listing, "list_scans", denied)
    open_folder(qtbot, window, tmp_path)
    assert "Cannot read the folder" in window.message_bar.text
    assert window.session.current is None


def test_sidecar_contour_far_outside_the_scan_is_ignored_and_export_works(qtbot, window, scans,
                                                                          tmp_path):
    import json
    sidecar_path(scans / "050_HC.png").write_text(json.dumps({
        "format": "fetalview-sidecar", "version": 1, "scan": "050_HC.png", "edited": True,
        "ellipse": {"cx": 1e12, "cy": -1e12, "a": 1e11, "b": 1.0, "angle_deg": 0},
        "auto_ellipse": None}))
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    assert "far outside" in window.message_bar.text
    assert abs(document.annotation.ellipse.cx) < 1000 and not document.annotation.edited
    assert window.export_png(tmp_path / "x.png")


def test_a_reopened_folder_lists_each_scans_saved_state(qtbot, window, make_window, scans,
                                                        tmp_path):
    from .conftest import FakeSegmenter
    open_and_wait(qtbot, window, scans / "050_HC.png")
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    window.close()
    other = make_window(FakeSegmenter(confidence=0.5))
    open_and_wait(qtbot, other, scans / "249_HC.png")  # a doubtful model result
    other.close()

    again = make_window(FakeSegmenter())
    open_folder(qtbot, again, scans)
    states = {p.name: again.folder_panel.state_text(p) for p in again.session.scans}
    assert states == {"050_HC.png": "edited", "249_HC.png": "low confidence"}


def test_a_message_about_one_scan_goes_when_the_next_is_shown(qtbot, window, fake, scans,
                                                              monkeypatch):
    (scans / "zz_broken.png").write_bytes(b"")
    fake.error = RuntimeError("out of memory")
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: "Segmentation failed" in window.message_bar.text)
    fake.error = None
    window.session.step(1)  # 249_HC.png segments fine: 050's failure is not about it
    assert window.message_bar.text == ""
    window.session.step(1)
    assert "Cannot open zz_broken.png" in window.message_bar.text
    window.session.step(-1)
    assert window.message_bar.text == ""

    import fetalview.core.record.sidecar_store as store

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "write_atomic", disk_full)
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    window.session.step(-1)  # an unsaved contour left behind: its warning stays
    assert "Not saved" in window.message_bar.text


def test_a_status_note_about_one_scan_goes_when_the_next_is_shown(qtbot, window, fake, scans):
    fake.confidence = 0.5
    open_and_wait(qtbot, window, scans / "050_HC.png")
    assert "Please check the contour" in window.statusBar().currentMessage()
    fake.confidence = 0.99
    window.session.open_paths([scans / "249_HC.png"])
    window.session.go_to(scans / "249_HC.png")
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    assert window.statusBar().currentMessage() == ""  # 249_HC.png needs no review


def test_a_folder_problem_stays_visible_after_the_scans_open(qtbot, window, scans, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with qtbot.waitSignal(window.session.listed):
        window.session.open_paths([empty, scans / "050_HC.png"])
    assert "holds no scans" in window.message_bar.text
    assert window.session.current.path.name == "050_HC.png"


def test_an_unreadable_scan_is_named_once_in_its_message(qtbot, window, scans):
    """The loader's reasons start with the file's name (the command line needs it); the
    window's "Cannot open NAME:" must not repeat it."""
    data = (scans / "050_HC.png").read_bytes()
    (scans / "cut.png").write_bytes(data[:len(data) // 3])
    window.session.open_paths([scans / "cut.png"])
    assert window.message_bar.text.startswith("Cannot open cut.png: the file is damaged")
    assert window.message_bar.text.count("cut.png") == 1
