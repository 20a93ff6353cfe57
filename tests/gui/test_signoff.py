"""Signing contours off: Confirm (Return on the scan), Confirm and next (Space), the states that
follow, who and when in the sidecar, and edits after a confirmation."""

from datetime import datetime, timezone

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from fetalview.core.measure.biometry import measure
from fetalview.core.record.sidecar_store import load_annotation

from .conftest import FakeSegmenter, open_and_wait, open_folder
from .test_editing import _drag_axis_end_outward
from .test_folder_queue import _folder


@pytest.fixture
def jones(settings):
    settings.operator = "A. Jones"
    return settings


def _key(window, key):
    window.view.setFocus()
    QTest.keyClick(window.view, key)


def test_return_confirms_and_the_confirmation_round_trips_through_the_sidecar(
        qtbot, make_window, fake, scans, jones):
    window = make_window(fake)
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    _key(window, Qt.Key_Return)
    saved = load_annotation(document.path, jones.data_dir)
    c = saved.confirmed
    m = measure(saved.ellipse, saved.pixel_size)
    assert (c.by, c.model_version, c.hc, c.bpd, c.ofd, c.unit, c.corrected) == (
        "A. Jones", "fake-1", m.hc, m.bpd, m.ofd, "mm", False)
    assert before <= datetime.fromisoformat(c.at) <= datetime.now(timezone.utc)
    assert window.folder_panel.state_text(document.path) == "confirmed"
    assert "Confirmed unchanged" in window.panel.state_label.text()
    assert "A. Jones" in window.panel.state_label.text()
    assert document.undo_stack.undoText() == "Confirm the contour"
    window.close()

    reopened = make_window(FakeSegmenter())
    reopened.session.open_paths([scans / "050_HC.png"])
    assert reopened.session.current.annotation.confirmed == c
    assert reopened.folder_panel.state_text(document.path) == "confirmed"
    assert "A. Jones" in reopened.folder_panel.currentItem().text()


def test_an_edit_after_confirming_returns_to_edited_until_confirmed_again(qtbot, window, scans,
                                                                           jones):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    assert window.confirm_contour()
    _drag_axis_end_outward(window, "a+", 30)
    assert document.state == "edited"
    assert window.folder_panel.state_text(document.path) == "edited"
    assert load_annotation(document.path, jones.data_dir).confirmed is not None  # kept, stale
    document.undo_stack.undo()  # back to what was confirmed: the confirmation stands again
    assert document.state == "confirmed"
    document.undo_stack.redo()
    assert window.act_confirm.isEnabled()
    window.act_confirm.trigger()
    assert document.state == "corrected"
    assert load_annotation(document.path, jones.data_dir).confirmed.corrected


def test_confirm_and_next_is_one_key_and_leaves_the_focus_on_the_scan(qtbot, window, scans,
                                                                      jones):
    open_folder(qtbot, window, scans)
    first = window.session.current
    qtbot.waitUntil(lambda: first.annotation.ellipse is not None)
    _key(window, Qt.Key_Space)
    assert first.state == "confirmed"
    assert window.session.current.path == scans / "249_HC.png"
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    QTest.keyClick(window.view, Qt.Key_Space)  # the focus stayed on the scan
    assert window.session.states[scans / "249_HC.png"] == "confirmed"


def test_a_flagged_contour_is_confirmed_only_after_a_yes(qtbot, make_window, scans, jones,
                                                         answers):
    window = make_window(FakeSegmenter(confidence=0.5))
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    assert document.state == "low confidence"
    assert window.view.ellipse_item.doubtful  # amber and dashed: not a sure contour
    answers.append(False)
    _key(window, Qt.Key_Return)
    assert document.state == "low confidence" and document.annotation.confirmed is None
    assert window.view.ellipse_item.doubtful
    answers.append(True)
    _key(window, Qt.Key_Return)
    assert document.state == "confirmed"
    assert not window.view.ellipse_item.doubtful  # a clinician stands behind it now


def test_a_confident_contour_is_drawn_as_sure(qtbot, make_window, scans):
    window = make_window(FakeSegmenter(confidence=0.99))
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    assert document.state == "auto" and not window.view.ellipse_item.doubtful


def test_the_operator_is_asked_once_per_sitting(qtbot, window, scans, settings, monkeypatch):
    asked = []

    def ask_operator(parent, note):
        asked.append(note)
        return "Dr B. Smith"

    monkeypatch.setattr("fetalview.gui.panels.signer.ask_operator", ask_operator)
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    window.confirm_and_next()
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    window.confirm_contour()
    assert len(asked) == 1 and settings.operator == "Dr B. Smith"
    assert {window.session.results[p].confirmed.by for p in window.session.scans} == {
        "Dr B. Smith"}


def test_no_name_no_confirmation(qtbot, window, scans, monkeypatch):
    monkeypatch.setattr("fetalview.gui.panels.signer.ask_operator", lambda *args: None)
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    assert not window.confirm_contour()
    assert document.annotation.confirmed is None
    assert "needs your name" in window.message_bar.text


def test_the_dicom_report_states_who_confirmed_it_while_the_confirmation_stands(qtbot, window,
                                                                               scans, jones):
    from fetalview.core.results.dicom_sr import ReviewState, review_of
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    assert review_of(document.result(), "").state == ReviewState.AUTOMATIC
    window.confirm_contour()
    review = review_of(document.result(), "Clinic")
    signoff = document.annotation.confirmed
    assert (review.state, review.operator) == (ReviewState.CONFIRMED, "A. Jones")
    assert review.when == datetime.fromisoformat(signoff.at).astimezone().replace(tzinfo=None)
    _drag_axis_end_outward(window, "a+", 30)
    assert review_of(document.result(), "").state == ReviewState.EDITED
    window.confirm_contour()
    assert review_of(document.result(), "").state == ReviewState.CORRECTED


def test_the_end_of_the_list_is_said_with_what_is_left_to_confirm(qtbot, window, scans, jones):
    """Space on the last scan used to leave it on screen without a word: the clinician could
    not tell whether the key did nothing or the list had ended."""
    (scans / "zz_broken.png").write_bytes(b"")
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    window.session.step(1)  # straight to 249, 050 left unconfirmed
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    _key(window, Qt.Key_Space)
    window.session.step(1)  # N on the unreadable last one
    assert window.session.current is None
    assert window.statusBar().currentMessage() == (
        "Last scan of the list: 1 scan not confirmed yet, 1 unreadable")
    window.session.step(-1)
    window.session.step(-1)
    _key(window, Qt.Key_Space)  # 050 confirmed: 249 shown
    assert window.session.current.path == scans / "249_HC.png"
    window.session.step(1)
    window.session.step(1)
    assert window.statusBar().currentMessage() == (
        "Last scan of the list: all 2 readable scans confirmed, 1 unreadable")
    for _ in range(3):
        window.session.step(-1)
    assert window.session.current.path == scans / "050_HC.png"
    assert window.statusBar().currentMessage() == "First scan of the list"


def test_space_on_an_unreadable_scan_moves_on(qtbot, window, scans, jones):
    """A folder whose first file is damaged opened on a blank scan where Space did nothing: an
    unreadable scan has nothing to confirm, so Space shows the next one."""
    (scans / "000_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    open_folder(qtbot, window, scans)
    assert window.session.shown == scans / "000_broken.png"
    assert window.session.current is None
    _key(window, Qt.Key_Space)
    assert window.session.current.path == scans / "050_HC.png"
    assert window.session.states[scans / "000_broken.png"] == "unreadable"


def test_space_keeps_the_next_scan_in_view_down_a_long_list(qtbot, make_window, tmp_path, jones):
    """Stepping down 30 scans, the list used to scroll just enough to show the current one on
    its bottom edge, the next scan half hidden."""
    paths = _folder(tmp_path, "folder", 30)
    window = make_window(FakeSegmenter())
    panel = window.folder_panel
    open_folder(qtbot, window, paths[0].parent)
    panel.setFixedHeight(int(5.5 * panel.sizeHintForRow(0)))  # five and a half rows show
    qtbot.waitUntil(lambda: all(window.session.states[p] != "not measured" for p in paths),
                    timeout=30000)
    for row in range(1, 29):
        _key(window, Qt.Key_Space)
        assert window.session.shown == paths[row]
        assert panel.viewport().rect().contains(panel.visualItemRect(panel.item(row + 1)))
