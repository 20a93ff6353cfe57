"""Screenshots of the real app on a real scan: opened, segmented, edited, exported.

Run under a virtual display (the real xcb platform, not offscreen):

    xvfb-run -a -s "-screen 0 1400x900x24" python3 docs/screenshots/take_screenshots.py

Works on a temporary copy of the bundled samples so no sidecar lands in the repository.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QEventLoop, QPointF, QSettings, QTimer
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fetalview.bundled import sample_scans_dir  # noqa: E402
from fetalview.gui.main_window import MainWindow  # noqa: E402
from fetalview.gui.settings import AppSettings  # noqa: E402
from fetalview.gui.theme import apply_dark_theme  # noqa: E402

OUT = Path(__file__).resolve().parent


def settle(ms: int = 300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(condition, timeout_ms: int = 60000) -> None:
    waited = 0
    while not condition():
        settle(50)
        waited += 50
        if waited > timeout_ms:
            raise TimeoutError("the app did not get there in time")


def save(window: MainWindow, name: str) -> None:
    """Grab the window and store it as a small palette PNG (legible, a fraction of the size)."""
    path = OUT / name
    window.grab().save(str(path))
    Image.open(path).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE) \
        .save(path, optimize=True)
    print(f"wrote {path}")


def main() -> int:
    app = QApplication(sys.argv[:1])
    apply_dark_theme(app)
    work = Path(tempfile.mkdtemp(prefix="fetalview-shots-"))
    scans = work / "scans"
    shutil.copytree(sample_scans_dir(), scans)
    settings = AppSettings(QSettings(str(work / "settings.ini"), QSettings.IniFormat),
                           work / "appdata")
    window = MainWindow(settings)
    window.show()
    settle()

    window.session.open_paths([scans])
    window.session.go_to(scans / "249_HC.png")
    settle(150)
    save(window, "1-opened.png")

    document = window.session.current
    wait_for(lambda: document.annotation.ellipse is not None and not window.session.segmenting)
    settle()
    save(window, "2-segmented.png")

    item = window.view.ellipse_item
    start = item.handle_scene_pos("b+")
    item.begin_drag("b+", start)
    item.drag_to(start + QPointF(0, 12))
    item.end_drag()
    window.act_outline.setChecked(True)
    window.act_confidence.setChecked(True)
    settle()
    save(window, "3-edited.png")

    exported = work / "249_HC_fetalview.png"
    window.export_png(exported)
    settle()
    save(window, "4-exported-window.png")
    shutil.copy(exported, OUT / "5-exported-image.png")  # exactly what the clinician gets
    print(f"wrote {OUT / '5-exported-image.png'}")

    no_size = work / "no_pixel_size"
    no_size.mkdir()
    shutil.copy(scans / "673_HC.png", no_size / "673_HC.png")
    window.session.open_paths([no_size / "673_HC.png"])
    wait_for(lambda: window.session.current.annotation.ellipse is not None
             and not window.session.segmenting)
    settle()
    save(window, "6-no-pixel-size.png")
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
