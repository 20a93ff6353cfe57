"""How quickly the desktop app answers, measured on the real window (offscreen) and model.

    QT_QPA_PLATFORM=offscreen python -m benchmarks.app_latency [SCAN] [--runs N]

Each run starts a fresh process and reports: start (process launch to a shown, usable main
window; the model is not loaded yet: that happens lazily off the GUI thread), shown (open a
scan to the scan on screen), contour (the scan on screen to the model's contour applied),
first and second scan. By default the first scan is opened as soon as the window is up, while
the model may still be loading in the background, the worst case a user can meet; ``--think 3``
opens it three seconds later, as a person using the File menu would. Targets on 2 CPU cores: start
< 3 s, shown < 1 s, contour < 0.5 s more.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fetalview.bundled import sample_scans_dir


def child(launched: float, scans: list[Path], workdir: Path, think: float) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from fetalview.gui.main_window import MainWindow
    from fetalview.gui.settings import AppSettings
    from fetalview.gui.theme import apply_dark_theme

    app = QApplication(sys.argv[:1])
    apply_dark_theme(app)
    settings = AppSettings(QSettings(str(workdir / "settings.ini"), QSettings.IniFormat),
                           data_dir=workdir / "appdata")
    window = MainWindow(settings)
    window.show()
    window.service.preload(settings.device)  # as run_app does
    app.processEvents()
    figures = {"start": time.time() - launched}

    def wait(condition, timeout=60.0):
        end = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > end:
                raise TimeoutError("the app did not answer in time")
            app.processEvents()
            time.sleep(0.001)

    end = time.perf_counter() + think  # a user finds the file menu
    wait(lambda: time.perf_counter() >= end)
    for n, scan in enumerate(scans, start=1):
        t0 = time.perf_counter()
        window.session.open_paths([scan])
        wait(lambda: window.session.current is not None
             and window.session.current.path == scan)
        app.processEvents()
        t1 = time.perf_counter()
        wait(lambda: window.session.current.annotation.ellipse is not None)
        app.processEvents()
        t2 = time.perf_counter()
        figures[f"scan {n} shown"] = t1 - t0
        figures[f"scan {n} contour"] = t2 - t1
    window.close()  # stops the segmentation thread
    print(json.dumps(figures))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scans", nargs="*", type=Path)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--think", type=float, default=0.0,
                   help="seconds between the window showing and opening the first scan")
    p.add_argument("--child", type=float, help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        child(args.child, args.scans, args.workdir, args.think)
        return
    samples = sorted(sample_scans_dir().glob("*_HC.png"))[:2]
    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            scans = []
            for s in (args.scans or samples):  # copies: no sidecars left beside the originals
                shutil.copy(s, work / s.name)
                scans.append(work / s.name)
            for csv in sample_scans_dir().glob("*.csv"):
                shutil.copy(csv, work / csv.name)
            out = subprocess.run([sys.executable, "-m", "benchmarks.app_latency", *map(str, scans),
                                  "--child", str(time.time()), "--workdir", str(work),
                                  "--think", str(args.think)],
                                 capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{len(results)} runs, medians in seconds:")
    for key in results[0]:
        print(f"  {key:<16} {statistics.median(r[key] for r in results):.3f}")


if __name__ == "__main__":
    main()
