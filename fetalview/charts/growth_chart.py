"""The HC growth chart: HC against gestational age on the INTERGROWTH-21st centile lines.

One drawing for every place that shows it (the side panel, its larger dialog, the scan's PDF
report, the list report), so the chart a clinician sees is the chart that is filed. It draws
the ``GrowthPoint``s it is given and decides nothing: confirmed points are joined in time
order, an unconfirmed point is drawn hollow and grey and never joined, and the latest is
ringed. The centile lines come from ``core.measure.growth`` (the model of the percentile text).

pyqtgraph is imported on first use, not with the app: it costs about 0.4 s, which the window's
start should not pay. The plot is a ``PlotItem`` (a QGraphicsItem), so the panel shows it in a
``GraphicsView`` and a report paints it through any QPainter (``paint_growth_chart``), also
without a window (the batch's ``--reports``).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter

from fetalview.core.measure.growth import CHART_CENTILES, CHART_DAYS, GrowthPoint, hc_centile_curve

LINE = "#4a6f8a"  # the centile lines
MEDIAN = "#1a5f95"
POINT = "#c0392b"  # a confirmed measurement
UNCONFIRMED = "#8a8a8a"
#: How to read the points, under every chart.
LEGEND = ("Filled dots: confirmed scans, joined in date order; hollow grey: not confirmed; "
          "ringed: the latest.")
#: Under a list's summary chart, whose dots are scans of different patients.
LIST_LEGEND = ("Each dot: one confirmed scan of this list with a gestational age given, at its "
               "HC (not joined: the scans may be of different patients).")
#: The weeks the x axis spans: the standard's range, and room at the right for the labels.
X_RANGE = (CHART_DAYS[0] / 7.0, CHART_DAYS[1] / 7.0 + 4.5)
Y_RANGE = (60.0, 390.0)  # HC in mm: 14+0 weeks' 3rd centile to above 40+0 weeks' 97th


def label_heights(ends: Sequence[float], gap: float, top: float) -> list[float]:
    """Where the centile labels go (mm): at their lines' ends, moved apart to at least ``gap``
    (one line of text at the chart's size; at 40 weeks the lines lie 6-17 mm apart) and
    below ``top``, in the lines' order, as near their lines as that allows."""
    placed = [ends[0]]
    for end in ends[1:]:
        placed.append(max(end, placed[-1] + gap))
    shift = min((sum(ends) - sum(placed)) / len(ends), top - placed[-1])  # centred, in range
    return [h + shift for h in placed]


def _ordinal(n: int) -> str:
    return f"{n}{'st' if n % 10 == 1 and n != 11 else 'rd' if n == 3 else 'th'}"


def _axis(orientation: str):
    """A pyqtgraph axis that paints straight onto the painter. pyqtgraph's own records its
    ticks into a QPicture, whose text Qt rescales by the device's resolution on playback:
    on a 300 dpi PDF page the tick labels came out three times too large and out of place."""
    import pyqtgraph as pg

    class DirectAxis(pg.AxisItem):
        def paint(self, p, opt, widget):
            p.save()
            if self.style["tickFont"]:
                p.setFont(self.style["tickFont"])
            specs = self.generateDrawSpecs(p)
            if specs is not None:
                self.drawPicture(p, *specs)
            p.restore()

    return DirectAxis(orientation)


def growth_plot(points: Sequence[GrowthPoint], font_px: int = 11, join: bool = True,
                height_px: int = 320):
    """A pyqtgraph ``PlotItem`` of HC (mm) against GA (weeks): the five centile lines, each
    labelled at its right end (the labels spread apart for a plot ``height_px`` tall, with a
    leader to their line), and ``points`` (confirmed ones joined in time order unless
    ``join`` is False: scans of different patients, as in a list's summary). Text is sized in
    pixels of the plot's own coordinates (``font_px``), so it scales wherever it is painted."""
    import pyqtgraph as pg

    font = QFont()
    font.setPixelSize(font_px)
    plot = pg.PlotItem(axisItems={"left": _axis("left"), "bottom": _axis("bottom")})
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.showGrid(x=True, y=True, alpha=0.15)
    for side, text in (("bottom", "Gestational age (weeks)"), ("left", "HC (mm)")):
        axis = plot.getAxis(side)
        axis.setStyle(tickFont=font)
        axis.setPen(pg.mkPen("#303030"))
        axis.setTextPen(pg.mkPen("#202020"))
        plot.setLabel(side, text, **{"color": "#202020", "font-size": f"{font_px}px"})
    curves = {centile: hc_centile_curve(centile) for centile in CHART_CENTILES}
    mm_per_px = (Y_RANGE[1] - Y_RANGE[0]) / max(height_px - 4 * font_px, 4 * font_px)
    heights = label_heights([curves[c][-1][1] for c in CHART_CENTILES], 1.15 * font_px
                            * mm_per_px, Y_RANGE[1] - 0.6 * font_px * mm_per_px)
    end_weeks = CHART_DAYS[1] / 7.0
    for centile, height in zip(CHART_CENTILES, heights):
        curve = curves[centile]
        colour = MEDIAN if centile == 50 else LINE
        pen = pg.mkPen(colour, width=2 if centile == 50 else 1,
                       style=Qt.PenStyle.SolidLine if centile in (10, 50, 90)
                       else Qt.PenStyle.DashLine)
        plot.plot([d / 7.0 for d, _ in curve], [hc for _, hc in curve], pen=pen)
        plot.plot([end_weeks, end_weeks + 0.8], [curve[-1][1], height],
                  pen=pg.mkPen(colour, width=0.7))  # the leader to its label
        label = pg.TextItem(_ordinal(centile), color=colour, anchor=(0, 0.5))
        label.setFont(font)
        label.setPos(end_weeks + 0.9, height)
        plot.addItem(label)
    set_points(plot, points, font_px, join)
    plot.setXRange(*X_RANGE, padding=0)
    plot.setYRange(*Y_RANGE, padding=0)
    return plot


def set_points(plot, points: Sequence[GrowthPoint], font_px: int = 11,
               join: bool = True) -> None:
    """Draw ``points`` on ``plot`` in place of those it showed (the centile lines stay: the
    panel redraws only the points when the scan changes). Confirmed points joined in time
    order unless not ``join``, unconfirmed ones hollow and grey, apart; the latest ringed."""
    import pyqtgraph as pg

    for item in getattr(plot, "fetalview_points", ()):
        plot.removeItem(item)
    items = []
    size = max(7, round(font_px * 0.8))
    confirmed = sorted((p for p in points if p.confirmed), key=lambda p: p.ga_days)
    if confirmed:
        items.append(plot.plot(
            [p.ga_days / 7.0 for p in confirmed], [p.value_mm for p in confirmed],
            pen=pg.mkPen(POINT, width=1.5) if join and len(confirmed) > 1 else None,
            symbol="o", symbolSize=size, symbolBrush=POINT, symbolPen=pg.mkPen(POINT)))
    unconfirmed = [p for p in points if not p.confirmed]
    if unconfirmed:
        items.append(plot.plot(
            [p.ga_days / 7.0 for p in unconfirmed], [p.value_mm for p in unconfirmed],
            pen=None, symbol="o", symbolSize=size, symbolBrush=None,
            symbolPen=pg.mkPen(UNCONFIRMED, width=2)))
    for p in points:
        if p.latest:
            items.append(plot.plot([p.ga_days / 7.0], [p.value_mm], pen=None, symbol="o",
                                   symbolSize=size * 2, symbolBrush=None,
                                   symbolPen=pg.mkPen(POINT if p.confirmed else UNCONFIRMED,
                                                      width=1.5)))
    plot.fetalview_points = items


def paint_growth_chart(painter: QPainter, target: QRectF, points: Sequence[GrowthPoint],
                       size: tuple[int, int] = (560, 320), join: bool = True) -> None:
    """Paint the chart of ``points`` into ``target`` (the painter's coordinates, e.g. a PDF
    page's dots): laid out at ``size`` (its own pixels, the fonts' unit) and scaled to fit, on
    white. Vector output: lines and text stay lines and text in a PDF."""
    from PySide6.QtWidgets import QApplication
    import pyqtgraph as pg

    view = pg.GraphicsView(background="w")  # never on screen: it lays the plot out
    view.setCentralItem(growth_plot(points, join=join, height_px=size[1]))
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    view.resize(*size)
    view.show()
    QApplication.processEvents()  # the view box takes its size and ranges
    items = [i for i in view.scene().items() if hasattr(i, "setExportMode")]
    for item in items:  # symbols drawn as paths, not the screen's cached pixmaps
        item.setExportMode(True, {"painter": painter, "antialias": True,
                                  "background": QColor("white"),
                                  "resolutionScale": target.width() / size[0]})
    try:
        view.scene().render(painter, target, QRectF(0, 0, *size),
                            Qt.AspectRatioMode.KeepAspectRatio)
    finally:
        for item in items:
            item.setExportMode(False)
        view.close()
        view.deleteLater()
