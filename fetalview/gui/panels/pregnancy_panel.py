"""The pregnancy panel: who and when (from the scan), the gestational age, and what HC means.

The user gives the pregnancy's age as weeks+days, by the last menstrual period, or from a
dating scan; the panel shows the age estimated from HC (Hadlock) and the HC percentile for the
given age (INTERGROWTH-21st), each naming its model, or says why it cannot. It computes nothing
itself (``core.growth`` does) and saves what the user entered in the sidecar, as one undoable
step, through ``record_changed``.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QFormLayout, QGroupBox, QLabel,
                               QLineEdit, QVBoxLayout, QWidget)

from fetalview.core.measure.growth import REVIEW_FIRST, ga_from_record
from fetalview.core.record.result import ScanResult
from fetalview.gui.theme import WARNING

#: Combo box entries -> ``record["method"]`` (see ``core.growth.ga_from_record``).
METHODS = {"Not given": "", "Weeks+days today": "weeks+days", "Last menstrual period": "lmp",
           "Dating scan": "dating scan"}
PATIENT_KEYS = (("patient_name", "Patient"), ("patient_id", "ID"), ("exam_date", "Exam date"))


def _qdate(text: str | None, fallback: date) -> QDate:
    try:
        d = date.fromisoformat(text) if text else fallback
    except ValueError:
        d = fallback
    return QDate(d.year, d.month, d.day)


class PregnancyPanel(QWidget):
    record_changed = Signal(dict)  # what the user entered, for ``extra["pregnancy"]``
    patient_fields_toggled = Signal(bool)  # include patient fields in exports and reports

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        patient_box = QGroupBox("Patient and study")
        patient_form = QVBoxLayout(patient_box)
        self.patient_label = QLabel()
        self.patient_label.setWordWrap(True)
        patient_form.addWidget(self.patient_label)
        self.include_patient = QCheckBox("Put them in exported images and reports")
        self.include_patient.toggled.connect(self.patient_fields_toggled)
        patient_form.addWidget(self.include_patient)
        layout.addWidget(patient_box)

        box = QGroupBox("Gestational age and growth")
        form = QFormLayout(box)
        self.method = QComboBox()
        self.method.addItems(list(METHODS))
        form.addRow("Age from", self.method)
        self.ga_text = QLineEdit()
        self.ga_text.setPlaceholderText("weeks+days, e.g. 20+3")
        self.ga_label = QLabel("Weeks+days")
        form.addRow(self.ga_label, self.ga_text)
        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_label = QLabel("Date")
        form.addRow(self.date_label, self.date_edit)
        self.exam_date = QDateEdit()
        self.exam_date.setCalendarPopup(True)
        self.exam_label = QLabel("Exam date")
        form.addRow(self.exam_label, self.exam_date)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setMinimumHeight(self.result.fontMetrics().lineSpacing() * 5 + 4)
        self.result.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        form.addRow(self.result)
        layout.addWidget(box)

        self.method.currentIndexChanged.connect(self._on_edited)
        self.ga_text.editingFinished.connect(self._on_edited)
        self.date_edit.dateChanged.connect(self._on_edited)
        self.exam_date.dateChanged.connect(self._on_edited)
        self._exam_default = date.today()
        self._record: dict = {}
        self.show_scan({}, {}, None)

    # --- showing -------------------------------------------------------------------------

    def show_scan(self, metadata: dict, record: dict, result: ScanResult | None) -> None:
        """Show a scan's patient fields, its saved pregnancy record and its result's growth
        lines (withheld while its contour awaits review)."""
        fields = [f"{label}: {metadata[key]}" for key, label in PATIENT_KEYS if metadata.get(key)]
        self.patient_label.setText("\n".join(fields) or "No patient fields in this scan.")
        try:
            self._exam_default = date.fromisoformat(metadata.get("exam_date", ""))
        except ValueError:
            self._exam_default = date.today()
        self._record = dict(record or {})
        widgets = (self.method, self.ga_text, self.date_edit, self.exam_date)
        for w in widgets:
            w.blockSignals(True)
        method = self._record.get("method", "")
        self.method.setCurrentIndex(list(METHODS.values()).index(method)
                                    if method in METHODS.values() else 0)
        self.ga_text.setText(self._record.get("ga") or self._record.get("scan_ga") or "")
        self.date_edit.setDate(_qdate(self._record.get("lmp") or self._record.get("scan_date"),
                                      self._exam_default))
        self.exam_date.setDate(_qdate(self._record.get("exam_date"), self._exam_default))
        for w in widgets:
            w.blockSignals(False)
        self._show_inputs()
        self.show_measurement(result)

    def show_measurement(self, result: ScanResult | None) -> None:
        """The record's gestational age and growth lines (also during a drag, live)."""
        record = self._record
        if record.get("method") in ("weeks+days", "dating scan") \
                and not (record.get("ga") or record.get("scan_ga")):
            record = {}  # chosen, not typed yet: nothing to complain about
        try:
            ga = ga_from_record(record)
        except ValueError as exc:
            self._set_result([f"Gestational age not understood: {exc}"], warn=True)
            return
        if result is None or not result.measured:
            self._set_result([f"Gestational age given: {ga}"] if ga else [], warn=False)
            return
        lines = result.growth
        self._set_result(lines, warn=not result.in_mm or any(
            "outside" in line or "BEYOND" in line or line == REVIEW_FIRST for line in lines))

    def _set_result(self, lines: list[str], warn: bool) -> None:
        self.result.setText("\n".join(lines))
        self.result.setStyleSheet(f"color: {WARNING};" if warn else "")

    def _show_inputs(self) -> None:
        method = METHODS[self.method.currentText()]
        self.ga_label.setText("GA at that scan" if method == "dating scan" else "Weeks+days")
        self.date_label.setText("LMP" if method == "lmp" else "Dating scan")
        for widget, shown in ((self.ga_text, method in ("weeks+days", "dating scan")),
                              (self.ga_label, method in ("weeks+days", "dating scan")),
                              (self.date_edit, method in ("lmp", "dating scan")),
                              (self.date_label, method in ("lmp", "dating scan")),
                              (self.exam_date, method in ("lmp", "dating scan")),
                              (self.exam_label, method in ("lmp", "dating scan"))):
            widget.setVisible(shown)

    # --- editing -------------------------------------------------------------------------

    def record(self) -> dict:
        """What the inputs say now, in the sidecar's form."""
        method = METHODS[self.method.currentText()]
        picked = self.date_edit.date().toPython().isoformat()
        exam = self.exam_date.date().toPython().isoformat()
        text = self.ga_text.text().strip()
        if method == "weeks+days":
            return {"method": method, "ga": text}
        if method == "lmp":
            return {"method": method, "lmp": picked, "exam_date": exam}
        if method == "dating scan":
            return {"method": method, "scan_date": picked, "scan_ga": text, "exam_date": exam}
        return {}

    def _on_edited(self, *_) -> None:
        self._show_inputs()
        record = self.record()
        if record != self._record:
            self._record = record
            self.record_changed.emit(record)
