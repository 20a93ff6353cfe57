"""Who signs: the status bar's user button ("Signing as A. Jones"), always in view, switched in
one click, and signed out after the clinic's idle time.

A confirmation records a person's name. On a shared workstation a name asked once and kept
for good put the next sonographer's confirmations under the first one's name, so the name is
held for this run only (``AppSettings.operator``), shown at all times, and dropped after
``AppSettings.idle_minutes`` without a key, click or wheel turn anywhere in the app: the next
confirmation then asks who signs. It is not asked again at each new list: a list opened by
the same person mid-session would only interrupt them, while a change of person shows as a
pause, which the idle time covers, or as a click on this button. Nothing offers the login
name: it names whoever logged in, not who is at the scanner.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMenu, QToolButton

from fetalview.gui.dialogs import ask_operator

#: What counts as someone at the computer: a key, a click, a wheel turn, a touch.
INPUT_EVENTS = frozenset({QEvent.KeyPress, QEvent.ShortcutOverride, QEvent.MouseButtonPress,
                          QEvent.Wheel, QEvent.TouchBegin})
NOBODY = "Not signed in"
#: How often the idle time is checked while nobody touches anything (ms).
CHECK_EVERY_MS = 30_000


class Signer(QToolButton):
    """The status bar's user button; ``clock`` (seconds, monotonic) is injectable for tests."""

    def __init__(self, window, clock: Callable[[], float] = time.monotonic):
        super().__init__(window)
        self.setObjectName("signer")
        self.window = window
        self.settings = window.settings
        self.clock = clock
        self.last_input = clock()
        self.setPopupMode(QToolButton.MenuButtonPopup)
        self.setAutoRaise(True)
        menu = QMenu(self)
        menu.addAction("Switch user...", self.switch)
        self.sign_out_action = menu.addAction("Sign out", lambda: self.sign_out(""))
        self.setMenu(menu)
        self.clicked.connect(self.switch)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check_idle)
        self.timer.start(CHECK_EVERY_MS)
        QApplication.instance().installEventFilter(self)
        self.refresh()

    # --- what it shows ---------------------------------------------------------------------

    def refresh(self) -> None:
        name = self.settings.operator
        text = f"Signing as {name}" if name else NOBODY
        if self.text() != text:
            self.setText(text)
        self.sign_out_action.setEnabled(bool(name))
        minutes = self.settings.idle_minutes
        after = (f"Signed out after {minutes} minutes without input"
                 if minutes else "Kept until someone signs out")
        self.setToolTip(f"Confirmations are recorded under this name. Click to switch user. "
                        f"{after} (Settings).")

    # --- who signs -----------------------------------------------------------------------

    def name_for_signing(self) -> str | None:
        """Whoever is signed in, asked for when nobody is (or the idle time has passed since
        the last input); None when the asked person cancelled."""
        self.check_idle()
        return self.settings.operator or self.ask()

    def ask(self) -> str | None:
        minutes = self.settings.idle_minutes
        again = (f"after {minutes} minutes without input" if minutes
                 else "when someone signs out")
        name = ask_operator(self.window, "Recorded with each contour you confirm and shown at "
                            "the bottom right of the window, where a click switches user. "
                            f"Asked again {again}.")
        self.window.view.setFocus()
        if name:
            self.settings.operator = name
            self.last_input = self.clock()
            self.refresh()
        return name

    def switch(self) -> None:
        """Another person takes over (a cancelled dialog keeps the one signed in)."""
        self.ask()

    def sign_out(self, why: str) -> None:
        self.settings.operator = ""
        self.refresh()
        if why:
            self.window.statusBar().showMessage(why, 15000)

    # --- the idle time ---------------------------------------------------------------------

    def idle_over(self) -> bool:
        minutes = self.settings.idle_minutes
        return (bool(self.settings.operator) and minutes > 0
                and self.clock() - self.last_input > minutes * 60)

    def check_idle(self) -> None:
        if self.idle_over():
            self.sign_out(f"{self.settings.operator} was signed out after "
                          f"{self.settings.idle_minutes} minutes without input: the next "
                          "confirmation asks who signs.")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Every input in the app, before it acts: a confirmation typed after the idle time is
        asked for a name, never recorded under the last person's."""
        if event.type() in INPUT_EVENTS:
            self.check_idle()
            self.last_input = self.clock()
            self.refresh()  # another window may have switched user
        return False


def install(window, clock: Callable[[], float] = time.monotonic) -> Signer:
    """Put the user button at the status bar's right end."""
    signer = Signer(window, clock)
    window.statusBar().addPermanentWidget(signer)
    return signer
