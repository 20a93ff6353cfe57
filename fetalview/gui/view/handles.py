"""The draggable handles of the contour and the calipers: same size on screen at any zoom, a hit
area larger than what is drawn, selectable for keyboard nudges.

A handle knows nothing about what it edits: it forwards presses, moves and releases to its
owner (``begin_drag``/``drag_to``/``end_drag`` in scene coordinates), and a nudge is the same
three calls, so a key press and a mouse drag are one code path and one undo step each.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsSimpleTextItem

from fetalview.gui.theme import ACCENT

#: What is drawn, in logical (device-independent) pixels, whatever the zoom or screen scale.
HANDLE_DRAWN = 10
#: What takes the mouse: comfortably above the 14 logical pixels a pointer needs.
HANDLE_HIT = 20
#: Arrow keys move the selected handle by this many scan pixels (with Shift: ``NUDGE_BIG``).
NUDGE, NUDGE_BIG = 1.0, 10.0


class Handle(QGraphicsRectItem):
    """An invisible square of ``HANDLE_HIT`` that takes the mouse, around a drawn square of
    ``HANDLE_DRAWN``; both keep their screen size at any zoom. Painting is Qt's own (no Python
    on the paint path, which runs for every handle on every frame of a drag)."""

    def __init__(self, name: str, owner, parent: QGraphicsItem | None = None,
                 fill: str = "#ffffff", tip: str = ""):
        r = HANDLE_HIT / 2
        super().__init__(-r, -r, 2 * r, 2 * r, parent if parent is not None else owner)
        self.name = name
        self.owner = owner
        self._fill = QColor(fill)
        self.setPen(QPen(Qt.NoPen))
        self.setFlag(QGraphicsItem.ItemIgnoresTransformations)
        self.setFlag(QGraphicsItem.ItemIsSelectable)
        self.setAcceptedMouseButtons(Qt.LeftButton)
        self.setToolTip(tip + " (click, then arrow keys nudge it; Shift: 10 pixels)")
        d = HANDLE_DRAWN / 2
        self.mark = QGraphicsRectItem(-d, -d, 2 * d, 2 * d, self)
        self.mark.setBrush(QBrush(self._fill))
        self.mark.setPen(QPen(QColor("#101010"), 1.5))
        self.mark.setAcceptedMouseButtons(Qt.NoButton)  # the square around it takes the mouse

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemSelectedHasChanged:
            self.mark.setBrush(QBrush(QColor(ACCENT) if value else self._fill))
        return super().itemChange(change, value)

    def mousePressEvent(self, event) -> None:
        scene = self.scene()
        if scene is not None:
            scene.clearSelection()
        self.setSelected(True)
        self.owner.begin_drag(self.name, event.scenePos())
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        self.owner.drag_to(event.scenePos())

    def mouseReleaseEvent(self, event) -> None:
        self.owner.end_drag()

    def view_scene_pos(self) -> QPointF:
        """Where the handle sits in the scene as the view shows it. (``scenePos`` counts an
        offset from a parent that ignores the zoom in scene pixels, not screen pixels.)"""
        views = self.scene().views() if self.scene() is not None else []
        if not views:
            return self.scenePos()
        view = views[0]
        on_screen = self.deviceTransform(view.viewportTransform()).map(QPointF(0, 0))
        return view.viewportTransform().inverted()[0].map(on_screen)

    def nudge(self, dx: float, dy: float) -> None:
        """Move this handle by (dx, dy) scan pixels, as one edit."""
        start = self.view_scene_pos()
        self.owner.begin_drag(self.name, start)
        self.owner.drag_to(start + QPointF(dx, dy))
        self.owner.end_drag()


def label_item(text: str, colour: QColor, parent: QGraphicsItem) -> QGraphicsSimpleTextItem:
    """A caliper's label in screen-sized text with a dark outline, legible on any echo."""
    label = QGraphicsSimpleTextItem(text, parent)
    label.setFlag(QGraphicsItem.ItemIgnoresTransformations)
    label.setBrush(QBrush(colour))
    label.setPen(QPen(QColor(0, 0, 0, 200), 0.8))
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setAcceptedMouseButtons(Qt.NoButton)
    return label
