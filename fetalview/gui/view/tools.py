"""Click tools on the scan: draw an ellipse from three clicks, a distance caliper pair, or a
calibration line.

A tool collects scene points, draws its markers and a preview, and reports the points when
done; what the points mean is decided by the core (``core.edit``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene

from fetalview.core.measure.ellipse_edit import ellipse_from_clicks

MANUAL_HINTS = ("Manual ellipse: click one end of the head's long axis (Esc cancels)",
                "Click the other end of the long axis",
                "Click the edge of the head across the axis")
DISTANCE_HINTS = ("Distance: click one end (Esc cancels)", "Click the other end")
CALIBRATION_HINTS = ("Calibration: click one end of a known distance, e.g. the depth scale "
                     "(Esc cancels)",
                     "Click the other end of the known distance")


class ClickTool(QObject):
    """Collects ``len(hints)`` clicks; ``finished`` carries them as (x, y) scan pixels."""

    finished = Signal(list)
    hint = Signal(str)

    def __init__(self, scene: QGraphicsScene, hints: tuple[str, ...], colour: str,
                 preview_ellipse: bool = False):
        super().__init__()
        self._hints = hints
        self._points: list[QPointF] = []
        self._preview_ellipse = preview_ellipse
        pen = QPen(QColor(colour), 2)
        pen.setCosmetic(True)
        self._path = QGraphicsPathItem()
        self._path.setPen(pen)
        self._path.setZValue(10)
        self._path.setFlag(QGraphicsItem.ItemIsSelectable, False)
        scene.addItem(self._path)

    @property
    def current_hint(self) -> str:
        return self._hints[min(len(self._points), len(self._hints) - 1)]

    def press(self, pos: QPointF) -> None:
        self._points.append(QPointF(pos))
        if len(self._points) == len(self._hints):
            points = [(p.x(), p.y()) for p in self._points]
            self.remove()
            self.finished.emit(points)
        else:
            self._draw(pos)
            self.hint.emit(self.current_hint)

    def move(self, pos: QPointF) -> None:
        if self._points:
            self._draw(pos)

    def remove(self) -> None:
        scene = self._path.scene()
        if scene is not None:
            scene.removeItem(self._path)

    def _draw(self, cursor: QPointF) -> None:
        path = QPainterPath()
        for p in self._points:
            path.addEllipse(p, 2.5, 2.5)
        if len(self._points) == 1:
            path.addPath(_line(self._points[0], cursor))
        elif len(self._points) == 2:
            path.addPath(_line(self._points[0], self._points[1]))
            if self._preview_ellipse:
                path.addPath(_ellipse_preview(self._points, cursor))
        self._path.setPath(path)


def _line(p: QPointF, q: QPointF) -> QPainterPath:
    path = QPainterPath()
    path.moveTo(p)
    path.lineTo(q)
    return path


def _ellipse_preview(points: list[QPointF], cursor: QPointF) -> QPainterPath:
    path = QPainterPath()
    try:
        e = ellipse_from_clicks(*[(p.x(), p.y()) for p in (*points, cursor)])
    except ValueError:
        return path
    path.addPolygon(QPolygonF([QPointF(x, y) for x, y in e.points(120)]))
    path.closeSubpath()
    return path


def manual_tool(scene: QGraphicsScene) -> ClickTool:
    return ClickTool(scene, MANUAL_HINTS, "#80ff80", preview_ellipse=True)


def distance_tool(scene: QGraphicsScene) -> ClickTool:
    return ClickTool(scene, DISTANCE_HINTS, "#e678ff")


def calibration_tool(scene: QGraphicsScene) -> ClickTool:
    return ClickTool(scene, CALIBRATION_HINTS, "#ffd040")
