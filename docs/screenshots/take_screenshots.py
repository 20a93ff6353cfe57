"""Screenshots of the real app on the bundled scans, at a clinic laptop's and a desktop's size.

Run under a virtual display (the real xcb platform, not offscreen), once per screen size:

    xvfb-run -a -s "-screen 0 1366x768x24" python3 docs/screenshots/take_screenshots.py
    xvfb-run -a -s "-screen 0 1920x1080x24" python3 docs/screenshots/take_screenshots.py
    QT_SCALE_FACTOR=1.5 xvfb-run -a -s "-screen 0 1366x768x24" python3 docs/screenshots/take_screenshots.py

The window fills the screen less a 68-pixel taskbar (1366x700, 1920x1012). Window shots go to
docs/screenshots/WIDTHxHEIGHT/; the exported PNG and the PDF report's page (rendered by
Ghostscript, when installed) to docs/screenshots/. Works on a temporary copy of the bundled
samples and settings, so no sidecar or setting lands in the repository or the user's profile.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QEventLoop, QPointF, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fetalview.bundled import sample_scans_dir  # noqa: E402
from fetalview.core.measure.growth import PREGNANCY_KEY  # noqa: E402
from fetalview.core.measure.biometry import OUTER_INNER  # noqa: E402
from fetalview.gui.main_window import MainWindow  # noqa: E402
from fetalview.gui.settings import AppSettings  # noqa: E402
from fetalview.gui.theme import apply_dark_theme  # noqa: E402

OUT = Path(__file__).resolve().parent
TASKBAR = 68


def settle(ms: int = 300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(condition, timeout_ms: int = 120000) -> None:
    waited = 0
    while not condition():
        settle(50)
        waited += 50
        if waited > timeout_ms:
            raise TimeoutError("the app did not get there in time")


def pdf_page(report: Path, number: int) -> Path:
    """Page ``number`` of the PDF ``report`` rendered by Ghostscript at 70 dpi, beside it."""
    page = report.with_name(f"{report.stem}_{number}.png")
    subprocess.run(["gs", "-q", "-sDEVICE=png16m", "-r70", "-dTextAlphaBits=4",
                    "-dGraphicsAlphaBits=4", f"-dFirstPage={number}", f"-dLastPage={number}",
                    "-o", str(page), str(report)], check=True)
    return page


def save(image_or_window, path: Path) -> None:
    """Store a window grab (or a PNG) as PNG. Not reduced to a palette: that posterises the
    scan's greys, and the point of these pictures is what a sonographer sees."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(image_or_window, Path):
        image = Image.open(image_or_window).convert("RGB")
    else:
        image_or_window.grab().save(str(path))
        image = Image.open(path).convert("RGB")
    image.save(path, optimize=True)
    print(f"wrote {path}")


def show(window: MainWindow, name: str) -> None:
    window.session.go_to(window.session.scans[[p.name for p in window.session.scans].index(name)])
    wait_for(lambda: window.session.current is not None
             and window.session.current.annotation.ellipse is not None
             and not window.session.segmenting)
    settle()


def set_ga(window: MainWindow, ga: str) -> None:
    d = window.session.current
    d.push(replace(d.annotation, extra={**d.annotation.extra,
                                         PREGNANCY_KEY: {"method": "weeks+days", "ga": ga}}),
           "Set gestational age")


def main() -> int:
    app = QApplication(sys.argv[:1])
    apply_dark_theme(app)
    screen, ratio = app.primaryScreen().geometry(), app.primaryScreen().devicePixelRatio()
    shots = OUT / f"{round(screen.width() * ratio)}x{round(screen.height() * ratio)}"
    if ratio != 1:  # QT_SCALE_FACTOR=1.5, as on many laptops
        shots = shots.with_name(f"{shots.name}-scale-{ratio:g}")
    work = Path(tempfile.mkdtemp(prefix="fetalview-shots-"))
    scans = work / "scans"
    shutil.copytree(sample_scans_dir(), scans, ignore=shutil.ignore_patterns("*.json"))
    settings = AppSettings(QSettings(str(work / "settings.ini"), QSettings.IniFormat),
                           work / "appdata")
    settings.operator = "A. Sonographer"  # asked at a real first confirmation
    settings.set_export_folder_for(scans, work / "exports")
    settings.clinic_name = "St Mary's Fetal Medicine"
    (work / "exports").mkdir()
    window = MainWindow(settings, confirm=lambda question: True)
    window.setGeometry(0, 0, screen.width(), screen.height() - TASKBAR)
    window.show()
    settle(600)
    save(window, shots / "1-first-launch.png")

    window.session.open_paths([scans])
    wait_for(lambda: len(window.session.scans) == 4)  # listed on a worker thread
    wait_for(lambda: "not measured" not in window.session.states.values())  # in the background
    show(window, "249_HC.png")
    save(window, shots / "2-folder-measured.png")

    show(window, "796_2HC.png")  # the model flags this one for review
    set_ga(window, "36+0")
    settle()
    save(window, shots / "3-flagged-scan.png")

    show(window, "673_HC.png")
    set_ga(window, "24+0")
    window.act_confirm.trigger()
    settle()
    save(window, shots / "4-confirmed-scan.png")
    growth = window.clinic.growth
    wait_for(lambda: growth.view is not None)
    window.panel_scroll.ensureWidgetVisible(growth)
    settle()
    save(window, shots / "6-growth-chart.png")
    window.panel_scroll.verticalScrollBar().setValue(0)
    if shots.name.startswith("1920"):  # the chart opened larger (a click on it)
        dialog = growth.open_large()
        settle(600)
        save(dialog, OUT / "growth-chart-large.png")
        dialog.close()
        growth_report = work / "exports" / "673_HC_report.pdf"
        window.clinic.export_report(growth_report)
        if shutil.which("gs"):
            save(pdf_page(growth_report, 2), OUT / "report-growth-page.png")

    settings.bpd_convention = OUTER_INNER
    show(window, "249_HC.png")
    window.session.annotation_changed.emit()
    view = window.view
    window.act_distance.trigger()
    for x, y in ((120, 470), (250, 500)):
        QTest.mouseClick(view.viewport(), Qt.LeftButton, pos=view.mapFromScene(QPointF(x, y)))
    handle = view.bpd_item.handles[0]
    handle.setSelected(True)
    settle()
    save(window, shots / "5-calipers.png")

    if shots.name.startswith("1920"):  # the exported files do not depend on the screen
        window.act_confirm_bpd.trigger()  # the sonographer accepts the suggested pair ...
        window.act_confirm.trigger()  # ... and the contour
        exported = work / "exports" / "249_HC_fetalview.png"
        window.export_png(exported)
        shutil.copy(exported, OUT / "exported-image.png")  # exactly what the clinician gets
        print(f"wrote {OUT / 'exported-image.png'}")
        show(window, "796_2HC.png")
        report = exported.with_name("796_2HC_report.pdf")
        window.clinic.export_report(report)
        if shutil.which("gs"):
            save(pdf_page(report, 1), OUT / "report-page.png")
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
