"""Screenshots of one patient's serial scans: three DICOM studies on three dates (the head
falling from the 60th to the 5th centile), dated once by an EDD, each confirmed; the window
on the latest with its growth chart and finding, and the latest's PDF report page 2.

    xvfb-run -a -s "-screen 0 1366x768x24" python3 docs/screenshots/take_serial_screenshots.py
    xvfb-run -a -s "-screen 0 1920x1080x24" python3 docs/screenshots/take_serial_screenshots.py

The studies are a bundled scan each, written as a DICOM whose pixel size puts the model's HC
at the wanted centile for its age (as tests/gui/test_serial_scans.py does with a fake model).
Works in a temporary folder; writes WIDTHxHEIGHT/7-serial-patient.png and, at 1920x1080,
report-serial-page.png.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import cv2
import pydicom
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dicomfiles import make_dicom  # noqa: E402
from take_screenshots import OUT, TASKBAR, pdf_page, save, settle, wait_for  # noqa: E402

from fetalview.bundled import sample_scans_dir  # noqa: E402
from fetalview.core.measure.biometry import measure  # noqa: E402
from fetalview.core.measure.growth import GestationalAge, intergrowth_hc_mean_sd  # noqa: E402
from fetalview.core.measure.pixelsize import PixelSize  # noqa: E402
from fetalview.core.model.segmenter import Segmenter  # noqa: E402
from fetalview.gui.main_window import MainWindow  # noqa: E402
from fetalview.gui.settings import AppSettings  # noqa: E402
from fetalview.gui.theme import apply_dark_theme  # noqa: E402

EDD = date(2026, 10, 8)
#: (bundled scan, weeks at the scan, z-score wanted): 60th, 40th, then 5th centile.
STUDIES = (("673_HC.png", 24, 0.2533), ("249_HC.png", 30, -0.2533), ("796_2HC.png", 34, -1.645))


def main() -> int:
    app = QApplication(sys.argv[:1])
    apply_dark_theme(app)
    screen = app.primaryScreen().geometry()
    shots = OUT / f"{screen.width()}x{screen.height()}"
    work = Path(tempfile.mkdtemp(prefix="fetalview-serial-"))
    folder = work / "patient"
    folder.mkdir()
    model = Segmenter(device="cpu")
    for name, weeks, z in STUDIES:
        pixels = cv2.imread(str(sample_scans_dir() / name), cv2.IMREAD_GRAYSCALE)
        unit = measure(model.segment(pixels, PixelSize(1.0, "x")).ellipse, PixelSize(1.0, "x")).hc
        mean, sd = intergrowth_hc_mean_sd(GestationalAge(weeks * 7))
        spacing = (mean + z * sd) / unit
        path = make_dicom(folder / f"study_{weeks}w.dcm", pixels,
                          pixel_spacing=[spacing, spacing])
        ds = pydicom.dcmread(path)
        ds.StudyDate = (EDD - timedelta(days=280 - weeks * 7)).strftime("%Y%m%d")
        ds.save_as(path)
    settings = AppSettings(QSettings(str(work / "settings.ini"), QSettings.IniFormat),
                           work / "appdata")
    settings.operator = "A. Sonographer"
    window = MainWindow(settings, confirm=lambda question: True)
    window.setGeometry(0, 0, screen.width(), screen.height() - TASKBAR)
    window.show()
    settle(600)
    session = window.session
    session.open_paths([folder])
    wait_for(lambda: len(session.scans) == len(STUDIES))

    def show(name: str) -> None:
        session.go_to(next(p for p in session.scans if p.name == name))
        wait_for(lambda: session.current is not None and not session.segmenting
                 and session.current.annotation.ellipse is not None)
        settle()

    panel = window.clinic.pregnancy
    show("study_24w.dcm")
    panel.method.setCurrentText("Estimated date of delivery")
    line = panel.date_edit.line
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, EDD.isoformat())
    QTest.keyClick(line, Qt.Key_Return)
    for name, weeks, _ in STUDIES:
        show(f"study_{weeks}w.dcm")
        window.act_confirm.trigger()
        settle()
    show("study_34w.dcm")
    window.panel_scroll.ensureWidgetVisible(window.clinic.growth)
    settle(1500)  # the chart draws after the scan is on screen
    save(window, shots / "7-serial-patient.png")
    if shots.name.startswith("1920") and shutil.which("gs"):
        report = work / "report.pdf"
        window.clinic.export_report(report)
        save(pdf_page(report, 2), OUT / "report-serial-page.png")
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
