"""The head ellipse drawn over the scan, with handles a clinician drags to correct it.

The item works in scan pixel coordinates (the scene's). What a drag means is decided by
``core.edit.drag_handle``; this file only turns mouse events into calls to it. During a drag
``previewed`` fires on every move (for live HC/BPD/OFD); ``edited`` fires once, on release, so
each drag is one undo step. The axes are drawn as labelled caliper pairs (BPD on the short axis,
OFD on the long one); the rotation handle sits a fixed screen distance beyond the long axis's
end, so it is never mistaken for that end at any zoom. When the BPD is measured outer-to-inner
by its own calipers, the short axis is not drawn: one line, one BPD.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem, QGraphicsObject

from fetalview.core.measure.ellipse_edit import HANDLES, drag_handle, handle_positions
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.results.overlay import AXIS_BGR, contour_bgr
from fetalview.gui.view.handles import HANDLE_DRAWN, Handle, label_item


def bgr(colour: tuple[int, int, int]) -> QColor:
    """The export's colours (OpenCV BGR) on screen, so the app and the PNG look alike."""
    return QColor(colour[2], colour[1], colour[0])


#: The rotation handle's distance beyond the end of axis ``a``, in logical screen pixels.
ROTATION_OFFSET = 34
UNDO_TEXT = {"centre": "Move head contour", "rotate": "Rotate head contour",
             "a+": "Move a caliper end", "a-": "Move a caliper end",
             "b+": "Move a caliper end", "b-": "Move a caliper end"}
CURSORS = {"centre": Qt.SizeAllCursor, "rotate": Qt.CrossCursor}
TIPS = {"centre": "Drag to move the contour", "rotate": "Drag to rotate the contour"}


class EllipseItem(QGraphicsObject):
    previewed = Signal(object)  # Ellipse, on every move of a drag
    edited = Signal(object, str)  # the final Ellipse and the undo text, once per drag

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._ellipse: Ellipse | None = None
        self._drag: tuple[str, Ellipse, QPointF] | None = None
        self._handles: dict[str, Handle] = {}
        for name in HANDLES:
            if name == "rotate":
                continue
            self._handles[name] = Handle(name, self, tip=TIPS.get(name, "Drag to move this "
                                                                   "caliper end"))
            self._handles[name].setCursor(CURSORS.get(name, Qt.SizeFDiagCursor))
        # the rotation handle hangs off the long axis's end in screen pixels, on a thin stalk
        self._stalk = QGraphicsLineItem(self._handles["a+"])
        self._stalk.setPen(QPen(QColor("#ffb030"), 1, Qt.DotLine))
        self._handles["rotate"] = Handle("rotate", self, parent=self._handles["a+"],
                                         fill="#ffb030", tip=TIPS["rotate"])
        self._handles["rotate"].setCursor(Qt.CrossCursor)
        colour = bgr(AXIS_BGR)
        self._labels = {"a": label_item("", colour, self._handles["a+"]),
                        "b": label_item("", colour, self._handles["b+"])}
        self._short_label = "BPD"
        self._doubtful = False
        self.setVisible(False)

    @property
    def ellipse(self) -> Ellipse | None:
        return self._ellipse

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    def set_short_axis_label(self, text: str) -> None:
        """What the short axis is called on screen: "BPD" when it is the BPD shown; "" hides
        it when the BPD comes from the outer-to-inner calipers."""
        self._short_label = text
        self._place_labels()
        self.update()

    def set_doubtful(self, doubtful: bool) -> None:
        """Draw the contour amber and dashed while the model's flag awaits a clinician (the
        exports draw it amber too), so a flagged contour never looks like a sure one."""
        if doubtful != self._doubtful:
            self._doubtful = doubtful
            self.update()

    @property
    def doubtful(self) -> bool:
        return self._doubtful

    def set_ellipse(self, ellipse: Ellipse | None) -> None:
        self.prepareGeometryChange()
        self._ellipse = ellipse
        self.setVisible(ellipse is not None)
        if ellipse is None:
            return
        for name, (x, y) in handle_positions(ellipse).items():
            if name != "rotate":
                self._handles[name].setPos(x, y)
        long_end = self._handles["a+" if ellipse.a >= ellipse.b else "b+"]
        for item in (self._handles["rotate"], self._stalk):
            if item.parentItem() is not long_end:
                item.setParentItem(long_end)
        t = math.radians(ellipse.angle_deg + (0.0 if ellipse.a >= ellipse.b else 90.0))
        offset = QPointF(ROTATION_OFFSET * math.cos(t), ROTATION_OFFSET * math.sin(t))
        self._handles["rotate"].setPos(offset)
        self._stalk.setLine(QLineF(QPointF(0, 0), offset))
        self._place_labels()
        self.update()

    def _place_labels(self) -> None:
        e = self._ellipse
        if e is None:
            return
        short = "a" if e.a < e.b else "b"
        for axis, label in self._labels.items():
            label.setText(self._short_label if axis == short else "OFD")
            # beside the end, across the axis, clear of the handle and the rotation stalk
            t = math.radians(e.angle_deg + (90.0 if axis == "a" else 0.0))
            r = label.boundingRect()
            reach = HANDLE_DRAWN / 2 + 4 + abs(math.cos(t)) * r.width() / 2 \
                + abs(math.sin(t)) * r.height() / 2
            centre = QPointF(reach * math.cos(t), reach * math.sin(t))
            label.setPos(centre - QPointF(r.width() / 2, r.height() / 2))

    def handle_scene_pos(self, name: str) -> QPointF:
        return self._handles[name].view_scene_pos()

    def handle(self, name: str) -> Handle:
        return self._handles[name]

    # --- dragging ----------------------------------------------------------------------

    def begin_drag(self, name: str, scene_pos: QPointF) -> None:
        if self._ellipse is not None:
            self._drag = (name, self._ellipse, QPointF(scene_pos))

    def drag_to(self, scene_pos: QPointF) -> None:
        if self._drag is None:
            return
        name, start, press = self._drag
        moved = drag_handle(start, name, scene_pos.x() - press.x(), scene_pos.y() - press.y(),
                            grab=(press.x(), press.y()))
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
        reach = max(e.a, e.b) + 4
        return QRectF(e.cx - reach, e.cy - reach, 2 * reach, 2 * reach)

    def shape(self) -> QPainterPath:
        return QPainterPath()  # only the handles take the mouse; clicks elsewhere pan the view

    def paint(self, painter, option, widget=None) -> None:
        if self._ellipse is None:
            return
        e = self._ellipse
        pen = QPen(bgr(contour_bgr(self._doubtful)), 1.5,
                   Qt.DashLine if self._doubtful else Qt.SolidLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in e.points(240)]))
        axis_pen = QPen(bgr(AXIS_BGR), 1, Qt.DashLine)
        axis_pen.setCosmetic(True)
        painter.setPen(axis_pen)
        short = 0 if e.a < e.b else 1
        for i, ends in enumerate(e.axis_endpoints()):
            if i != short or self._short_label:
                painter.drawLine(QPointF(*ends[0]), QPointF(*ends[1]))
