"""The frame slider for cine loops (multi-frame DICOM): pick the frame to measure.

Hidden for still images. It only emits the chosen frame; the window decides what that does to
the measurement (a contour belongs to one frame, so changing frames starts a new one).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget


class FrameSlider(QWidget):
    frame_chosen = Signal(int)  # on release of a drag, or at once from the keyboard

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(QLabel("Frame"))
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setTracking(False)  # valueChanged fires when a drag ends, not during it
        self.slider.setPageStep(5)
        layout.addWidget(self.slider, 1)
        self.label = QLabel()
        self.label.setMinimumWidth(70)
        layout.addWidget(self.label)
        self.slider.sliderMoved.connect(self._show_position)
        self.slider.valueChanged.connect(self._on_value)
        self.show_frames(1, 0)

    def show_frames(self, frames: int, frame: int) -> None:
        """Show ``frame`` of ``frames`` without emitting; hidden when there is only one."""
        self.setVisible(frames > 1)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, frames - 1))
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        self._show_position(frame)

    def _show_position(self, frame: int) -> None:
        self.label.setText(f"{frame + 1} / {self.slider.maximum() + 1}")

    def _on_value(self, frame: int) -> None:
        self._show_position(frame)
        self.frame_chosen.emit(frame)
