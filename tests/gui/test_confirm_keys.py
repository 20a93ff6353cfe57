"""Issue 20 walkthrough item 3: Space and Return confirm wherever focus is in the window.

After a click on a scan in the list Space did nothing and said nothing; after Tab or a click
on a panel button Space pressed that button (Draw entered manual drawing). Now Space is
Confirm and next, Return Confirm, with focus on the list, a panel button or the scan; only a
text field keeps them. Real key events (QTest.keyClick) to the focused widget.
"""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolButton

from fetalview.gui.signoff.keys import NOTHING_TO_CONFIRM

from .conftest import open_and_wait, open_folder


@pytest.fixture
def two_measured(qtbot, window, scans):
    """Both scans of the folder listed and measured, the first shown."""
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: all(window.session.results.get(p) is not None
                                for p in window.session.scans), timeout=20000)
    first, second = window.session.scans
    open_and_wait(qtbot, window, first)
    return first, second


def _key_to_focus(qtbot, widget, key) -> None:
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=2000)
    QTest.keyClick(widget, key)


def _button(window, action) -> QToolButton:
    return next(b for b in window.panel.findChildren(QToolButton)
                if b.defaultAction() is action)


def test_space_after_a_click_in_the_scan_list_confirms_and_moves_on(qtbot, window,
                                                                     two_measured, settings):
    settings.operator = "A. Jones"
    first, second = two_measured
    panel = window.folder_panel
    rect = panel.visualItemRect(panel.item(0))
    QTest.mouseClick(panel.viewport(), Qt.LeftButton, pos=rect.center())
    assert QApplication.focusWidget() is panel
    QTest.keyClick(panel, Qt.Key_Space)
    assert window.session.states[first] == "confirmed"
    assert window.session.current.path == second


@pytest.mark.parametrize("key, moves_on", [(Qt.Key_Space, True), (Qt.Key_Return, False)])
def test_space_and_return_on_a_panel_button_confirm_instead_of_pressing_it(
        qtbot, window, two_measured, settings, key, moves_on):
    settings.operator = "A. Jones"
    first, second = two_measured
    draw = _button(window, window.act_manual)
    _key_to_focus(qtbot, draw, key)
    assert window.view.tool is None  # not in manual drawing
    assert window.session.states[first] == "confirmed"
    assert window.session.current.path == (second if moves_on else first)


def test_space_on_the_scan_still_confirms_and_a_text_field_keeps_it(qtbot, window,
                                                                      two_measured, settings):
    settings.operator = "A. Jones"
    first, second = two_measured
    field = window.clinic.pregnancy.ga_text
    field.setEnabled(True)
    field.show()
    _key_to_focus(qtbot, field, Qt.Key_Space)
    QTest.keyClick(field, Qt.Key_Return)
    assert window.session.states[first] != "confirmed"
    _key_to_focus(qtbot, window.view, Qt.Key_Space)
    assert window.session.states[first] == "confirmed"
    assert window.session.current.path == second


def test_space_with_nothing_to_confirm_says_so(qtbot, make_window, scans):
    from .conftest import FakeSegmenter
    window = make_window(FakeSegmenter(find_head=False))
    window.session.open_paths([scans / "050_HC.png"])
    qtbot.waitUntil(lambda: window.session.current is not None)
    _key_to_focus(qtbot, window.folder_panel, Qt.Key_Space)
    assert window.statusBar().currentMessage() == NOTHING_TO_CONFIRM
