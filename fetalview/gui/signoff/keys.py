"""Space and Return confirm wherever the keyboard is in the main window, but in a text field.

The sign-off loop is Space, Space, Space: it must not depend on where the last click left the
keyboard. Qt gives Space to the focused widget first: a panel button pressed itself (Draw
entered manual drawing), the scan list swallowed it, and neither said anything. So the window
reads Space and Return (Enter) itself before any of its widgets: Space is Confirm and next,
Return Confirm, with the same checks and messages as on the scan; where there is nothing to
confirm it says so. Only a field that takes text (line edits, spin and date boxes, an editable
combo box's field) keeps them, so typing a value and pressing Return still enters it. Dialogs
and menus are windows of their own and keep their keys. Held keys do not repeat a
confirmation: one press, one scan.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit,
                               QTextEdit, QWidget)

#: Widgets where Space and Return are text, or the end of typing: they keep both keys.
TEXT_FIELDS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)
KEYS = (Qt.Key_Space, Qt.Key_Return, Qt.Key_Enter)
NOTHING_TO_CONFIRM = ("Nothing to confirm on this scan yet: run the model (R) or draw the "
                      "contour by hand (M).")


class ConfirmKeys(QObject):
    """Reads Space and Return for ``window`` (a ``MainWindow``) before its widgets do."""

    def __init__(self, window):
        super().__init__(window)  # goes with the window, and its filter with it
        self.window = window
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind not in (QEvent.KeyPress, QEvent.KeyRelease) or event.key() not in KEYS \
                or event.modifiers() & ~Qt.KeypadModifier or not self._ours(watched):
            return False
        if kind == QEvent.KeyPress and not event.isAutoRepeat():
            w = self.window
            action = w.act_confirm_next if event.key() == Qt.Key_Space else w.act_confirm
            if action.isEnabled():
                action.trigger()
            else:
                w.statusBar().showMessage(NOTHING_TO_CONFIRM, 8000)
        return True  # the release too: a focused button clicks on it

    def _ours(self, watched) -> bool:
        """Whether ``watched`` is the widget with the keyboard, in this window (not one of its
        dialogs), and takes no text: a key event is offered to its parents after it."""
        return isinstance(watched, QWidget) and watched is QApplication.focusWidget() \
            and watched.window() is self.window and not isinstance(watched, TEXT_FIELDS)


def install(window) -> ConfirmKeys:
    """Make Space and Return confirm throughout ``window``."""
    return ConfirmKeys(window)
