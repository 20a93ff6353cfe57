"""Whose scans these are, asked once before a send: patient name and ID for every PNG/JPEG scan.

A PNG or JPEG carries no patient, and the PACS files a study by its patient ID: without one the
report would belong to nobody. Asking scan by scan during a send of 30 would be 30 dialogs, so
the whole list is asked at once, with one row per scan and a "same patient for all" line for a
folder that holds one patient's scans. A value DICOM cannot hold as typed (a backslash, a
control character, over 64 characters) is refused here, by the rules every written value
passes (``core.results.dicom_values``), and OK stays off, saying why, until every scan has a
valid patient ID.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from fetalview.core.io.safetext import display_name
from fetalview.core.results import dicom_values
from fetalview.gui.theme import WARNING

NAME, PATIENT_ID = "patient_name", "patient_id"


def problem(fields: dict) -> str | None:
    """Why ``fields`` cannot go into a report, in words; None when they can."""
    if not (fields.get(PATIENT_ID) or "").strip():
        return "no patient ID"
    try:
        dicom_values.person_name(fields.get(NAME) or "", "the patient's name")
        dicom_values.text("LO", fields[PATIENT_ID], "the patient ID")
    except dicom_values.DicomValueError as exc:
        return str(exc).removeprefix("no DICOM output: ")
    return None


class PatientsDialog(QDialog):
    """One row per scan (file name, patient name, patient ID), prefilled with what each scan
    was last sent with; ``fields()`` gives them back once OK is pressed."""

    def __init__(self, rows: dict[Path, dict], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Patients for the report")
        self.paths = list(rows)
        layout = QVBoxLayout(self)
        intro = QLabel(f"{len(rows)} of the scans to send {'is' if len(rows) == 1 else 'are'} "
                       "PNG/JPEG, without a patient: their report and image go to a new study "
                       "under the patient given here. A patient ID is needed for each.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        same = QHBoxLayout()
        self.all_name = QLineEdit()
        self.all_name.setPlaceholderText("Name, Family^Given")
        self.all_id = QLineEdit()
        self.all_id.setPlaceholderText("Patient ID")
        self.apply_all = QPushButton("Same patient for all")
        self.apply_all.clicked.connect(self._apply_to_all)
        for w in (self.all_name, self.all_id, self.apply_all):
            same.addWidget(w)
        layout.addLayout(same)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(("Scan", "Patient name (Family^Given)",
                                              "Patient ID"))
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.setEditTriggers(QAbstractItemView.AllEditTriggers)
        for row, (path, fields) in enumerate(rows.items()):
            scan = QTableWidgetItem(display_name(path))
            scan.setFlags(scan.flags() & ~scan.flags().ItemIsEditable)
            scan.setToolTip(str(path))
            self.table.setItem(row, 0, scan)
            self.table.setItem(row, 1, QTableWidgetItem(fields.get(NAME, "")))
            self.table.setItem(row, 2, QTableWidgetItem(fields.get(PATIENT_ID, "")))
        self.table.itemChanged.connect(lambda _: self._check())
        layout.addWidget(self.table, 1)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet(f"color: {WARNING}")
        layout.addWidget(self.reason)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok = buttons.button(QDialogButtonBox.Ok)
        self.ok.setText("Send")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._check()
        self.resize(720, min(560, 200 + 30 * len(rows)))

    def _apply_to_all(self) -> None:
        for row in range(self.table.rowCount()):
            self.table.item(row, 1).setText(self.all_name.text())
            self.table.item(row, 2).setText(self.all_id.text())

    def fields(self) -> dict[Path, dict]:
        return {path: {NAME: self.table.item(row, 1).text().strip(),
                       PATIENT_ID: self.table.item(row, 2).text().strip()}
                for row, path in enumerate(self.paths)}

    def _check(self) -> None:
        """OK only when every scan's fields can go into a report; else the first problem."""
        problems = [(path, why) for path, fields in self.fields().items()
                    if (why := problem(fields)) is not None]
        self.ok.setEnabled(not problems)
        if problems:
            path, why = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.reason.setText(f"{display_name(path)}: {why}{more}.")
        else:
            self.reason.setText("")
