"""A pair of calipers on the scan: two handles, a line between them and a label.

Used for the outer-to-inner BPD pair (dashed while it is only a suggestion) and for the
two-point distance calipers. Dragging or nudging an end moves that end only
(``core.calipers.Calipers.moved``); ``previewed`` fires during a drag, ``edited`` once on release.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from ..core.calipers import Calipers
from .handles import Handle, label_item


class CaliperItem(QGraphicsObject):
    previewed = Signal(object)  # Calipers, on every move of a drag
    edited = Signal(object, str)  # the final Calipers and the undo text, once per drag

    def __init__(self, colour: QColor, name: str, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._colour = QColor(colour)
        self._name = name  # for the undo text, e.g. "BPD caliper"
        self._pair: Calipers | None = None
        self._suggested = False
        self._drag: tuple[int, Calipers, QPointF] | None = None
        self._handles = [Handle(str(i), self, fill=self._colour.name(),
                                tip=f"Drag to move this end of the {name}") for i in (0, 1)]
        for handle in self._handles:
            handle.setCursor(Qt.SizeAllCursor)
        self._label = label_item("", self._colour, self._handles[1])
        self.setZValue(3)
        self.setVisible(False)

    @property
    def pair(self) -> Calipers | None:
        return self._pair

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    @property
    def handles(self) -> list[Handle]:
        return self._handles

    def set_pair(self, pair: Calipers | None, label: str = "", suggested: bool = False) -> None:
        self.prepareGeometryChange()
        self._pair, self._suggested = pair, suggested
        self.setVisible(pair is not None)
        if pair is None:
            return
        for handle, (x, y) in zip(self._handles, (pair.p, pair.q)):
            handle.setPos(x, y)
        self._label.setText(label)
        self._place_label()
        self.update()

    def _place_label(self) -> None:
        """Beyond the ``q`` end, in line with the pair, clear of the handle."""
        p, q = self._pair.p, self._pair.q
        line = QLineF(QPointF(*p), QPointF(*q))
        r = self._label.boundingRect()
        if line.length() > 0:
            unit = line.unitVector()
            d = QPointF(unit.dx(), unit.dy())
        else:
            d = QPointF(1, 0)
        centre = d * (12 + max(r.width(), r.height()) / 2)
        self._label.setPos(centre - QPointF(r.width() / 2, r.height() / 2))

    # --- dragging ----------------------------------------------------------------------

    def begin_drag(self, name: str, scene_pos: QPointF) -> None:
        if self._pair is not None:
            self._drag = (int(name), self._pair, QPointF(scene_pos))

    def drag_to(self, scene_pos: QPointF) -> None:
        if self._drag is None:
            return
        end, start, press = self._drag
        moved = start.moved(end, scene_pos.x() - press.x(), scene_pos.y() - press.y())
        self.set_pair(moved, self._label.text(), self._suggested)
        self.previewed.emit(moved)

    def end_drag(self) -> None:
        if self._drag is None:
            return
        _, start, _ = self._drag
        self._drag = None
        if self._pair != start:
            self.edited.emit(self._pair, f"Move a {self._name} end")

    # --- painting ----------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        if self._pair is None:
            return QRectF()
        (x0, y0), (x1, y1) = self._pair.p, self._pair.q
        return QRectF(QPointF(min(x0, x1), min(y0, y1)),
                      QPointF(max(x0, x1), max(y0, y1))).adjusted(-2, -2, 2, 2)

    def shape(self) -> QPainterPath:
        return QPainterPath()  # only the handles take the mouse

    def paint(self, painter, option, widget=None) -> None:
        if self._pair is None:
            return
        pen = QPen(self._colour, 1.5, Qt.DashLine if self._suggested else Qt.SolidLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLine(QPointF(*self._pair.p), QPointF(*self._pair.q))
