"""The growth chart in the side panel: drawn at 1366x768 without clipping, its line saying the
percentile and z-score or why there is no point, larger on a click; and a window that starts
without loading pyqtgraph (start-up time)."""

import subprocess
import sys
from dataclasses import replace

from .conftest import open_and_wait
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from fetalview.gui.panels.growth_panel import CHART_HEIGHT, DIALOG_SIZE


def with_ga(document, ga: str) -> None:
    document.push(replace(document.annotation, extra={
        **document.annotation.extra, "pregnancy": {"method": "weeks+days", "ga": ga}}), "GA")


def chart_points(view) -> int:
    """How many measurements the chart's plot draws (the centile lines have no symbols)."""
    plot = view.centralWidget
    return sum(len(item.xData) for item in plot.listDataItems()
               if item.opts.get("symbol") is not None and item.opts.get("symbolSize", 0) < 14)


def test_the_chart_fits_the_panel_at_1366x768_and_says_the_z_score(qtbot, make_window, fake,
                                                                   scans):
    window = make_window(fake)
    window.resize(1366, 700)
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    with_ga(document, "22+0")
    growth = window.clinic.growth
    qtbot.waitUntil(lambda: growth.view is not None and chart_points(growth.view) == 1)
    assert "percentile, z" in growth.note.text()
    window.panel.adjustSize()
    view = growth.view
    qtbot.waitUntil(lambda: view.height() == CHART_HEIGHT)  # laid out in the panel
    assert view.width() >= 250
    panel = window.panel.rect()
    chart = QRect(view.mapTo(window.panel, QPoint(0, 0)), view.size())
    note = QRect(growth.note.mapTo(window.panel, QPoint(0, 0)), growth.note.size())
    assert panel.contains(chart) and panel.contains(note) and not chart.intersects(note)
    assert growth.note.heightForWidth(growth.note.width()) <= growth.note.height()
    others = [w for w in window.panel.findChildren(QLabel) if w.isVisibleTo(window.panel)
              and w is not growth.note and w.width() > 0]
    assert not any(QRect(w.mapTo(window.panel, QPoint(0, 0)), w.size()).intersects(chart)
                   for w in others)
    with_ga(document, "")  # the dates taken back: the point goes, the same chart stays
    qtbot.waitUntil(lambda: chart_points(view) == 0)
    assert growth.view is view and "no gestational age given" in growth.note.text()


def test_without_a_gestational_age_the_chart_says_why_it_has_no_point(qtbot, window, scans):
    open_and_wait(qtbot, window, scans / "050_HC.png")
    growth = window.clinic.growth
    qtbot.waitUntil(lambda: growth.view is not None)
    assert growth.note.text().startswith("No point on the chart: no gestational age given")
    assert chart_points(growth.view) == 0


def test_a_click_opens_the_chart_larger(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    with_ga(document, "22+0")
    growth = window.clinic.growth
    qtbot.waitUntil(lambda: growth.view is not None and "percentile" in growth.note.text())
    QTest.mouseClick(growth.view.viewport(), Qt.LeftButton, pos=QPoint(50, 50))
    qtbot.waitUntil(lambda: growth.dialog is not None and growth.dialog.isVisible())
    assert growth.dialog.width() >= DIALOG_SIZE[0] * 0.9
    assert growth.note.text() in [w.text() for w in growth.dialog.findChildren(QLabel)]
    growth.dialog.close()


def test_the_window_starts_without_loading_pyqtgraph(tmp_path):
    """pyqtgraph costs about 0.4 s to import: it is loaded with the first scan, not at start."""
    code = ("import sys, os; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from PySide6.QtCore import QSettings\n"
            "from PySide6.QtWidgets import QApplication\n"
            "app = QApplication([])\n"
            "from fetalview.gui.main_window import MainWindow\n"
            "from fetalview.gui.settings import AppSettings\n"
            f"s = AppSettings(QSettings({str(tmp_path / 's.ini')!r}, QSettings.IniFormat),"
            f" data_dir={str(tmp_path)!r})\n"
            "w = MainWindow(s); w.show(); app.processEvents()\n"
            "print('pyqtgraph' in sys.modules)\n"
            "w.close()\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.stdout.strip().splitlines()[-1] == "False", run.stdout + run.stderr
