"""Starting the desktop app: ``fetalview [SCAN|FOLDER...]`` and ``python -m fetalview``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from ..bundled import app_icon
from .main_window import MainWindow
from .settings import AppSettings
from .theme import apply_dark_theme


def run_app(argv: list[str]) -> int:
    """Open the main window with the scans or folders in ``argv``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="fetalview", description="Measure fetal head circumference in ultrasound scans. "
        "'fetalview measure --help' describes the command-line batch mode.")
    parser.add_argument("paths", nargs="*", type=Path, metavar="SCAN|FOLDER",
                        help="scans or folders of scans to open")
    paths = parser.parse_args(argv).paths
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("fetalview")
    app.setApplicationName("fetalview")
    app.setWindowIcon(QIcon(str(app_icon())))
    apply_dark_theme(app)
    window = MainWindow(AppSettings())
    window.show()
    window.service.preload(window.settings.device)
    if paths:
        window.session.open_paths(paths)
    return app.exec()
