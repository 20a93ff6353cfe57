"""The scan on screen: zoom, pan, brightness/contrast, the editable ellipse, the calipers and
click tools. Arrow keys nudge the selected handle (1 scan pixel, Shift: 10); Delete removes the
selected distance caliper.

Scene coordinates are scan pixel coordinates with pixel centres on integers (the core's
convention), so an ellipse from the core is drawn where the export draws it: the image is
offset by half a pixel to put pixel (0, 0)'s centre at the origin.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from fetalview.core.record.calipers import Calipers
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.results.overlay import AXIS_BGR, CALIPER_BGR, OUTLINE_BGR
from fetalview.gui.view.caliper_item import BPD_GRAB_OFFSET, CaliperItem
from fetalview.gui.view.ellipse_item import EllipseItem, bgr
from fetalview.gui.view.handles import NUDGE, NUDGE_BIG, Handle
from fetalview.gui.view.images import gray_qimage
from fetalview.gui.view.levels import display_lut
from fetalview.gui.view.tools import ClickTool

MIN_ZOOM, MAX_ZOOM = 0.05, 40.0
ARROWS = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, -1), Qt.Key_Down: (0, 1)}


class ScanView(QGraphicsView):
    hint = Signal(str)  # instructions for the active tool ("" when none)
    bpd_previewed = Signal(object)  # Calipers, during a drag of the outer-to-inner BPD pair
    bpd_edited = Signal(object, str)
    distance_previewed = Signal(int, object)  # index, Calipers
    distance_edited = Signal(int, object, str)
    distance_removed = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QBrush(QColor("#0c0c0d")))
        self.setRenderHints(QPainter.Antialiasing | QPainter.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setFocusPolicy(Qt.StrongFocus)
        self._image = QGraphicsPixmapItem()
        self._image.setOffset(-0.5, -0.5)
        self._image.setTransformationMode(Qt.FastTransformation)  # show true pixels on zoom
        self.scene().addItem(self._image)
        self.outline_item = QGraphicsPathItem()
        pen = QPen(bgr(OUTLINE_BGR), 1.5, Qt.DashLine)
        pen.setCosmetic(True)
        self.outline_item.setPen(pen)
        self.outline_item.setZValue(1)
        self.scene().addItem(self.outline_item)
        self.ellipse_item = EllipseItem()
        self.ellipse_item.setZValue(2)
        self.scene().addItem(self.ellipse_item)
        self.bpd_item = CaliperItem(bgr(AXIS_BGR), "BPD caliper", grab_offset=BPD_GRAB_OFFSET)
        self.bpd_item.previewed.connect(self.bpd_previewed)
        self.bpd_item.edited.connect(self.bpd_edited)
        self.scene().addItem(self.bpd_item)
        self.distance_items: list[CaliperItem] = []
        self._pixels: np.ndarray | None = None
        self._levels = (0, 0)
        self._fitted = True
        self.tool: ClickTool | None = None

    # --- content -------------------------------------------------------------------------

    def set_scan(self, pixels: np.ndarray | None) -> None:
        self.cancel_tool()
        self.scene().clearSelection()
        self._pixels = pixels
        self._render()
        if pixels is not None:
            h, w = pixels.shape
            self.setSceneRect(QRectF(-0.5, -0.5, w, h))
        self.fit()

    def set_levels(self, brightness: int, contrast: int) -> None:
        """Display-only brightness/contrast (-100..100); the scan's data is untouched."""
        self._levels = (brightness, contrast)
        self._render()

    @property
    def levels(self) -> tuple[int, int]:
        return self._levels

    def _render(self) -> None:
        if self._pixels is None:
            self._image.setPixmap(QPixmap())
            return
        shown = display_lut(*self._levels)[self._pixels]
        self._image.setPixmap(QPixmap.fromImage(gray_qimage(shown)))

    def set_ellipse(self, ellipse: Ellipse | None) -> None:
        if not self.ellipse_item.dragging:
            self.ellipse_item.set_ellipse(ellipse)

    def set_bpd_pair(self, pair: Calipers | None, label: str, suggested: bool) -> None:
        if not self.bpd_item.dragging:
            self.bpd_item.set_pair(pair, label, suggested)

    def set_distances(self, calipers: list[Calipers]) -> None:
        """One caliper item per distance, labelled D1, D2, ... in order."""
        if any(item.dragging for item in self.distance_items):
            return
        while len(self.distance_items) > len(calipers):
            item = self.distance_items.pop()
            self.scene().removeItem(item)
            item.deleteLater()
        while len(self.distance_items) < len(calipers):
            i = len(self.distance_items)
            item = CaliperItem(bgr(CALIPER_BGR), "distance caliper")
            item.previewed.connect(lambda c, i=i: self.distance_previewed.emit(i, c))
            item.edited.connect(lambda c, text, i=i: self.distance_edited.emit(i, c, text))
            self.scene().addItem(item)
            self.distance_items.append(item)
        for i, (item, pair) in enumerate(zip(self.distance_items, calipers), 1):
            item.set_pair(pair, f"D{i}")

    def selected_handle(self) -> Handle | None:
        return next((i for i in self.scene().selectedItems() if isinstance(i, Handle)
                     and i.isVisible()), None)

    def set_outline(self, outline: np.ndarray | None) -> None:
        path = QPainterPath()
        if outline is not None and len(outline) > 2:
            path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in outline]))
            path.closeSubpath()
        self.outline_item.setPath(path)

    # --- zoom and pan ------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        if self._pixels is not None:
            self.fitInView(self.sceneRect(), Qt.KeepAspectRatio)
        self._fitted = True

    def zoom_by(self, factor: float) -> None:
        factor = min(max(self.zoom * factor, MIN_ZOOM), MAX_ZOOM) / self.zoom
        self.scale(factor, factor)
        self._fitted = False

    def wheelEvent(self, event) -> None:
        self.zoom_by(1.25 ** (event.angleDelta().y() / 120.0))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    # --- click tools -------------------------------------------------------------------

    def start_tool(self, tool: ClickTool) -> None:
        self.cancel_tool()
        self.tool = tool
        tool.finished.connect(self._tool_done)
        tool.hint.connect(self.hint)
        self.setDragMode(QGraphicsView.NoDrag)
        self.viewport().setCursor(Qt.CrossCursor)
        self.hint.emit(tool.current_hint)

    def cancel_tool(self) -> None:
        if self.tool is not None:
            self.tool.remove()
            self._tool_done()

    def _tool_done(self, *_) -> None:
        self.tool = None
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.viewport().unsetCursor()
        self.hint.emit("")

    def mousePressEvent(self, event) -> None:
        if self.tool is not None and event.button() == Qt.LeftButton:
            self.tool.press(self.mapToScene(event.position().toPoint()))
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self.tool is not None:
            self.tool.move(self.mapToScene(event.position().toPoint()))
            return
        super().mouseMoveEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape and self.tool is not None:
            self.cancel_tool()
            return
        handle = self.selected_handle()
        if handle is not None and event.key() in ARROWS:
            step = NUDGE_BIG if event.modifiers() & Qt.ShiftModifier else NUDGE
            dx, dy = ARROWS[event.key()]
            handle.nudge(dx * step, dy * step)
            return
        if handle is not None and event.key() in (Qt.Key_Delete, Qt.Key_Backspace):
            owner = handle.owner
            if owner in self.distance_items:
                self.scene().clearSelection()
                self.distance_removed.emit(self.distance_items.index(owner))
                return
        super().keyPressEvent(event)
