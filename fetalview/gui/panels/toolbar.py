"""The main toolbar: an icon and a short fixed label per button, each button a fixed width.

Labels come from each action's ``iconText``, which stays put while the action's text changes
(Undo's text names the step it undoes; that goes in its tooltip), and each button is fixed at
its own label's width (no narrower than ``MIN_BUTTON``), so no button ever shifts its
neighbours. Not one common width: the widest label's width for all thirteen overflowed a
1366x768 laptop at 150% scaling, hiding Redo, Export and Fit behind the overflow arrow. Icons are drawn here with a few strokes, so they look the same on every platform
and icon theme, and stay sharp at 125% and 150% screen scaling.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QMainWindow, QToolBar

ICON_PX = 64  # the glyphs' design grid
#: Drawn at the toolbar's size and twice that (125%-200% screens), each in its enabled and
#: disabled colour, so that Qt neither rescales nor greys them on every repaint.
SIZES = (24, 48)
MIN_BUTTON = 48  # px: "Fit" stays an easy target
INK = QColor("#dfe6ee")
DIM = QColor("#6c6c6c")


def _chevron(p: QPainter, left: bool) -> None:
    x0, x1 = (40, 24) if left else (24, 40)
    p.drawPolyline(QPolygonF([QPointF(x0, 14), QPointF(x1, 32), QPointF(x0, 50)]))


def _arc_arrow(p: QPainter, left: bool) -> None:
    path = QPainterPath()
    path.moveTo(50 if left else 14, 46)
    path.cubicTo(52 if left else 12, 18, 20 if left else 44, 14, 14 if left else 50, 28)
    p.drawPath(path)
    tip = QPointF(14, 28) if left else QPointF(50, 28)
    side = 1 if left else -1
    p.drawPolyline(QPolygonF([tip + QPointF(side * 2, -14), tip, tip + QPointF(side * 14, 2)]))


def _cross(p: QPainter, x: float, y: float) -> None:
    p.drawLine(QPointF(x - 7, y), QPointF(x + 7, y))
    p.drawLine(QPointF(x, y - 7), QPointF(x, y + 7))


def _draw(name: str, p: QPainter) -> None:
    if name == "open":
        p.drawPolygon(QPolygonF([QPointF(16, 8), QPointF(38, 8), QPointF(48, 18),
                                 QPointF(48, 56), QPointF(16, 56)]))
        p.drawPolyline(QPolygonF([QPointF(38, 8), QPointF(38, 18), QPointF(48, 18)]))
    elif name == "folder":
        p.drawPolygon(QPolygonF([QPointF(8, 16), QPointF(26, 16), QPointF(31, 22),
                                 QPointF(56, 22), QPointF(56, 50), QPointF(8, 50)]))
    elif name in ("previous", "next"):
        _chevron(p, name == "previous")
    elif name == "run":
        p.drawPolygon(QPolygonF([QPointF(20, 12), QPointF(50, 32), QPointF(20, 52)]))
    elif name == "draw":
        p.drawEllipse(QRectF(8, 14, 48, 36))
        _cross(p, 8, 32)
        _cross(p, 56, 32)
    elif name == "distance":
        _cross(p, 12, 48)
        _cross(p, 52, 16)
        dotted = QPen(p.pen())
        dotted.setStyle(Qt.DotLine)
        p.save()
        p.setPen(dotted)
        p.drawLine(QPointF(16, 44), QPointF(48, 20))
        p.restore()
    elif name == "confirm":
        p.drawPolyline(QPolygonF([QPointF(12, 34), QPointF(26, 48), QPointF(52, 16)]))
    elif name == "confirm-next":
        p.drawPolyline(QPolygonF([QPointF(6, 34), QPointF(18, 46), QPointF(38, 18)]))
        p.drawPolyline(QPolygonF([QPointF(46, 20), QPointF(58, 32), QPointF(46, 44)]))
    elif name in ("undo", "redo"):
        _arc_arrow(p, name == "undo")
    elif name == "export":
        p.drawPolyline(QPolygonF([QPointF(10, 36), QPointF(10, 54), QPointF(54, 54),
                                  QPointF(54, 36)]))
        p.drawLine(QPointF(32, 42), QPointF(32, 8))
        p.drawPolyline(QPolygonF([QPointF(20, 20), QPointF(32, 8), QPointF(44, 20)]))
    elif name == "fit":
        for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
            cx, cy = 32 - sx * 22, 32 - sy * 18
            p.drawPolyline(QPolygonF([QPointF(cx, cy + sy * 10), QPointF(cx, cy),
                                      QPointF(cx + sx * 10, cy)]))


def icon(name: str) -> QIcon:
    result = QIcon()
    for size in SIZES:
        for mode, colour in ((QIcon.Normal, INK), (QIcon.Disabled, DIM)):
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.Antialiasing)
            painter.scale(size / ICON_PX, size / ICON_PX)
            painter.setPen(QPen(colour, 4.5, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
            _draw(name, painter)
            painter.end()
            result.addPixmap(pixmap, mode)
    return result


def build_toolbar(window: QMainWindow, groups: list[list[tuple[str, str, object]]]) -> QToolBar:
    """A toolbar of (icon name, label, action) groups separated by lines."""
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main toolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonTextUnderIcon)
    for i, group in enumerate(groups):
        if i:
            toolbar.addSeparator()
        for name, label, action in group:
            action.setIcon(icon(name))
            action.setIconText(label)
            toolbar.addAction(action)
    for group in groups:
        for *_, action in group:
            button = toolbar.widgetForAction(action)
            button.setFixedWidth(max(MIN_BUTTON, button.sizeHint().width()))
    return toolbar
