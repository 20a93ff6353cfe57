"""How the side panels' inputs behave under the mouse wheel, and the one date field they use.

A clinician scrolls the side panel with the wheel while looking at the scan. Qt's combo boxes,
spin and date boxes and sliders take a wheel notch that passes over them (and combo and spin
boxes take the keyboard focus with it): "Age from" became "Dating scan", an LMP moved a day,
and each was saved without a word. ``guard_wheel`` makes every such input of a panel take the
wheel only once a person has clicked into it or tabbed to it; otherwise the notch goes on to
the panel, which scrolls. It is applied once, to all the window's panels, by ``clinic.py``.

``DateField`` is the date input: one line of text in the one form every date is shown in,
year-month-day, taken whole when the person is done (no section that merges a typed "20" into
"25"), with a calendar to pick from, and empty until a date is given.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (QAbstractSpinBox, QCalendarWidget, QComboBox, QHBoxLayout,
                               QLineEdit, QSlider, QToolButton, QWidget)

#: The inputs that change a value on a wheel notch.
WHEEL_INPUTS = (QComboBox, QAbstractSpinBox, QSlider)
#: How dates are shown and typed everywhere in the panels (ISO 8601: one order, separators).
DATE_FORM = "yyyy-mm-dd"


class _WheelGuard(QObject):
    """Ignores a wheel event over an input without focus, so Qt passes it on to the parents:
    the scroll area around the panel scrolls instead."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Wheel and not obj.hasFocus():
            event.ignore()
            return True
        return False


def guard_wheel(*roots: QWidget) -> None:
    """Let every combo box, spin or date box and slider in ``roots`` (them included) take the
    wheel only while it has the focus, and get the focus only by a click or Tab, not the wheel."""
    for root in roots:
        guard = root.findChild(_WheelGuard, options=Qt.FindDirectChildrenOnly)
        if guard is None:
            guard = _WheelGuard(root)
        inputs = [w for kind in WHEEL_INPUTS for w in root.findChildren(kind)]
        inputs += [root] if isinstance(root, WHEEL_INPUTS) else []
        for widget in inputs:
            widget.setFocusPolicy(Qt.StrongFocus)
            widget.removeEventFilter(guard)  # installed once, however often it is guarded
            widget.installEventFilter(guard)


class DateField(QWidget):
    """A date typed whole as year-month-day, or picked from a calendar; empty until given.

    It does not read the text itself: ``edited`` says the person finished typing (Return, Tab
    or a click elsewhere) or picked a day, and the owner parses ``text()`` with
    ``core.measure.growth.parse_date`` and refuses, with a message, what does not parse."""

    edited = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.line = QLineEdit()
        self.line.setPlaceholderText(DATE_FORM)
        self.line.setToolTip(f"Type the date as {DATE_FORM}, e.g. 2026-01-20, or pick it")
        self.line.editingFinished.connect(self._on_typed)
        layout.addWidget(self.line, 1)
        self.pick = QToolButton()
        self.pick.setText("Pick...")
        self.pick.setToolTip("Pick the date from a calendar")
        self.pick.clicked.connect(self._show_calendar)
        layout.addWidget(self.pick)
        self.calendar = QCalendarWidget(self)
        self.calendar.setWindowFlags(Qt.Popup)
        self.calendar.setGridVisible(True)
        self.calendar.clicked.connect(self._on_picked)
        self._shown = ""

    def text(self) -> str:
        return self.line.text().strip()

    def show_date(self, value: date | str | None) -> None:
        """Show ``value`` (a date, its ISO text, or None for empty) without emitting."""
        text = value.isoformat() if isinstance(value, date) else (value or "")
        self._shown = text
        self.line.setText(text)

    def _on_typed(self) -> None:
        if self.text() != self._shown:  # editingFinished also comes when focus merely leaves
            self._shown = self.text()
            self.edited.emit()

    def _show_calendar(self) -> None:
        try:
            shown = date.fromisoformat(self.text())
            self.calendar.setSelectedDate(QDate(shown.year, shown.month, shown.day))
        except ValueError:
            self.calendar.setSelectedDate(QDate.currentDate())
        self.calendar.move(self.mapToGlobal(self.rect().bottomLeft()))
        self.calendar.show()

    def _on_picked(self, picked: QDate) -> None:
        self.calendar.hide()
        self.line.setText(picked.toPython().isoformat())
        self._on_typed()
