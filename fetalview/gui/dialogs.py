"""Small dialogs: settings, the keyboard shortcut list, number inputs, the operator's name, the
export folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLocale
from PySide6.QtGui import QAction, QDoubleValidator, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QLabel, QLineEdit, QMessageBox, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from fetalview.core.measure.biometry import OUTER_INNER, OUTER_OUTER
from fetalview.gui.settings import AppSettings

DEVICE_NAMES = {"auto": "Automatic (GPU when available)", "cpu": "CPU", "cuda": "CUDA GPU"}
BPD_NAMES = {OUTER_OUTER: "Outer-to-outer (the head ellipse's short axis)",
             OUTER_INNER: "Outer-to-inner (leading edges; suggested from the skull, confirm it)"}

#: What a change of the BPD convention does to scans already confirmed, said before it is made.
BPD_CHANGE_NOTE = ("A change applies to scans not confirmed yet. Confirmed scans keep the BPD "
                   "they were confirmed with, shown \"as confirmed\", until you confirm their "
                   "BPD calipers (B) in the new convention.")


def finish_form(dialog: QDialog, form: QFormLayout, note: str) -> None:
    """End a settings form the same way everywhere: a wrapped explanatory note, then OK and
    Cancel wired to the dialog."""
    label = QLabel(note)
    label.setWordWrap(True)
    form.addRow(label)
    buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        form = QFormLayout(self)
        self.device = QComboBox()
        for key, name in DEVICE_NAMES.items():
            self.device.addItem(name, key)
        self.device.setCurrentIndex(list(DEVICE_NAMES).index(settings.device))
        form.addRow("Run the model on", self.device)
        self.on_open = QCheckBox("Segment each scan when it is opened")
        self.on_open.setChecked(settings.segment_on_open)
        form.addRow(self.on_open)
        self.bpd = QComboBox()
        for key, name in BPD_NAMES.items():
            self.bpd.addItem(name, key)
        self.bpd.setCurrentIndex(list(BPD_NAMES).index(settings.bpd_convention))
        form.addRow("Measure BPD", self.bpd)
        kept = QLabel(BPD_CHANGE_NOTE)
        kept.setWordWrap(True)
        form.addRow(kept)
        self.automatic_beside = QCheckBox("Save automatic results beside the scans too")
        self.automatic_beside.setChecked(settings.automatic_beside)
        self.automatic_beside.setToolTip(
            "Off: the model's results that nobody has edited or confirmed stay in this "
            f"computer's app data folder ({settings.data_dir}); edits and confirmations are "
            "saved beside the scan either way.")
        form.addRow(self.automatic_beside)
        self.clinic = QLineEdit(settings.clinic_name)
        self.clinic.setPlaceholderText("e.g. St Mary's Fetal Medicine")
        self.clinic.setToolTip("Heads every PDF report; the organisation in DICOM reports.")
        form.addRow("Clinic name", self.clinic)
        self.idle = QSpinBox()
        self.idle.setRange(0, 480)
        self.idle.setSuffix(" minutes without input")
        self.idle.setSpecialValueText("never (one person uses this computer)")
        self.idle.setValue(settings.idle_minutes)
        form.addRow("Ask who signs again after", self.idle)
        finish_form(self, form, "If the GPU fails, fetalview falls back to the CPU and says so "
                    "in the status bar.")

    def accept(self) -> None:
        self._settings.device = self.device.currentData()
        self._settings.segment_on_open = self.on_open.isChecked()
        self._settings.bpd_convention = self.bpd.currentData()
        self._settings.automatic_beside = self.automatic_beside.isChecked()
        self._settings.clinic_name = self.clinic.text()
        self._settings.idle_minutes = self.idle.value()
        super().accept()


def shortcuts_dialog(actions: list[QAction], parent: QWidget | None = None) -> QDialog:
    """A table of every action that has a shortcut, built from the actions themselves."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    rows = [(a.text().replace("&", "").rstrip("."), ", ".join(keys)) for a in actions
            if (keys := [s.toString(QKeySequence.NativeText) for s in a.shortcuts()
                         if not s.isEmpty()])]  # a standard key this platform lacks is empty
    table = QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    for i, (name, keys) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(name))
        table.setItem(i, 1, QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.verticalHeader().hide()
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(QLabel("Mouse: wheel zooms, drag pans, drag a handle to edit the contour."))
    buttons = QDialogButtonBox(QDialogButtonBox.Close)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.resize(520, 560)
    return dialog


FOLDER_OPTION = "Apply to every scan in this folder that has none of its own"


class NumberDialog(QDialog):
    """A positive number typed into a field that starts empty: OK (and so Enter) accepts only
    a number actually typed, never a pre-filled guess. ``folder_option`` adds the checkbox
    that applies the result to the scan's whole folder (unchecked by default)."""

    def __init__(self, parent: QWidget | None, title: str, label: str, folder_option: bool):
        super().__init__(parent)
        self.setWindowTitle(title)
        form = QFormLayout(self)
        self.field = QLineEdit()
        self.field.setPlaceholderText("type a number")
        validator = QDoubleValidator(0.0001, 10000.0, 6, self.field)
        validator.setLocale(QLocale.c())  # a point, whatever the desktop's language
        validator.setNotation(QDoubleValidator.StandardNotation)
        self.field.setValidator(validator)
        form.addRow(label, self.field)
        self.whole_folder = QCheckBox(FOLDER_OPTION)
        self.whole_folder.setVisible(folder_option)
        form.addRow(self.whole_folder)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.field.textChanged.connect(self._check)
        self._check()

    @property
    def value(self) -> float | None:
        try:
            number = float(self.field.text())
        except ValueError:
            return None
        return number if self.field.hasAcceptableInput() and number > 0 else None

    def _check(self) -> None:
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(self.value is not None)

    def accept(self) -> None:
        if self.value is not None:  # Enter on an empty or partial field accepts nothing
            super().accept()


def ask_number(parent: QWidget, title: str, label: str,
               folder_option: bool = False) -> tuple[float, bool] | None:
    """(number, apply to the whole folder), or None if the user cancelled."""
    dialog = NumberDialog(parent, title, label, folder_option)
    if dialog.exec() != QDialog.Accepted:
        return None
    return dialog.value, dialog.whole_folder.isChecked()


class NameDialog(QDialog):
    """Who signs: a field that starts empty (never the login name, which on a shared
    workstation names whoever logged in, not who is at the scanner), and OK (and so Enter, or
    a stray Space then Enter) accepts only a name actually typed."""

    def __init__(self, parent: QWidget | None, note: str):
        super().__init__(parent)
        self.setWindowTitle("Who is signing?")
        form = QFormLayout(self)
        self.name = QLineEdit()
        self.name.setPlaceholderText("your name, e.g. A. Jones")
        form.addRow("Name:", self.name)
        finish_form(self, form, note)
        self.ok = self.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok)
        self.name.textChanged.connect(lambda text: self.ok.setEnabled(bool(text.strip())))
        self.ok.setEnabled(False)

    def accept(self) -> None:
        if self.name.text().strip():
            super().accept()


def ask_operator(parent: QWidget, note: str) -> str | None:
    """The name to record with each confirmation, typed into an empty field; None if
    cancelled. ``note`` says when it is asked again."""
    dialog = NameDialog(parent, note)
    if dialog.exec() != QDialog.Accepted:
        return None
    return " ".join(dialog.name.text().split())


def ask_export_folder(parent: QWidget, suggested: Path, scans: Path) -> Path | None:
    """The folder for the exports of the scans in ``scans``: ``suggested`` (beside it) or
    another the user picks; None if cancelled. Asked once per folder of scans: the window
    remembers the answer for that folder."""
    box = QMessageBox(QMessageBox.Question, "Export folder",
                      f"Exported images, reports and CSV files of the scans in\n{scans}\n"
                      f"go to one folder:\n\n{suggested}\n\nbeside the scans, never among "
                      "them. This is asked once for each folder of scans; File > Export "
                      "folder changes it.", parent=parent)
    use = box.addButton("Use this folder", QMessageBox.AcceptRole)
    other = box.addButton("Choose another...", QMessageBox.ActionRole)
    box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(use)
    box.exec()
    if box.clickedButton() is use:
        return suggested
    if box.clickedButton() is other:
        folder = QFileDialog.getExistingDirectory(parent, "Folder for exports",
                                                  str(suggested.parent))
        return Path(folder) if folder else None
    return None
