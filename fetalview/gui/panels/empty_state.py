"""What the window shows before any scan is open: the ways in, instead of a black canvas."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


#: The widest the name of the list to resume is shown (px), so a deep path never widens the window.
RESUME_WIDTH = 520


class EmptyState(QWidget):
    """Buttons for the window's opening actions (so their shortcuts and enabled state are the
    menus' own) and a drag-and-drop hint. Where a list was worked on before, taking it up again
    where it was left comes first, named (``resume``'s status tip), as a relaunch mostly
    wants; it is offered, not done, so the last patient's scans never open unasked."""

    def __init__(self, open_folder: QAction, open_files: QAction, sample: QAction,
                 resume: QAction, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        title = QLabel("No scan open")
        title.setObjectName("emptyTitle")
        title.setStyleSheet("font-size: 18pt;")
        layout.addWidget(title, 0, Qt.AlignHCenter)
        self.resume = QPushButton("Continue where you stopped")
        self.resume.setMinimumWidth(260)
        self.resume.clicked.connect(resume.trigger)
        self.resume_what = QLabel()
        self.resume_what.setAlignment(Qt.AlignHCenter)
        self.resume_what.setStyleSheet("color: #a0a0a0;")
        layout.addWidget(self.resume, 0, Qt.AlignHCenter)
        layout.addWidget(self.resume_what, 0, Qt.AlignHCenter)
        resume.changed.connect(lambda: self._offer(resume))
        self._offer(resume)
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

    def _offer(self, resume: QAction) -> None:
        self.resume.setVisible(resume.isEnabled())
        self.resume_what.setVisible(resume.isEnabled())
        text = resume.statusTip()  # a long path loses its middle, whole in the tooltip
        self.resume_what.setText(self.fontMetrics().elidedText(text, Qt.ElideMiddle, RESUME_WIDTH))
        self.resume_what.setToolTip(text)
