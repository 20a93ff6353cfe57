"""The head ellipse drawn over the scan, with handles a clinician drags to correct it.

The item works in scan pixel coordinates (the scene's). What a drag means is decided by
``core.edit.drag_handle``; this file only turns mouse events into calls to it. During a drag
``previewed`` fires on every move (for live HC/BPD/OFD); ``edited`` fires once, on release, so
each drag is one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsRectItem

from ..core.edit import HANDLES, drag_handle, handle_positions
from ..core.geometry import Ellipse
from ..core.overlay import AXIS_BGR, ELLIPSE_BGR


def bgr(colour: tuple[int, int, int]) -> QColor:
    """The export's colours (OpenCV BGR) on screen, so the app and the PNG look alike."""
    return QColor(colour[2], colour[1], colour[0])


HANDLE_RADIUS = 6  # screen pixels, whatever the zoom
UNDO_TEXT = {"centre": "Move head contour", "rotate": "Rotate head contour",
             "a+": "Resize axis", "a-": "Resize axis", "b+": "Resize axis", "b-": "Resize axis"}
CURSORS = {"centre": Qt.SizeAllCursor, "rotate": Qt.CrossCursor}


class _Handle(QGraphicsRectItem):
    """A fixed-size square on screen that forwards its drags to the ellipse item."""

    def __init__(self, name: str, owner: EllipseItem):
        r = HANDLE_RADIUS
        super().__init__(-r, -r, 2 * r, 2 * r, owner)
        self.name = name
        self._owner = owner
        self.setFlag(QGraphicsItem.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.LeftButton)
        self.setCursor(CURSORS.get(name, Qt.SizeFDiagCursor))
        fill = QColor("#ffb030") if name == "rotate" else QColor("#ffffff")
        self.setBrush(QBrush(fill))
        self.setPen(QPen(QColor("#101010"), 1.5))
        self.setToolTip({"centre": "Drag to move the contour", "rotate": "Drag to rotate"}
                        .get(name, "Drag to change this axis"))

    def mousePressEvent(self, event) -> None:
        self._owner.begin_drag(self.name, event.scenePos())
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        self._owner.drag_to(event.scenePos())

    def mouseReleaseEvent(self, event) -> None:
        self._owner.end_drag()


class EllipseItem(QGraphicsObject):
    previewed = Signal(object)  # Ellipse, on every move of a drag
    edited = Signal(object, str)  # the final Ellipse and the undo text, once per drag

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._ellipse: Ellipse | None = None
        self._drag: tuple[str, Ellipse, QPointF] | None = None
        self._handles = {name: _Handle(name, self) for name in HANDLES}
        self.setVisible(False)

    @property
    def ellipse(self) -> Ellipse | None:
        return self._ellipse

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    def set_ellipse(self, ellipse: Ellipse | None) -> None:
        self.prepareGeometryChange()
        self._ellipse = ellipse
        self.setVisible(ellipse is not None)
        if ellipse is None:
            return
        for name, (x, y) in handle_positions(ellipse).items():
            self._handles[name].setPos(x, y)
        self.update()

    def handle_scene_pos(self, name: str) -> QPointF:
        return self._handles[name].scenePos()

    # --- dragging ----------------------------------------------------------------------

    def begin_drag(self, name: str, scene_pos: QPointF) -> None:
        if self._ellipse is not None:
            self._drag = (name, self._ellipse, QPointF(scene_pos))

    def drag_to(self, scene_pos: QPointF) -> None:
        if self._drag is None:
            return
        name, start, press = self._drag
        moved = drag_handle(start, name, scene_pos.x() - press.x(), scene_pos.y() - press.y())
        self.set_ellipse(moved)
        self.previewed.emit(moved)

    def end_drag(self) -> None:
        if self._drag is None:
            return
        name, start, _ = self._drag
        self._drag = None
        if self._ellipse != start:
            self.edited.emit(self._ellipse, UNDO_TEXT[name])

    # --- painting ----------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        if self._ellipse is None:
            return QRectF()
        e = self._ellipse
        reach = max(e.a, e.b) * 1.2 + 4
        return QRectF(e.cx - reach, e.cy - reach, 2 * reach, 2 * reach)

    def shape(self) -> QPainterPath:
        return QPainterPath()  # only the handles take the mouse; clicks elsewhere pan the view

    def paint(self, painter, option, widget=None) -> None:
        if self._ellipse is None:
            return
        e = self._ellipse
        pen = QPen(bgr(ELLIPSE_BGR), 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in e.points(240)]))
        axis_pen = QPen(bgr(AXIS_BGR), 1, Qt.DashLine)
        axis_pen.setCosmetic(True)
        painter.setPen(axis_pen)
        for ends in e.axis_endpoints():
            painter.drawLine(QPointF(*ends[0]), QPointF(*ends[1]))
        hx, hy = handle_positions(e)["rotate"]
        _, a_end = e.axis_endpoints()[0]
        painter.drawLine(QPointF(*a_end), QPointF(hx, hy))
