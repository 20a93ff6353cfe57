"""Sorting and filtering the scan list so that the doubtful scans are reviewed first.

``review_order`` is the rule (plain Python, testable without widgets); ``ReviewQueueBar`` is
the two combo boxes above the list.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QBoxLayout, QComboBox, QWidget

from fetalview.core.record.model_result import review_doubt
from fetalview.core.record.review import SIGNED_OFF, UNREADABLE
from fetalview.core.record.sidecar import Annotation

#: Which states come first in "Doubtful first": flagged, then unmeasured, then automatic
#: results nobody has looked at, then edits not confirmed yet; unreadable files and
#: confirmed scans need no review.
STATE_RANK = {"low confidence": 0, "not measured": 1, "auto": 2, "edited": 3, "unreadable": 4,
              "corrected": 5, "confirmed": 5}
SORTS = ("Folder order", "Doubtful first", "Name")
FILTERS = {
    "All scans": None,
    "Flagged only": {"low confidence"},
    "Not confirmed": {"low confidence", "auto", "edited", "not measured"},
    "Not measured": {"not measured"},
    "Edited": {"edited"},
    "Confirmed": {"confirmed", "corrected"},
    "Unreadable": {"unreadable"},
}


def doubt_key(state: str, annotation: Annotation | None) -> tuple:
    """Sort key: by state, then the more doubtful contour first (the HC uncertainty as a share
    of HC, raised by an unusual head shape: millimetres would put every large head ahead of
    a small head's worse error), then the lower confidence."""
    confidence = 1.0
    if annotation is not None and annotation.confidence is not None:
        confidence = annotation.confidence
    return STATE_RANK.get(state, 6), -review_doubt(annotation), confidence


def review_order(paths: list[Path], sort: str, states: dict[Path, str],
                 annotations: dict[Path, Annotation | None], arrival: dict[Path, int]) -> list[Path]:
    """``paths`` in the order ``sort`` asks for (stable for equal keys)."""
    if sort == "Doubtful first":
        return sorted(paths, key=lambda p: doubt_key(states.get(p, ""), annotations.get(p))
                      + (arrival.get(p, 0),))
    if sort == "Name":
        return sorted(paths, key=lambda p: (p.name.lower(), str(p)))
    return sorted(paths, key=lambda p: arrival.get(p, 0))


def shown_by_filter(state: str, filter_name: str) -> bool:
    wanted = FILTERS.get(filter_name)
    return wanted is None or state in wanted


class ReviewQueueBar(QWidget):
    """The list's order and filter: side by side where the scan list is wide enough for both,
    one above the other where it is not (a laptop at 150%), so the two never hold the list,
    and with it the scan, to their joint width."""

    sort_changed = Signal(str)
    filter_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QBoxLayout(QBoxLayout.LeftToRight, self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.sort = QComboBox()
        self.sort.addItems(SORTS)
        self.sort.setToolTip("Order of the list (and of Next / Previous)")
        self.filter = QComboBox()
        self.filter.addItems(list(FILTERS))
        self.filter.setToolTip("Show only the scans in this state (Next / Previous skip the others)")
        layout.addWidget(self.sort, 1)
        layout.addWidget(self.filter, 1)
        self.sort.currentTextChanged.connect(self.sort_changed)
        self.filter.currentTextChanged.connect(self.filter_changed)
        self.setMinimumWidth(max(self.sort.minimumSizeHint().width(),
                                 self.filter.minimumSizeHint().width()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        both = (self.sort.sizeHint().width() + self.filter.sizeHint().width()
                + self.layout().spacing())
        self.layout().setDirection(QBoxLayout.LeftToRight if event.size().width() >= both
                                   else QBoxLayout.TopToBottom)


def end_of_list(offset: int, states: list[str | None]) -> str:
    """What the clinician needs at an end of the list (``offset`` -1: the first scan): at the
    last, whether any of the listed scans' ``states`` is still unconfirmed."""
    if offset < 0:
        return "First scan of the list"
    unreadable = states.count(UNREADABLE)
    left = len(states) - unreadable - sum(state in SIGNED_OFF for state in states)
    if left:
        note = f"{left} scan{'s' if left != 1 else ''} not confirmed yet"
    else:
        done = len(states) - unreadable
        note = f"all {done} {'readable ' if unreadable else ''}scans confirmed"
    return f"Last scan of the list: {note}" + (f", {unreadable} unreadable" if unreadable
                                               else "")
