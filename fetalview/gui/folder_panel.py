"""The list of open scans, each with where it stands (not measured, auto, edited, ...).

Each row keeps its scan's ``Path`` itself (a file name that is not UTF-8 keeps its real bytes
to open the file) and shows the name with a replacement character for each undecodable byte.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from ..core.safetext import printable
from .theme import WARNING

STATE_COLOURS = {"not measured": "#a0a0a0", "auto": "#9fd0ff", "low confidence": WARNING,
                 "edited": "#80e080", "unreadable": "#ff7070"}


class FolderPanel(QListWidget):
    chosen = Signal(object)  # Path

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: dict[Path, QListWidgetItem] = {}
        self._names: Counter[str] = Counter()  # how many listed scans have each file name
        self.currentItemChanged.connect(self._on_current)

    def set_scans(self, scans: dict[Path, str]) -> None:
        """Replace the list: scan path -> state."""
        self.blockSignals(True)
        self.clear()
        self._rows = {}
        self._names = Counter(path.name for path in scans)
        for path, state in scans.items():
            item = QListWidgetItem()
            item.setData(Qt.UserRole, path)
            self.addItem(item)
            self._rows[path] = item
        for path, state in scans.items():
            self.set_state(path, state)
        self.blockSignals(False)

    def set_state(self, path: Path, state: str) -> None:
        item = self._rows.get(path)
        if item is not None:
            item.setText(printable(f"{self._label(path)}\n    {state}"))
            item.setForeground(QBrush(QColor(STATE_COLOURS.get(state, "#e0e0e0"))))
            item.setToolTip(printable(f"{path}\n{state}"))

    def _label(self, path: Path) -> str:
        """The file name, with its folder when another listed scan has the same name."""
        twins = self._names[path.name]
        return f"{path.name}  ({path.parent.name})" if twins > 1 else path.name

    def state_text(self, path: Path) -> str:
        return self._rows[path].text().split("\n")[1].strip()

    def select(self, path: Path) -> None:
        item = self._rows.get(path)
        if item is not None and item is not self.currentItem():
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)

    def _on_current(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.chosen.emit(item.data(Qt.UserRole))
