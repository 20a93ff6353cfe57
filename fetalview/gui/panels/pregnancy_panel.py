"""The pregnancy panel: who and when (from the scan), the gestational age, and what HC means.

The user dates the pregnancy by its EDD, its last menstrual period or a dating scan (or gives
the weeks+days today); the panel shows the age estimated from HC (Hadlock) and the HC
percentile for the given age (INTERGROWTH-21st), each naming its model, or says why it cannot,
and the patient's serial scans with their finding in the record's words. It computes nothing
itself (``core.growth`` and ``core.record`` do) and hands what the user entered on through
``record_changed``: for a scan with a Patient ID it becomes the patient's dating, kept once for
all their scans (``core.record.patients``); a scan with none keeps it in its own sidecar, as one
undoable step. A PNG/JPEG, whose file names no patient, can be given a Patient ID here
(``patient_assigned``) and its exam date typed.

Dates are typed whole as year-month-day (``inputs.DateField``) and start empty: a date nobody
gave is never assumed (it was today, which read as 0 weeks). A date that does not parse is
refused with a message and the saved one stays. The exam date a DICOM file states is shown and
stands. An age the record questions (outside 10-43 weeks, or far from the age by HC: a mistyped
date, most often) gives no percentile until the user presses "The dates are right", which is
saved with the dates and undone by changing them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from fetalview.core.measure.growth import (DATES_CHECKED, REVIEW_FIRST, dates_question,
                                           ga_from_record, parse_date)
from fetalview.core.record.result import ScanResult
from fetalview.gui.panels.inputs import DATE_FORM, DateField
from fetalview.gui.theme import WARNING

#: Combo box entries -> ``record["method"]`` (see ``core.growth.ga_from_record``).
METHODS = {"Not given": "", "Weeks+days today": "weeks+days",
           "Estimated date of delivery": "edd", "Last menstrual period": "lmp",
           "Dating scan": "dating scan"}
PATIENT_KEYS = (("patient_name", "Patient"), ("patient_id", "ID"), ("birth_date", "Born"),
                ("exam_date", "Exam date"), ("facility", "Facility"), ("operator", "Operator"))
#: What the first date input is, by method, in a message.
DATE_NAMES = {"edd": "EDD", "lmp": "LMP", "dating scan": "dating scan's date"}
#: The date input's label, by method.
DATE_LABELS = {"edd": "EDD", "lmp": "LMP", "dating scan": "Dating scan"}


class PregnancyPanel(QWidget):
    record_changed = Signal(dict)  # what the user entered: the scan's, or its patient's dating
    patient_assigned = Signal(str)  # the Patient ID a person gave a scan whose file has none
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
        self.patient_id = QLineEdit()
        self.patient_id.setPlaceholderText("Patient ID (this file names none)")
        self.patient_id.setToolTip("This image names no patient: give its Patient ID to date it "
                                   "with the patient's pregnancy and see it among the patient's "
                                   "serial scans")
        self.patient_id.editingFinished.connect(self._on_patient_id)
        patient_form.addWidget(self.patient_id)
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
        self.date_edit = DateField()
        self.date_label = QLabel("Date")
        form.addRow(self.date_label, self.date_edit)
        self.exam_date = DateField()
        self.exam_label = QLabel("Exam date")
        form.addRow(self.exam_label, self.exam_date)
        self.date_form = QLabel(f"Dates as {DATE_FORM}")
        self.date_form.setStyleSheet("font-size: 11px;")
        form.addRow(self.date_form)
        self.entry_message = QLabel()
        self.entry_message.setWordWrap(True)
        self.entry_message.setStyleSheet(f"color: {WARNING};")
        form.addRow(self.entry_message)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setMinimumHeight(self.result.fontMetrics().lineSpacing() * 5 + 4)
        self.result.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        form.addRow(self.result)
        self.confirm_dates = QPushButton("The dates are right")
        self.confirm_dates.setToolTip("Use the gestational age given although it was questioned")
        self.confirm_dates.clicked.connect(self._on_dates_confirmed)
        form.addRow(self.confirm_dates)
        self.serial_label = QLabel()  # the patient's serial scans, or why there are none
        self.serial_label.setWordWrap(True)
        self.serial_label.setStyleSheet("font-size: 11px;")
        form.addRow(self.serial_label)
        layout.addWidget(box)

        self.method.currentIndexChanged.connect(self._on_edited)
        self.ga_text.editingFinished.connect(self._on_edited)
        self.date_edit.edited.connect(self._on_edited)
        self.exam_date.edited.connect(self._on_edited)
        self._exam_default = ""
        self._patient = ""
        self._record: dict = {}
        self.show_scan({}, {}, None)

    # --- showing -------------------------------------------------------------------------

    def show_scan(self, metadata: dict, record: dict, result: ScanResult | None,
                  assigned: dict | None = None) -> None:
        """Show a scan's patient fields (its file's, else those a person ``assigned``), the
        pregnancy record that dates it (its patient's dating on its exam date, or its own) and
        its result's growth lines (withheld while its contour awaits review)."""
        fields = [f"{label}: {metadata[key]}" for key, label in PATIENT_KEYS if metadata.get(key)]
        self.patient_label.setText("\n".join(fields) or "No patient fields in this scan.")
        assigned = assigned or {}
        self.patient_id.setVisible(not metadata.get("patient_id"))
        self.patient_id.setText(assigned.get("patient_id", ""))
        self._patient = metadata.get("patient_id") or assigned.get("patient_id") or ""
        self._exam_default = metadata.get("exam_date") or assigned.get("exam_date") or ""
        self.exam_date.setEnabled(not metadata.get("exam_date"))  # the file's own stands
        self.exam_date.setToolTip("The exam date the file states" if metadata.get("exam_date")
                                  else "")
        self._record = dict(record or {})
        self._say("")
        widgets = (self.method, self.ga_text)
        for w in widgets:
            w.blockSignals(True)
        method = self._record.get("method", "")
        self.method.setCurrentIndex(list(METHODS.values()).index(method)
                                    if method in METHODS.values() else 0)
        self.ga_text.setText(self._record.get("ga") or self._record.get("scan_ga") or "")
        for w in widgets:
            w.blockSignals(False)
        self._show_dates()
        self._show_inputs()
        self.show_measurement(result)

    def _show_dates(self) -> None:
        """The saved dates, or empty (the exam date: the scan's own when it has one)."""
        self.date_edit.show_date(self._record.get("edd") or self._record.get("lmp")
                                 or self._record.get("scan_date"))
        self.exam_date.show_date(self._record.get("exam_date") or self._exam_default)

    def show_measurement(self, result: ScanResult | None) -> None:
        """The record's gestational age and growth lines (also during a drag, live)."""
        self._show_serial(result)
        record = self._record
        if not self._all_given(record):
            record = {}  # chosen, not all typed yet: nothing to complain about
        self.confirm_dates.setVisible(False)
        try:
            ga = ga_from_record(record)
        except ValueError as exc:
            self._set_result([f"Gestational age not understood: {exc}"], warn=True)
            return
        if result is None or not result.measured:
            question = dates_question(ga, None) if ga is not None \
                and not record.get(DATES_CHECKED) else None
            self.confirm_dates.setVisible(question is not None)
            self._set_result([question] if question else
                             [f"Gestational age given: {ga}"] if ga else [], warn=bool(question))
            return
        lines = result.growth
        self.confirm_dates.setVisible(result.dates_question is not None)
        self._set_result(lines, warn=not result.in_mm or result.dates_question is not None
                         or result.serial_finding is not None or any(
            "outside" in line or "BEYOND" in line or line == REVIEW_FIRST for line in lines))

    def _show_serial(self, result: ScanResult | None) -> None:
        """Whose dating this is, and the patient's serial scans in the record's words."""
        serial = result.serial if result is not None else None
        lines = []
        if self._patient:
            lines.append(f"Dating kept for patient {self._patient}: it dates all their scans")
        if serial is not None and serial.patient_id:
            lines.append(serial.chart_line)
        if serial is not None and serial.note:
            lines.append(serial.note)
        self.serial_label.setText("\n".join(lines))
        self.serial_label.setVisible(bool(lines))

    @staticmethod
    def _all_given(record: dict) -> bool:
        """Whether every input the record's method needs was given (empty ones: not yet)."""
        needs = {"weeks+days": ("ga",), "edd": ("edd", "exam_date"), "lmp": ("lmp", "exam_date"),
                 "dating scan": ("scan_date", "scan_ga", "exam_date")}.get(record.get("method"), ())
        return all(record.get(key) for key in needs)

    def _set_result(self, lines: list[str], warn: bool) -> None:
        self.result.setText("\n".join(lines))
        self.result.setStyleSheet(f"color: {WARNING};" if warn else "")

    def _show_inputs(self) -> None:
        method = METHODS[self.method.currentText()]
        self.ga_label.setText("GA at that scan" if method == "dating scan" else "Weeks+days")
        self.date_label.setText(DATE_LABELS.get(method, "Date"))
        dated = method in DATE_LABELS
        for widget, shown in ((self.ga_text, method in ("weeks+days", "dating scan")),
                              (self.ga_label, method in ("weeks+days", "dating scan")),
                              (self.date_edit, dated), (self.date_label, dated),
                              (self.exam_date, dated), (self.date_form, dated),
                              (self.exam_label, dated)):
            widget.setVisible(shown)

    # --- editing -------------------------------------------------------------------------

    def record(self) -> dict:
        """What the inputs say now, in the sidecar's form (dates ISO, "" where not given)."""
        method = METHODS[self.method.currentText()]
        picked = self.date_edit.text()
        exam = self.exam_date.text()
        text = self.ga_text.text().strip()
        if method == "weeks+days":
            return {"method": method, "ga": text}
        if method in ("edd", "lmp"):
            return {"method": method, method: picked, "exam_date": exam}
        if method == "dating scan":
            return {"method": method, "scan_date": picked, "scan_ga": text, "exam_date": exam}
        return {}

    def _on_edited(self, *_) -> None:
        self._show_inputs()
        refused = self._refused_date()
        if refused:
            self._show_dates()  # the saved dates stay, and are shown
            self._say(refused)
            return
        self._say("")
        record = self.record()
        if record != {k: v for k, v in self._record.items() if k != DATES_CHECKED}:
            self._emit(record)  # changed dates are questioned afresh

    def _refused_date(self) -> str | None:
        """Why a typed date cannot be taken, in words; None when every date given parses."""
        method = METHODS[self.method.currentText()]
        for field, name in ((self.date_edit, DATE_NAMES.get(method)),
                            (self.exam_date, "exam date")):
            if method in DATE_NAMES and field.text():
                try:
                    parse_date(field.text(), name)
                except ValueError as exc:
                    return f"Not taken: {exc}. The {name} was left as it was."
        return None

    def _say(self, text: str) -> None:
        self.entry_message.setText(text)
        self.entry_message.setVisible(bool(text))

    def _on_patient_id(self) -> None:
        text = self.patient_id.text().strip()
        if text != self._patient:
            self.patient_assigned.emit(text)

    def _on_dates_confirmed(self) -> None:
        self._emit({**self.record(), DATES_CHECKED: True})

    def _emit(self, record: dict) -> None:
        self._record = record
        self.record_changed.emit(record)
