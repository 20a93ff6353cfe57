"""Taking a list up again: Open recent names what was opened (folders first, then single
scans), not every scan visited; choosing one opens the whole list at the scan where the
clinician stopped; a relaunch offers the last list, at that scan."""

import shutil

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from .conftest import SAMPLES, FakeSegmenter, open_folder


def three_scans(tmp_path):
    folder = tmp_path / "day"
    folder.mkdir()
    for name in ("050_HC.png", "249_HC.png"):
        shutil.copy(SAMPLES / name, folder / name)
    shutil.copy(SAMPLES / "050_HC.png", folder / "300_HC.png")
    return folder.resolve()


def menu_texts(window) -> list[str]:
    window._fill_recent_menu()
    return [a.text() for a in window.recent_menu.actions()]


def test_open_recent_lists_the_lists_opened_folders_first(qtbot, window, tmp_path, scans):
    day = three_scans(tmp_path)
    open_folder(qtbot, window, day)
    for name in ("249_HC.png", "300_HC.png"):  # visits are places in the list, not entries
        window.session.go_to(day / name)
    lone = (scans / "050_HC.png").resolve()
    window.session.open_paths([lone])
    assert menu_texts(window) == [f"{day} (at 300_HC.png)", str(lone)]


def test_choosing_a_recent_folder_opens_all_of_it_at_the_scan_where_it_was_left(
        qtbot, window, make_window, tmp_path, settings):
    day = three_scans(tmp_path)
    open_folder(qtbot, window, day)
    window.session.go_to(day / "249_HC.png")
    window.close()
    again = make_window(FakeSegmenter())  # a relaunch, with the same settings
    assert menu_texts(again) == [f"{day} (at 249_HC.png)"]
    entry, = again.recent_menu.actions()
    with qtbot.waitSignal(again.session.listed, timeout=20000):
        entry.trigger()
    qtbot.waitUntil(lambda: again.session.shown == day / "249_HC.png", timeout=5000)
    assert again.session.scans == [day / n for n in ("050_HC.png", "249_HC.png", "300_HC.png")]


def test_a_relaunch_offers_the_last_list_at_the_scan_where_it_was_left(
        qtbot, window, make_window, tmp_path):
    day = three_scans(tmp_path)
    open_folder(qtbot, window, day)
    window.session.go_to(day / "300_HC.png")
    window.close()
    again = make_window(FakeSegmenter())
    state = again.empty_state
    assert again.stack.currentWidget() is state
    assert state.resume.isVisible() and state.resume_what.toolTip() == f"{day} (at 300_HC.png)"
    with qtbot.waitSignal(again.session.listed, timeout=20000):
        QTest.mouseClick(state.resume, Qt.LeftButton)
    qtbot.waitUntil(lambda: again.session.shown == day / "300_HC.png", timeout=5000)
    assert len(again.session.scans) == 3


def test_a_first_launch_offers_no_list(window):
    assert not window.empty_state.resume.isVisible() and not window.act_resume.isEnabled()
