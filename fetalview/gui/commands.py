"""Undo steps. Every change to a scan's measurement is one command between two Annotations.

One class serves handle drags, manual drawing, model results, resets and pixel sizes: each
replaces the whole (immutable) annotation, so undo and redo restore exactly what was on screen
and the document saves it, keeping the sidecar equal to the screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from fetalview.core.record.sidecar import Annotation

if TYPE_CHECKING:
    from fetalview.gui.document import ScanDocument


class AnnotationCommand(QUndoCommand):
    def __init__(self, document: ScanDocument, before: Annotation, after: Annotation, text: str):
        super().__init__(text)
        self._document = document
        self.before = before
        self.after = after

    def redo(self) -> None:
        self._document.apply(self.after)

    def undo(self) -> None:
        self._document.apply(self.before)
