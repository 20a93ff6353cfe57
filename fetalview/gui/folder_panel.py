"""The list of open scans, each with where it stands (not measured, auto, confirmed, ...) and its
HC, so the whole folder's results can be read at a glance.

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
from ..core.measurement import measure
from ..core.review import STATE_WORDS, standing_signoff
from ..core.sidecar import Annotation
from .theme import WARNING

STATE_COLOURS = {"not measured": "#a0a0a0", "auto": "#9fd0ff", "low confidence": WARNING,
                 "edited": "#e0e080", "confirmed": "#80e080", "corrected": "#80e080",
                 "unreadable": "#ff7070"}
_STATE_ROLE = Qt.UserRole + 1


def summary(state: str, annotation: Annotation | None) -> tuple[str, str]:
    """The list's second line (state, HC, who confirmed) and the longer tooltip text."""
    line, tip = [state], [STATE_WORDS.get(state, state)]
    if annotation is not None and annotation.ellipse is not None:
        hc = measure(annotation.ellipse, annotation.pixel_size).lines()[0].split("(")[0]
        line.append(" ".join(hc.split()))
        signoff = standing_signoff(annotation)
        if signoff is not None:
            line.append(signoff.by)
            tip = [signoff.words()]
    return "  ·  ".join(line), "\n".join(tip)


class FolderPanel(QListWidget):
    chosen = Signal(object)  # Path

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: dict[Path, QListWidgetItem] = {}
        self._names: Counter[str] = Counter()  # how many listed scans have each file name
        self.currentItemChanged.connect(self._on_current)

    def set_scans(self, scans: dict[Path, tuple[str, Annotation | None]]) -> None:
        """Replace the list: scan path -> (state, latest annotation)."""
        self.blockSignals(True)
        self.clear()
        self._rows = {}
        self._names = Counter(path.name for path in scans)
        for path in scans:
            item = QListWidgetItem()
            item.setData(Qt.UserRole, path)
            self.addItem(item)
            self._rows[path] = item
        for path, (state, annotation) in scans.items():
            self.set_state(path, state, annotation)
        self.blockSignals(False)

    def set_state(self, path: Path, state: str, annotation: Annotation | None = None) -> None:
        item = self._rows.get(path)
        if item is not None:
            line, tip = summary(state, annotation)
            item.setText(printable(f"{self._label(path)}\n    {line}"))
            item.setData(_STATE_ROLE, state)
            item.setForeground(QBrush(QColor(STATE_COLOURS.get(state, "#e0e0e0"))))
            item.setToolTip(printable(f"{path}\n{tip}"))

    def _label(self, path: Path) -> str:
        """The file name, with its folder when another listed scan has the same name."""
        twins = self._names[path.name]
        return f"{path.name}  ({path.parent.name})" if twins > 1 else path.name

    def state_text(self, path: Path) -> str:
        return self._rows[path].data(_STATE_ROLE)

    def select(self, path: Path) -> None:
        item = self._rows.get(path)
        if item is not None and item is not self.currentItem():
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)

    def _on_current(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.chosen.emit(item.data(Qt.UserRole))
