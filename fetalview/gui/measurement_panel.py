"""The side panel: HC, BPD and OFD with units, the scan's state, the pixel size and its source.

It only displays what it is given (a Measurement from the core, an Annotation) and offers the
window's actions as buttons; it computes nothing itself.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFormLayout, QGridLayout, QGroupBox, QLabel, QPushButton, QSizePolicy,
                               QSlider, QToolButton, QVBoxLayout, QWidget)

from ..core.measurement import Measurement
from ..core.sidecar import Annotation
from .document import review_needed
from .theme import WARNING

STATE_TEXT = {
    "not measured": ("Not measured", "#a0a0a0"),
    "auto": ("Automatic: not reviewed", "#9fd0ff"),
    "low confidence": ("Low confidence: please review", WARNING),
    "edited": ("Edited by a clinician", "#80e080"),
}


def _action_buttons(actions: list[QAction]) -> QWidget:
    box = QWidget()
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    for i, action in enumerate(actions):
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        grid.addWidget(button, i // 2, i % 2)
    return box


class MeasurementPanel(QWidget):
    levels_changed = Signal(int, int)  # brightness, contrast

    def __init__(self, contour_actions: list[QAction], pixel_actions: list[QAction], parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.setMinimumWidth(290)

        measure_box = QGroupBox("Head biometry")
        form = QFormLayout(measure_box)
        self.state_label = QLabel()
        self.state_label.setObjectName("stateLabel")
        form.addRow(self.state_label)
        self.value_labels = [QLabel() for _ in range(3)]
        for label in self.value_labels:
            label.setObjectName("measureValue")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            form.addRow(label)
        self.unit_warning = QLabel("No pixel size: values are in pixels, not millimetres.")
        self.unit_warning.setObjectName("warning")
        self.unit_warning.setWordWrap(True)
        form.addRow(self.unit_warning)
        self.details = QLabel()
        self.details.setWordWrap(True)
        form.addRow(self.details)
        layout.addWidget(measure_box)

        contour_box = QGroupBox("Head contour")
        QVBoxLayout(contour_box).addWidget(_action_buttons(contour_actions))
        layout.addWidget(contour_box)

        pixel_box = QGroupBox("Pixel size")
        pixel_layout = QVBoxLayout(pixel_box)
        self.pixel_label = QLabel()
        self.pixel_label.setWordWrap(True)
        self.pixel_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        pixel_layout.addWidget(self.pixel_label)
        pixel_layout.addWidget(_action_buttons(pixel_actions))
        layout.addWidget(pixel_box)

        layout.addWidget(self._levels_box())
        layout.addStretch(1)
        self.show_confidence = False
        self._annotation: Annotation | None = None
        self.show_annotation(None, None)

    def _levels_box(self) -> QGroupBox:
        box = QGroupBox("Display (does not change the scan)")
        form = QFormLayout(box)
        self.brightness = QSlider(Qt.Horizontal)
        self.contrast = QSlider(Qt.Horizontal)
        for slider, name in ((self.brightness, "Brightness"), (self.contrast, "Contrast")):
            slider.setRange(-100, 100)
            slider.valueChanged.connect(self._emit_levels)
            form.addRow(name, slider)
        reset = QPushButton("Reset display")
        reset.clicked.connect(self.reset_levels)
        form.addRow(reset)
        return box

    def _emit_levels(self) -> None:
        self.levels_changed.emit(self.brightness.value(), self.contrast.value())

    def reset_levels(self) -> None:
        self.brightness.setValue(0)
        self.contrast.setValue(0)

    # --- showing -------------------------------------------------------------------------

    def show_annotation(self, annotation: Annotation | None, measurement: Measurement | None,
                        state: str = "not measured") -> None:
        self._annotation = annotation
        text, colour = STATE_TEXT.get(state, (state, "#a0a0a0"))
        reasons = review_needed(annotation)
        if reasons:
            text += "\n(" + ", ".join(reasons) + ")"
        self.state_label.setWordWrap(True)
        self.state_label.setText(text if annotation is not None else "No scan open")
        self.state_label.setStyleSheet(f"color: {colour};")
        self.show_measurement(measurement)
        self._show_details()
        ps = annotation.pixel_size if annotation else None
        self.pixel_label.setText(
            f"{ps.mm_per_pixel:.4f} mm per pixel\nsource: {ps.source}" if ps else
            "unknown: type it in or calibrate on a known distance")
        self.pixel_label.setStyleSheet("" if ps or annotation is None else f"color: {WARNING};")

    def show_measurement(self, measurement: Measurement | None) -> None:
        """Also called on every move of a handle drag, for live values."""
        lines = measurement.lines() if measurement else ["HC  –", "BPD –", "OFD –"]
        for label, line in zip(self.value_labels, lines):
            label.setText(line)
        self.unit_warning.setVisible(measurement is not None and not measurement.in_mm)

    def set_show_confidence(self, on: bool) -> None:
        self.show_confidence = on
        self._show_details()

    def _show_details(self) -> None:
        a = self._annotation
        parts = []
        if a is not None and self.show_confidence and a.confidence is not None:
            parts.append(f"model confidence {a.confidence:.2f}")
        if a is not None and a.model_version:
            parts.append(f"model {a.model_version}")
        self.details.setText("\n".join(parts))
