"""The side panel: HC, BPD and OFD with units and conventions, the cephalic index, the pixel
size and its source (right under the figures it makes), distances, the scan's state, warnings.

It only displays what it is given (a Measurement from the core, an Annotation) and offers the
window's actions as buttons; it computes nothing itself. Every text whose length changes from
scan to scan sits in a slot of fixed height, so the buttons below never move under the
pointer; the window puts the whole panel in a scroll area, so a short screen scrolls it rather
than clipping or overlapping it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFormLayout, QGridLayout, QGroupBox, QLabel, QPushButton, QSizePolicy,
                               QSlider, QToolButton, QVBoxLayout, QWidget)

from fetalview.core.measure.growth import REVIEW_FIRST
from fetalview.core.measure.biometry import Measurement
from fetalview.core.record.result import CONFIDENCE_NAME, ScanResult
from fetalview.core.record.review import NOT_MEASURED
from fetalview.gui.theme import WARNING

STATE_TEXT = {
    "not measured": ("Not measured", "#a0a0a0"),
    "auto": ("Automatic: not reviewed", "#9fd0ff"),
    "low confidence": ("Low model confidence: please review", WARNING),
    "edited": ("Edited: not confirmed yet (Return confirms)", "#e0e080"),
    "confirmed": ("Confirmed unchanged", "#80e080"),
    "corrected": ("Corrected and confirmed", "#80e080"),
}
#: Lines each fixed slot holds (the longest texts seen fit at the panel's minimum width;
#: the pixel size's source names its CSV, and HC18's name takes a line of its own).
STATE_LINES, VALUE_LINES, WARNING_LINES, PIXEL_LINES = 3, 2, 4, 3
PANEL_WIDTH = 300


def fixed_lines(label: QLabel, lines: int) -> QLabel:
    """Give ``label`` a fixed height of ``lines`` lines of its own font, wrapping inside."""
    label.setWordWrap(True)
    label.ensurePolished()
    height = label.fontMetrics().lineSpacing() * lines + 4
    label.setFixedHeight(height)
    label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
    label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
    return label


def action_buttons(actions: list[QAction]) -> QWidget:
    box = QWidget()
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    for i, action in enumerate(actions):
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        # a hidden action (Confirm BPD calipers while BPD is outer-to-outer) hides its button
        action.changed.connect(lambda b=button, a=action: b.setVisible(a.isVisible()))
        button.setVisible(action.isVisible())
        grid.addWidget(button, i // 2, i % 2)
    return box


def _value_html(line: str) -> str:
    """"BPD 45.1 mm (outer-inner)" as the figure, large, over its convention, small."""
    value, _, note = line.partition(" (")
    small = f"<br><span style='font-size:11px; font-weight:400'>{html.escape(note[:-1])}</span>"
    return f"{html.escape(value)}{small if note else ''}"


class MeasurementPanel(QWidget):
    levels_changed = Signal(int, int)  # brightness, contrast

    def __init__(self, contour_actions: list[QAction], pixel_actions: list[QAction], parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.setMinimumWidth(PANEL_WIDTH)

        measure_box = QGroupBox("Head biometry")
        form = QVBoxLayout(measure_box)
        self.state_label = QLabel()
        self.state_label.setObjectName("stateLabel")
        form.addWidget(fixed_lines(self.state_label, STATE_LINES))
        self.value_labels = [QLabel() for _ in range(3)]
        for label in self.value_labels:
            label.setObjectName("measureValue")
            label.setTextFormat(Qt.RichText)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            form.addWidget(fixed_lines(label, VALUE_LINES))
        self.index_label = QLabel()
        self.index_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addWidget(fixed_lines(self.index_label, 2))
        # the pixel size makes every millimetre above: seen with them, not a scroll below
        self.pixel_label = QLabel()
        self.pixel_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addWidget(fixed_lines(self.pixel_label, PIXEL_LINES))
        self.distances_label = QLabel()
        self.distances_label.setWordWrap(True)
        self.distances_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addWidget(self.distances_label)
        self.pacs_label = QLabel()  # the PACS's report, and other systems' figures: read-only
        self.pacs_label.setWordWrap(True)
        self.pacs_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.pacs_label.hide()
        form.addWidget(self.pacs_label)
        self.warning_slot = QLabel()
        self.warning_slot.setObjectName("warning")
        form.addWidget(fixed_lines(self.warning_slot, WARNING_LINES))
        self.details = QLabel()
        form.addWidget(fixed_lines(self.details, 2))
        layout.addWidget(measure_box)

        contour_box = QGroupBox("Head contour and calipers")
        QVBoxLayout(contour_box).addWidget(action_buttons(contour_actions))
        layout.addWidget(contour_box)

        pixel_box = QGroupBox("Pixel size")
        QVBoxLayout(pixel_box).addWidget(action_buttons(pixel_actions))
        layout.addWidget(pixel_box)

        layout.addWidget(self._levels_box())
        layout.addStretch(1)
        self.show_confidence = False
        self._result: ScanResult | None = None
        self._review_first = False
        self.show_result(None)

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

    def show_result(self, result: ScanResult | None) -> None:
        """Show a scan's record: its state and who confirmed it, its figures, warnings, the
        model and the pixel size with its source (None: no scan open)."""
        self._result = result
        state = result.state if result is not None else NOT_MEASURED
        text, colour = STATE_TEXT.get(state, (state, "#a0a0a0"))
        self._review_first = result is not None and result.flagged  # the growth box may scroll
        if self._review_first:
            text += "\n(" + ", ".join(result.review_reasons) + ")"
        if result is not None and result.signoff is not None:
            text += f"\nby {result.signoff.by}, {result.signoff.when_text}"
        self.state_label.setText(text if result is not None else "No scan open")
        self.state_label.setToolTip(self.state_label.text())
        self.state_label.setStyleSheet(f"color: {colour};")
        self.show_measurement(result.measurement if result is not None else None)
        self._show_details()
        self.pacs_label.setText("\n".join(result.pacs_lines) if result is not None else "")
        self.pacs_label.setVisible(bool(self.pacs_label.text()))
        ps = result.pixel_size if result else None
        self.pixel_label.setText(
            f"Pixel size {ps.mm_per_pixel:.4f} mm/pixel\nsource: {ps.source}" if ps else
            "Pixel size unknown: type it in or calibrate on a known distance" if result
            else "Pixel size –")
        self.pixel_label.setToolTip(self.pixel_label.text())
        self.pixel_label.setStyleSheet("" if ps or result is None else f"color: {WARNING};")

    def show_measurement(self, measurement: Measurement | None) -> None:
        """Also called on every move of a handle or caliper drag, for live values."""
        lines = measurement.lines() if measurement else ["HC  –", "BPD –", "OFD –", ""]
        for label, line in zip(self.value_labels, lines):
            label.setText(_value_html(line))
        self.index_label.setText(lines[3])
        usual = measurement is None or measurement.cephalic_index_usual
        self.index_label.setStyleSheet("" if usual else f"color: {WARNING};")
        self.distances_label.setText("\n".join(lines[4:]))
        self.distances_label.setVisible(len(lines) > 4)
        warnings = list(measurement.warnings()) if measurement else []
        if measurement is not None and not measurement.in_mm:
            warnings.insert(0, "No pixel size: values are in pixels, not millimetres.")
        elif measurement is not None and self._review_first:
            warnings.append(REVIEW_FIRST + ".")
        if measurement is not None and self._result is not None and self._result.model_warning:
            warnings.insert(0, self._result.model_warning + ".")  # another model's contour
        self.warning_slot.setText("\n".join(warnings))
        self.warning_slot.setToolTip(self.warning_slot.text())

    def set_show_confidence(self, on: bool) -> None:
        self.show_confidence = on
        self._show_details()

    def _show_details(self) -> None:
        r = self._result
        parts = []
        if r is not None and self.show_confidence and r.confidence is not None:
            parts.append(f"{CONFIDENCE_NAME} {r.confidence:.2f}")
        if r is not None and r.model_version:
            parts.append(f"model {r.model_version}")
        self.details.setText("\n".join(parts))
