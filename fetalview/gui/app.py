"""Starting the desktop app: ``fetalview [SCAN|FOLDER...]`` and ``python -m fetalview``."""

from __future__ import annotations

import logging
import signal
import socket
import sys

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from fetalview.app_args import app_parser
from fetalview.bundled import app_icon
from fetalview.gui.main_window import MainWindow
from fetalview.gui.settings import AppSettings
from fetalview.gui.theme import apply_dark_theme
from fetalview.gui.worker import stop_threads


def run_app(argv: list[str]) -> int:
    """Open the main window with the scans or folders in ``argv``; returns the exit code."""
    paths = app_parser().parse_args(argv).paths
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("fetalview")
    app.setApplicationName("fetalview")
    app.setWindowIcon(QIcon(str(app_icon())))
    apply_dark_theme(app)
    quit_on_signals(app)
    # however the event loop ends; an exception that leaves run_app meets worker's atexit
    app.aboutToQuit.connect(stop_threads)
    window = MainWindow(AppSettings())
    install_last_resort(window)
    window.show_on_screen()
    window.service.preload(window.settings.device)
    if paths:  # inside the event loop, like an Open from the menu
        QTimer.singleShot(0, lambda: window.session.open_paths(paths))
    return app.exec()


def quit_on_signals(app: QApplication) -> None:
    """SIGINT (Ctrl+C) and SIGTERM (a logout, ``kill``) end the event loop as ``app.quit``
    does, so ``run_app`` stops its threads before the process goes.

    Python runs a signal handler only when it next gets control, which inside Qt's event loop
    can be never: the signal's wake-up byte, written to a socket Qt watches, gives it control.
    """
    receive, send = socket.socketpair()
    for end in (receive, send):
        end.setblocking(False)
    signal.set_wakeup_fd(send.fileno())
    notifier = QSocketNotifier(receive.fileno(), QSocketNotifier.Read, app)
    notifier.activated.connect(lambda: receive.recv(64))  # the handler runs after this slot
    app._signal_sockets = (receive, send)  # kept open as long as the application lives
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: QApplication.quit())


def install_last_resort(window: MainWindow) -> None:
    """Show and log any exception that reaches Qt's event loop; the app goes on.

    PySide hands an exception raised in a slot or a virtual method to ``sys.excepthook``, whose
    default prints it where a clinician never looks: the action just seemed to do nothing. Every
    known refusal is already said where it happens; this is for the unforeseen. Ctrl+C in the
    terminal ends the app through ``quit_on_signals``.
    """
    log = logging.getLogger("fetalview")

    def hook(kind, value, traceback) -> None:
        log.error("unexpected error", exc_info=(kind, value, traceback))
        window.message_bar.show_message(
            f"Something went wrong ({kind.__name__}: {value}). fetalview goes on and saved "
            "measurements are not affected; the details are in the log.")

    sys.excepthook = hook
