"""How long the app's window stops answering when a large folder is opened.

    QT_QPA_PLATFORM=offscreen python -m benchmarks.folder_open [--count N]

A folder of N files (one real scan, the rest empty ``.png``: the listing reads names and
sidecars, not pixels) is opened in the real main window, with the model off. A 5 ms timer on
the GUI thread measures the longest stall; the figures are when ``open_paths`` returned and
when the scans were in the list.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from fetalview.bundled import sample_scans_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    count = parser.parse_args().count

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from fetalview.gui.main_window import MainWindow
    from fetalview.gui.settings import AppSettings

    app = QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "many"
        folder.mkdir()
        shutil.copy(sample_scans_dir() / "050_HC.png", folder / "0000.png")
        for i in range(1, count):
            (folder / f"{i:04d}.png").touch()
        settings = AppSettings(QSettings(str(root / "settings.ini"), QSettings.IniFormat),
                               data_dir=root / "appdata")
        settings.segment_on_open = False
        window = MainWindow(settings, lambda device: None)
        window.show()
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start()
        loop = QEventLoop()
        window.session.listed.connect(loop.quit)
        started = time.perf_counter()
        window.session.open_paths([folder])
        returned = time.perf_counter()
        loop.exec()
        listed = time.perf_counter()
        QTimer.singleShot(50, loop.quit)  # the ticks after the list arrived
        loop.exec()
        timer.stop()
        gaps = [b - a for a, b in zip([started] + ticks, ticks)]
        print(f"{count} files: open_paths returned after {returned - started:.2f} s, scans "
              f"listed after {listed - started:.2f} s, longest GUI stall {max(gaps):.2f} s, "
              f"{len(window.session.scans)} scans")
        window.close()
    app.quit()


if __name__ == "__main__":
    main()
