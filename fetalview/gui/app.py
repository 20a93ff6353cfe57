"""Starting the desktop app: ``fetalview [SCAN|FOLDER...]`` and ``python -m fetalview``."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from fetalview.app_args import app_parser
from fetalview.bundled import app_icon
from fetalview.gui.main_window import MainWindow
from fetalview.gui.settings import AppSettings
from fetalview.gui.theme import apply_dark_theme


def run_app(argv: list[str]) -> int:
    """Open the main window with the scans or folders in ``argv``; returns the exit code."""
    paths = app_parser().parse_args(argv).paths
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("fetalview")
    app.setApplicationName("fetalview")
    app.setWindowIcon(QIcon(str(app_icon())))
    apply_dark_theme(app)
    window = MainWindow(AppSettings())
    install_last_resort(window)
    window.show_on_screen()
    window.service.preload(window.settings.device)
    if paths:  # inside the event loop, like an Open from the menu
        QTimer.singleShot(0, lambda: window.session.open_paths(paths))
    return app.exec()


def install_last_resort(window: MainWindow) -> None:
    """Show and log any exception that reaches Qt's event loop; the app goes on.

    PySide hands an exception raised in a slot or a virtual method to ``sys.excepthook``, whose
    default prints it where a clinician never looks: the action just seemed to do nothing. Every
    known refusal is already said where it happens; this is for the unforeseen. Ctrl+C in the
    terminal still ends the app.
    """
    log = logging.getLogger("fetalview")

    def hook(kind, value, traceback) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, traceback)
            QApplication.quit()
            return
        log.error("unexpected error", exc_info=(kind, value, traceback))
        window.message_bar.show_message(
            f"Something went wrong ({kind.__name__}: {value}). fetalview goes on and saved "
            "measurements are not affected; the details are in the log.")

    sys.excepthook = hook
