"""The list of open scans, each with where it stands (not measured, auto, confirmed, ...) and its
HC, so the whole folder's results can be read at a glance.

Each row keeps its scan's ``Path`` itself (a file name that is not UTF-8 keeps its real bytes
to open the file) and shows the name with a replacement character for each undecodable byte.

The list is narrow (a side dock, 250 px at 1366x768) and file names from scanners are long:
each row is fitted to the list's width when painted, the name elided in its middle and the
sign-off's name at its end (both whole in the tooltip), so the state and the HC, what the
list is read for, are never cut. A scan whose latest change could not be saved (a full disk)
says "NOT SAVED" there, in red, until it is: closing the window asks about each one.

A scan may carry a label in words instead of its file name (``set_labels``: a study opened
from the PACS names its images by patient, date and description, not by their UIDs) and a
third line (``set_mark``: whether, when and where it was sent to the PACS).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetrics
from PySide6.QtWidgets import (QListWidget, QListWidgetItem, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem)

from fetalview.core.io.safetext import printable
from fetalview.core.measure.biometry import measure
from fetalview.core.record.review import STATE_WORDS, standing_signoff
from fetalview.core.record.sidecar import Annotation
from fetalview.gui.theme import WARNING

STATE_COLOURS = {"not measured": "#a0a0a0", "auto": "#9fd0ff", "low confidence": WARNING,
                 "edited": "#e0e080", "confirmed": "#80e080", "corrected": "#80e080",
                 "unreadable": "#ff7070"}
UNSAVED_MARK, UNSAVED_COLOUR = "NOT SAVED", "#ff7070"
_STATE_ROLE = Qt.UserRole + 1
_LINES_ROLE = Qt.UserRole + 2  # (name, state and HC, who confirmed, mark): fitting the row
SEPARATOR = "  ·  "
INDENT = "    "


def summary(state: str, annotation: Annotation | None) -> tuple[str, str, str]:
    """The list's second line: the state and HC, and who confirmed ("" if nobody); then the
    longer tooltip text."""
    line, by, tip = [state], "", [STATE_WORDS.get(state, state)]
    if annotation is not None and annotation.ellipse is not None:
        hc = measure(annotation.ellipse, annotation.pixel_size).lines()[0].split("(")[0]
        line.append(" ".join(hc.split()))
        signoff = standing_signoff(annotation)
        if signoff is not None:
            by = signoff.by
            tip = [signoff.words()]
    return SEPARATOR.join(line), by, "\n".join(tip)


def fitted_lines(metrics: QFontMetrics, room: int, name: str, state: str, by: str,
                 mark: str = "") -> list[str]:
    """A row's lines within ``room`` pixels: the name elided in its middle, who confirmed
    elided at its end or left out; the state and HC whole (wider than ``room``, the list
    scrolls sideways rather than cut them); the mark, if any, elided at its end."""
    second = INDENT + state
    if by:
        left = room - metrics.horizontalAdvance(second + SEPARATOR)
        if left >= metrics.horizontalAdvance(by[:3] + "…"):
            second += SEPARATOR + metrics.elidedText(by, Qt.ElideRight, left)
    lines = [metrics.elidedText(name, Qt.ElideMiddle, room), second]
    return lines + [metrics.elidedText(INDENT + mark, Qt.ElideRight, room)] if mark else lines


class _RowDelegate(QStyledItemDelegate):
    """Paints each row fitted to the width it is given; asks for no more width than its state
    line needs, so a long name never makes the list scroll sideways."""

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:
        super().initStyleOption(option, index)
        lines = index.data(_LINES_ROLE)
        if lines is not None:
            option.text = "\u2028".join(fitted_lines(option.fontMetrics, self._room(option),
                                                      *lines))

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        opt = QStyleOptionViewItem(option)
        super().initStyleOption(opt, index)
        lines = index.data(_LINES_ROLE)
        if lines is not None:
            name, state, _, mark = lines
            room = opt.fontMetrics.horizontalAdvance(INDENT + state)
            opt.text = "\u2028".join(fitted_lines(opt.fontMetrics, room, name, state, "",
                                                  mark[:1]))
        style = opt.widget.style() if opt.widget is not None else self.parent().style()
        return style.sizeFromContents(QStyle.CT_ItemViewItem, opt, QSize(), opt.widget)

    @staticmethod
    def _room(option: QStyleOptionViewItem) -> int:
        """The text's width in the row, less the margins the style keeps on both sides."""
        style, widget = option.widget.style(), option.widget
        text = style.subElementRect(QStyle.SE_ItemViewItemText, option, widget)
        return text.width() - 2 * (style.pixelMetric(QStyle.PM_FocusFrameHMargin, None, widget) + 1)


class FolderPanel(QListWidget):
    chosen = Signal(object)  # Path

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: dict[Path, QListWidgetItem] = {}
        self._names: Counter[str] = Counter()  # how many listed scans have each file name
        self._labels: dict[Path, str] = {}  # a scan named in words instead of its file name
        self._marks: dict[Path, tuple[str, str]] = {}  # a third line and its tooltip
        self._shown: dict[Path, tuple] = {}  # each row's last ``set_state``, to draw it again
        self.setItemDelegate(_RowDelegate(self))
        self.currentItemChanged.connect(self._on_current)

    def set_scans(self, scans: dict[Path, tuple[str, Annotation | None]],
                  unsaved: frozenset[Path] = frozenset()) -> None:
        """Replace the list: scan path -> (state, latest annotation), ``unsaved`` the scans
        whose latest change is not on disk. The selected scan stays
        selected and the list scrolled where it was (a new order is no reason to move)."""
        current = self.currentItem().data(Qt.UserRole) if self.currentItem() else None
        top = self.verticalScrollBar().value()
        self.blockSignals(True)
        self.clear()
        self._rows = {}
        self._shown = {}
        self._names = Counter(path.name for path in scans)
        for path in scans:
            item = QListWidgetItem()
            item.setData(Qt.UserRole, path)
            self.addItem(item)
            self._rows[path] = item
        for path, (state, annotation) in scans.items():
            self.set_state(path, state, annotation, path in unsaved)
        if current in self._rows:
            self.setCurrentItem(self._rows[current])
        self.blockSignals(False)
        self.doItemsLayout()  # now, so the old place is in the scroll bar's new range
        self.verticalScrollBar().setValue(top)  # back where it was, even if selecting scrolled

    def set_state(self, path: Path, state: str, annotation: Annotation | None = None,
                  unsaved: bool = False) -> None:
        item = self._rows.get(path)
        if item is not None:
            self._shown[path] = (state, annotation, unsaved)
            line, by, tip = summary(state, annotation)
            if unsaved:
                line += SEPARATOR + UNSAVED_MARK
                tip += "\nIts latest change is not saved (see the message above the scan)."
            mark, mark_tip = self._marks.get(path, ("", ""))
            name = printable(self._label(path))
            item.setText("\n".join(filter(None, (
                name, printable(INDENT + SEPARATOR.join(filter(None, (line, by)))),
                mark and printable(INDENT + mark)))))
            item.setData(_LINES_ROLE, (name, printable(line), printable(by), printable(mark)))
            item.setData(_STATE_ROLE, state)
            colour = UNSAVED_COLOUR if unsaved else STATE_COLOURS.get(state, "#e0e0e0")
            item.setForeground(QBrush(QColor(colour)))
            item.setToolTip(printable("\n".join(filter(None, (self._labels.get(path), str(path),
                                                               tip, mark_tip)))))

    def set_labels(self, labels: dict[Path, str]) -> None:
        """Name these scans in words instead of by their file names (the rest as they are)."""
        self._labels.update(labels)
        for path in labels:
            self._redraw(path)

    def set_mark(self, path: Path, text: str, tip: str = "") -> None:
        """Show ``text`` as the row's third line (none when empty), ``tip`` in its tooltip."""
        if self._marks.get(path, ("", "")) != (text, tip):
            self._marks[path] = (text, tip)
            self._redraw(path)

    def mark_text(self, path: Path) -> str:
        return self._marks.get(path, ("", ""))[0]

    def _redraw(self, path: Path) -> None:
        if path in self._shown:
            self.set_state(path, *self._shown[path])

    def _label(self, path: Path) -> str:
        """The label in words, else the file name, with its folder when another listed scan
        has the same name."""
        if path in self._labels:
            return self._labels[path]
        twins = self._names[path.name]
        return f"{path.name}  ({path.parent.name})" if twins > 1 else path.name

    def state_text(self, path: Path) -> str:
        return self._rows[path].data(_STATE_ROLE)

    def select(self, path: Path) -> None:
        """Make ``path`` the current row with its neighbours in view: selecting alone scrolled
        just enough, so Space left the current scan on the bottom edge, the next half hidden."""
        item = self._rows.get(path)
        if item is not None and item is not self.currentItem():
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)
            row = self.row(item)
            for neighbour in (row - 1, row + 1, row):  # the current row last: it always shows
                if 0 <= neighbour < self.count():
                    self.scrollToItem(self.item(neighbour))

    def _on_current(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.chosen.emit(item.data(Qt.UserRole))
