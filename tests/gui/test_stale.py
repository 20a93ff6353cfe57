"""What the app exports or shows again is what is on disk now (issue 23, items 1 to 3): another
workstation's correction of a sidecar and a scan replaced on disk within a session are read
again, never exported or shown from memory; and a change that could not be saved (a full
disk) is marked in the list and never lost at closing without the user's answer."""

import csv
import errno
import shutil
from dataclasses import replace

import cv2
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import fetalview.core.record.sidecar_store as store_module
import fetalview.gui.files as files_module
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.record.review import sign_off
from fetalview.core.record.sidecar import read_sidecar, sidecar_path
from fetalview.core.record.sidecar_store import SidecarStore
from fetalview.gui.export import SET_ASIDE_STATUS
from fetalview.gui.files import DISCARD, ELSEWHERE, RETRY, FileCommands
from fetalview.gui.folder.csv_export import UNSAVED_STATUS

from .conftest import open_and_wait, open_folder

CORRECTED = Ellipse(380, 260, 170, 120, 5.0)  # workstation B's contour


@pytest.fixture(autouse=True)
def _results_beside_the_scans(settings):
    """These tests read and plant sidecars beside the scans, as two workstations sharing a
    folder do; where automatic results are kept is tests/gui/test_saved_where.py's subject."""
    settings.automatic_beside = True


def _listed_and_measured(qtbot, window, scans):
    """The folder listed and measured by the queue (automatic sidecars saved), 050 shown."""
    open_folder(qtbot, window, scans)
    paths = [scans / "050_HC.png", scans / "249_HC.png"]
    qtbot.waitUntil(lambda: all(window.session.known_result(p)[1] is not None for p in paths)
                    and not window.session.queue.running, timeout=20000)
    return paths


def _workstation_b_corrects(path, tmp_path):
    """Another fetalview (its own store, its own app data) corrects and confirms ``path``."""
    store = SidecarStore(path, tmp_path / "workstation-b")
    saved = store.newest().annotation
    corrected = replace(saved, ellipse=CORRECTED, edited=True)
    corrected = replace(corrected, confirmed=sign_off("Dr B", CORRECTED, saved.auto_ellipse,
                                                      saved.pixel_size, saved.model_version))
    return store.save(corrected).annotation


def _export(qtbot, window, out):
    assert window.export_csv(out)
    qtbot.waitUntil(out.exists, timeout=20000)
    with open(out, newline="", encoding="utf-8") as f:
        return {r["filename"]: r for r in csv.DictReader(f)}


def test_another_workstations_correction_reaches_the_csv_and_the_list(qtbot, window, scans,
                                                                      tmp_path):
    """B corrects both a scan open here (050, shown) and one only measured in the background
    (249): the CSV exports B's figures and sign-off for both, and the list shows them."""
    shown, background = _listed_and_measured(qtbot, window, scans)
    old_hc = _export(qtbot, window, tmp_path / "before.csv")["249_HC.png"]["hc_mm"]
    for path in (shown, background):
        _workstation_b_corrects(path, tmp_path)
    rows = _export(qtbot, window, tmp_path / "after.csv")
    for name in ("050_HC.png", "249_HC.png"):
        row = rows[name]
        assert (row["edited"], row["review"], row["reviewed_by"]) == ("yes", "corrected",
                                                                     "Dr B"), row
    assert rows["249_HC.png"]["hc_mm"] != old_hc
    assert window.session.current.annotation.ellipse == CORRECTED  # the shown one re-read
    for path in (shown, background):
        assert window.folder_panel.state_text(path) == "corrected"
        assert "Dr B" in window.folder_panel._rows[path].text()


def test_a_scan_shown_again_is_read_again_when_another_workstation_changed_it(
        qtbot, window, scans, tmp_path):
    """050 is open (kept in memory with its undo history); B corrects it while 249 is shown;
    showing 050 again shows B's contour, not the one kept in memory, and says why."""
    first, second = _listed_and_measured(qtbot, window, scans)
    window.session.go_to(second)
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    assert first in window.session.documents
    _workstation_b_corrects(first, tmp_path)
    window.session.go_to(first)
    assert window.session.current.annotation.ellipse == CORRECTED
    assert window.session.states[first] == "corrected"
    assert "changed on disk" in window.statusBar().currentMessage()


def _replace_scan(path):
    cv2.imwrite(str(path), cv2.flip(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), 1))


def test_a_scan_replaced_after_the_queue_measured_it_is_not_exported_with_its_old_hc(
        qtbot, window, scans, tmp_path):
    """The queue measured 249 (its sidecar saved); the file is then replaced by other pixels:
    the CSV row has no figure and says the old measurement is set aside (renamed, kept), and
    the list no longer shows its old HC."""
    _, replaced = _listed_and_measured(qtbot, window, scans)
    old = sidecar_path(replaced).read_bytes()
    _replace_scan(replaced)
    rows = _export(qtbot, window, tmp_path / "m.csv")
    row = rows["249_HC.png"]
    assert row["status"] == SET_ASIDE_STATUS and row["hc_mm"] == "", row
    aside, = scans.glob("249_HC.png.fetalview.other-scan-*.json")
    assert aside.read_bytes() == old and not sidecar_path(replaced).exists()
    assert window.session.states[replaced] == "not measured"
    assert "249_HC.png" in window.message_bar.text and "other pixels" in window.message_bar.text


def test_an_open_scan_replaced_on_disk_is_read_again_when_shown_again(qtbot, window, scans):
    """050 is kept open in memory; its file is replaced while 249 is shown: showing 050 again
    shows the new pixels, its old measurement set aside (said in words), never the cached
    contour over other pixels."""
    first, second = _listed_and_measured(qtbot, window, scans)
    window.session.go_to(second)
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    _replace_scan(first)
    window.session.go_to(first)
    assert (window.session.current.scan.pixels
            == cv2.imread(str(first), cv2.IMREAD_GRAYSCALE)).all()
    assert list(scans.glob("050_HC.png.fetalview.other-scan-*.json"))
    assert "does not belong to this scan" in window.message_bar.text


# --- unsaved work at closing ------------------------------------------------------------

def _disk_full(path, data):
    raise OSError(errno.ENOSPC, "No space left on device")


def _unsaved_edit(qtbot, window, scans, monkeypatch):
    """An edit made while neither the scan's folder nor the app data can be written."""
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    monkeypatch.setattr(store_module, "write_atomic", _disk_full)
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    assert document.unsaved and "No space left on device" in window.message_bar.text
    return document


def test_the_list_marks_a_scan_whose_change_is_not_saved_and_the_csv_exports_no_figure(
        qtbot, window, scans, monkeypatch, tmp_path):
    document = _unsaved_edit(qtbot, window, scans, monkeypatch)
    assert "NOT SAVED" in window.folder_panel._rows[document.path].text()
    rows = _export(qtbot, window, tmp_path / "m.csv")
    assert rows["050_HC.png"]["status"] == UNSAVED_STATUS and rows["050_HC.png"]["hc_mm"] == ""
    monkeypatch.undo()  # room again: the next change saves, the mark goes
    window.session.draw_from_clicks([(210, 250), (500, 250), (350, 380)])
    assert not document.unsaved
    assert "NOT SAVED" not in window.folder_panel._rows[document.path].text()


def _click_later(text, seen):
    """Click the button ``text`` of the message box once it is up (it runs its own loop)."""
    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, click)
            return
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == text).click()
    QTimer.singleShot(0, click)


def test_closing_with_unsaved_work_asks_and_stays_or_discards(qtbot, window, scans,
                                                               monkeypatch):
    """The real box: "Don't close" (and Esc) keeps the window and the edit; Discard closes,
    and the file keeps what it held."""
    document = _unsaved_edit(qtbot, window, scans, monkeypatch)
    on_disk = sidecar_path(document.path).read_bytes()
    # the real question, not the tests' default answer (back to that at teardown)
    monkeypatch.setattr(window, "ask_unsaved", FileCommands.ask_unsaved.__get__(window))
    seen = []
    _click_later("Don't close", seen)
    assert not window.close() and window.isVisible() and document.unsaved
    assert "1 scan is not saved: 050_HC.png" in seen[0]
    _click_later("Discard", seen)
    assert window.close() and not window.isVisible()
    assert sidecar_path(document.path).read_bytes() == on_disk


def test_closing_with_unsaved_work_retries_until_it_is_saved(qtbot, window, scans,
                                                               monkeypatch):
    document = _unsaved_edit(qtbot, window, scans, monkeypatch)
    asked = []

    def answer(question):
        asked.append(question)
        if len(asked) == 2:  # the first retry failed: room is made, then retried
            monkeypatch.undo()
        return RETRY
    window.ask_unsaved = answer
    assert window.close()
    assert len(asked) == 2 and "the retry failed" in asked[1]
    assert read_sidecar(sidecar_path(document.path)).ellipse == document.annotation.ellipse


def test_closing_with_unsaved_work_saves_it_elsewhere(qtbot, window, scans, monkeypatch,
                                                      tmp_path):
    document = _unsaved_edit(qtbot, window, scans, monkeypatch)
    elsewhere = tmp_path / "usb"
    elsewhere.mkdir()
    monkeypatch.setattr(files_module.QFileDialog, "getExistingDirectory",
                        lambda *args, **kwargs: str(elsewhere))
    window.ask_unsaved = lambda question: ELSEWHERE
    assert window.close()
    copy = elsewhere / sidecar_path(document.path).name
    assert read_sidecar(copy).ellipse == document.annotation.ellipse
    # put beside the scan, it is found as its sidecar: the edit is back
    sidecar_path(document.path).unlink()
    shutil.copy(copy, sidecar_path(document.path))
    assert SidecarStore(document.path, tmp_path / "x").newest().annotation.ellipse \
        == document.annotation.ellipse


def test_on_a_really_full_disk_the_edit_is_marked_and_closing_asks(qtbot, make_window, fake,
                                                                  tmp_path):
    """A small tmpfs holds the scan folder and the app data, then is filled: the edit fails
    to save in both places, the list says so and closing asks (root only: mounting)."""
    import os
    import subprocess

    from PySide6.QtCore import QSettings

    from fetalview.gui.settings import AppSettings
    from .conftest import SAMPLES
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)]).returncode:
        pytest.skip("tmpfs could not be mounted here")
    try:
        (disk / "scans").mkdir()
        scan = disk / "scans" / "050_HC.png"
        shutil.copy(SAMPLES / "050_HC.png", scan)
        settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
                               data_dir=disk / "appdata")
        window = make_window(fake, settings=settings)
        document = open_and_wait(qtbot, window, scan)
        with open(disk / "filler", "wb", buffering=0) as f:  # the rest, to the last byte
            for size in (65536, 4096, 1):
                try:
                    while f.write(b"\0" * size):
                        pass
                except OSError:
                    pass
        window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
        assert document.unsaved and "No space left on device" in window.message_bar.text
        assert "NOT SAVED" in window.folder_panel._rows[scan].text()
        asked = []
        window.ask_unsaved = lambda question: asked.append(question) or DISCARD
        assert window.close() and asked and "050_HC.png" in asked[0]
    finally:
        subprocess.run(["umount", "-l", str(disk)])
