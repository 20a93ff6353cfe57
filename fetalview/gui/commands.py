"""Undo steps. Every change to a scan's measurement is one command between two Annotations.

One class serves handle drags, manual drawing, model results, resets and pixel sizes: each
replaces the whole (immutable) annotation, so undo and redo restore exactly what was on screen
and the document saves it, keeping the sidecar equal to the screen. The command is handed the
document's ``apply`` (show and save an annotation), so it needs nothing else of the document.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoCommand

from fetalview.core.record.sidecar import Annotation


class AnnotationCommand(QUndoCommand):
    def __init__(self, apply: Callable[[Annotation], None], before: Annotation,
                 after: Annotation, text: str):
        super().__init__(text)
        self._apply = apply
        self.before = before
        self.after = after

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)
