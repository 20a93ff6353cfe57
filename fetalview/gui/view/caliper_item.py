"""A pair of calipers on the scan: two handles, a line between them and a label.

Used for the outer-to-inner BPD pair (dashed while it is only a suggestion) and for the
two-point distance calipers. Dragging or nudging an end moves that end only
(``core.calipers.Calipers.moved``); ``previewed`` fires during a drag, ``edited`` once on release.

The BPD pair starts on the head contour's short-axis ends (or a skull's thickness inside
them), where the contour's own handles are: there its ends are grabbed by tabs set
``grab_offset`` screen pixels to the side of the line, each on a stalk from its exact point,
so the contour's handle and the caliper's end are both in reach, at any zoom. Distance
calipers, placed by clicking, keep their handles on their points.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem, QGraphicsObject

from fetalview.core.record.calipers import Calipers
from fetalview.gui.view.handles import HANDLE_DRAWN, HANDLE_HIT, Handle, label_item

#: How far the BPD pair's grab tabs stand beside its ends, in logical screen pixels: two hit
#: squares (``HANDLE_HIT``), so a full hit square of empty scan lies between a tab and any
#: handle on the caliper line, the contour's short-axis ends included, whatever the line's
#: direction. At 1.6 squares the tab and the contour's end stood 30 px apart, 12 px of gap
#: between their hit areas, and a sonographer grabbed the one she did not mean.
BPD_GRAB_OFFSET = 2 * HANDLE_HIT
#: How far a caliper's label stands from its ``q`` end, in logical screen pixels: clear of a
#: handle drawn on the end (``HANDLE_DRAWN``), close enough to be read with its caliper.
LABEL_GAP = HANDLE_DRAWN / 2 + 4


class CaliperItem(QGraphicsObject):
    previewed = Signal(object)  # Calipers, on every move of a drag
    edited = Signal(object, str)  # the final Calipers and the undo text, once per drag

    def __init__(self, colour: QColor, name: str, parent: QGraphicsItem | None = None,
                 grab_offset: float = 0.0):
        super().__init__(parent)
        self._colour = QColor(colour)
        self._name = name  # for the undo text, e.g. "BPD caliper"
        self._grab_offset = grab_offset
        self._pair: Calipers | None = None
        self._suggested = False
        self._drag: tuple[int, Calipers, QPointF] | None = None
        # each end: a stalk at its exact point (screen-sized), the handle at the stalk's tip
        self._stalks = [QGraphicsLineItem(self) for _ in (0, 1)]
        stalk_pen = QPen(self._colour, 1, Qt.DotLine)  # thin: it may lie along an echo
        for stalk in self._stalks:
            stalk.setFlag(QGraphicsItem.ItemIgnoresTransformations)
            stalk.setPen(stalk_pen if grab_offset else QPen(Qt.NoPen))
            stalk.setAcceptedMouseButtons(Qt.NoButton)
        self._handles = [Handle(str(i), self, parent=self._stalks[i], fill=self._colour.name(),
                                tip=f"Drag to move this end of the {name}") for i in (0, 1)]
        for handle in self._handles:
            handle.setCursor(Qt.SizeAllCursor)
        self._label = label_item("", self._colour, self._stalks[1])
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
        unit = self._unit()
        beside = QPointF(-unit.y(), unit.x()) * self._grab_offset  # same side for both ends
        for stalk, handle, (x, y) in zip(self._stalks, self._handles, (pair.p, pair.q)):
            stalk.setPos(x, y)
            stalk.setLine(QLineF(QPointF(0, 0), beside))
            handle.setPos(beside)
        self._label.setText(label)
        self._place_label()
        self.update()

    def _unit(self) -> QPointF:
        """The direction from ``p`` to ``q`` (the same on screen: the view only scales)."""
        line = QLineF(QPointF(*self._pair.p), QPointF(*self._pair.q))
        if line.length() == 0:
            return QPointF(1, 0)
        unit = line.unitVector()
        return QPointF(unit.dx(), unit.dy())

    def _place_label(self) -> None:
        """Right beside the ``q`` end: across the line on the side away from the grab tabs and
        back toward ``p``, each ``LABEL_GAP`` from the end. So it is read with its caliper and
        covers neither the echo the end is set on (which runs across the line there and
        beyond it) nor a handle. Beyond the end in line with the pair, where it stood before,
        the BPD pair's far end meets the contour's short-axis handle: the label was pushed
        past both, 50 px from its caliper, where it read as another's."""
        r = self._label.boundingRect()
        unit = self._unit()
        across = QPointF(unit.y(), -unit.x())  # the tabs stand at (-y, x)
        side = LABEL_GAP + abs(across.x()) * r.width() / 2 + abs(across.y()) * r.height() / 2
        back = LABEL_GAP + abs(unit.x()) * r.width() / 2 + abs(unit.y()) * r.height() / 2
        self._label.setPos(across * side - unit * back - QPointF(r.width() / 2, r.height() / 2))

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
