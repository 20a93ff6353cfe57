"""The growth chart in the side panel: small, readable at 1366x768; a click opens it larger.

It shows what the record says (``ScanResult.chart``: the scan's point and the chart's line,
the percentile with its z-score or why there is no point) and draws with
``charts.growth_chart``, the same drawing as the PDF report. pyqtgraph is loaded the first
time a scan is shown, not when the window starts (see ``charts.growth_chart``), and the chart
is drawn just after the scan is on screen, so the scan never waits for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QGroupBox, QLabel, QVBoxLayout, QWidget

from fetalview.charts.growth_chart import LEGEND, growth_plot, set_points
from fetalview.core.measure.growth import GrowthPoint
from fetalview.core.record.result import ScanResult
from fetalview.gui.theme import WARNING

CHART_HEIGHT = 240  # the panel's chart, in pixels: axes, five labelled lines and a point
DIALOG_SIZE = (900, 600)
NO_SCAN = "No scan open"


def chart_view(points: Sequence[GrowthPoint], font_px: int, height_px: int):
    """A pyqtgraph view of the growth chart, on white like the report's."""
    import pyqtgraph as pg

    view = pg.GraphicsView(background="w")
    view.setCentralItem(growth_plot(points, font_px, height_px=height_px))
    return view


class GrowthPanel(QGroupBox):
    """The HC chart of the scan shown, with its line of words under it."""

    def __init__(self, parent=None):
        super().__init__("Growth: HC on INTERGROWTH-21st centiles", parent)
        layout = QVBoxLayout(self)
        self.holder = QWidget()  # the chart goes here once a scan is shown
        self.holder.setFixedHeight(CHART_HEIGHT)
        self.holder.setCursor(Qt.CursorShape.PointingHandCursor)
        self.holder.setToolTip("Click to open the chart larger")
        QVBoxLayout(self.holder).setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.holder)
        self.note = QLabel(NO_SCAN)
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.note.setMinimumHeight(self.note.fontMetrics().lineSpacing() * 3 + 4)
        layout.addWidget(self.note)
        self.view = None
        self.points: tuple[GrowthPoint, ...] = ()
        self.dialog: QDialog | None = None
        self._redraw = QTimer(self)  # one draw for a burst of changes, after they are shown
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(0)
        self._redraw.timeout.connect(self._draw)

    def show_result(self, result: ScanResult | None) -> None:
        """Draw ``result``'s chart and its line (None: no scan open, nothing drawn)."""
        if result is None:
            self.points, note = (), NO_SCAN
        else:
            self.points, note = result.chart
        self.note.setText(note)
        self.note.setStyleSheet(f"color: {WARNING};" if result is not None and not self.points
                                else "")
        if result is None and self.view is None:
            return  # no chart before the first scan: the window starts without pyqtgraph
        self._redraw.start()  # after the scan is on screen: the first draw loads pyqtgraph

    def _draw(self) -> None:
        if self.view is not None:
            set_points(self.view.centralWidget, self.points, font_px=10)
            return
        self.view = chart_view(self.points, font_px=10, height_px=CHART_HEIGHT)
        self.view.setToolTip(self.holder.toolTip())
        self.view.mousePressEvent = lambda event: self.open_large()
        self.holder.layout().addWidget(self.view)

    def open_large(self) -> QDialog:
        """The same chart, larger, in a dialog of its own (with its line and the legend)."""
        dialog = QDialog(self)
        dialog.setWindowTitle("Growth: HC on INTERGROWTH-21st centiles")
        layout = QVBoxLayout(dialog)
        layout.addWidget(chart_view(self.points, font_px=14, height_px=DIALOG_SIZE[1] - 100))
        for text in (self.note.text(), LEGEND):
            label = QLabel(text)
            label.setWordWrap(True)
            layout.addWidget(label)
        dialog.resize(*DIALOG_SIZE)
        dialog.show()
        self.dialog = dialog
        return dialog
