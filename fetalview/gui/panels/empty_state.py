"""What the window shows before any scan is open: the ways in, instead of a black canvas."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyState(QWidget):
    """Buttons for the window's opening actions (so their shortcuts and enabled state are the
    menus' own) and a drag-and-drop hint."""

    def __init__(self, open_folder: QAction, open_files: QAction, sample: QAction, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        title = QLabel("No scan open")
        title.setObjectName("emptyTitle")
        title.setStyleSheet("font-size: 18pt;")
        layout.addWidget(title, 0, Qt.AlignHCenter)
        for action, text in ((open_folder, "Open a folder of scans..."),
                             (open_files, "Open scans..."), (sample, "Try a sample scan")):
            button = QPushButton(text)
            button.setToolTip(action.toolTip())
            button.setMinimumWidth(260)
            button.clicked.connect(action.trigger)
            layout.addWidget(button, 0, Qt.AlignHCenter)
        hint = QLabel("or drag scans or a folder onto this window\n"
                      "(PNG, JPEG, BMP, TIFF, DICOM)")
        hint.setAlignment(Qt.AlignHCenter)
        hint.setStyleSheet("color: #a0a0a0;")
        layout.addWidget(hint, 0, Qt.AlignHCenter)
        layout.addStretch(3)
