"""A message strip above the scan for errors the user must read, without a modal dialog.

Modal boxes interrupt a reading and hide the scan; this stays until dismissed or replaced.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

from fetalview.core.io.safetext import printable


class MessageBar(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        """Show ``text``; a file name in it that is not UTF-8 shows replacement characters
        (Qt would silently drop those bytes)."""
        self.label.setText(printable(text))
        self.show()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()
