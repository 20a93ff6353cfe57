"""The PACS in the main window: File > PACS settings, Send to PACS (the shown scan, or every
confirmed scan of the list) and Open from PACS.

What is sent is built from the saved annotation, the same for one scan or many: the
Structured Report and the annotated image of ``core.dicom_results``, in the scan's own study.
Building, reading other scans from disk and the network all run as a ``background.Job``; the
window shows progress in the status bar and says per scan what did not go.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QProgressBar)

from fetalview.core.io.dicom import looks_like_dicom
from fetalview.core.io.scans import load_scan
from fetalview.core.io.safetext import display_name
from fetalview.core.record.result import build_result
from fetalview.core.record.review import SIGNED_OFF
from fetalview.core.record.sidecar import Annotation, check_belongs
from fetalview.core.record.sidecar_store import load_annotation
from fetalview.gui.background import Job
from fetalview.gui.pacs.dialogs import OpenFromPacsDialog, PacsSettings, PacsSettingsDialog

if TYPE_CHECKING:  # highdicom and pynetdicom take seconds to import: only when sending
    from fetalview.core.results.dicom_results import DicomResults

#: ``Annotation.extra`` key of the patient fields typed for a scan that is not DICOM.
PATIENT_KEY = "patient"
UNCONFIRMED_QUESTION = ("This result is not confirmed by a clinician. Send it marked as "
                        "preliminary and not reviewed?")


def results_of(path: Path, annotation: Annotation, organization: str) -> DicomResults:
    """The SR and annotated image of a scan's saved annotation (reads the scan from disk)."""
    from fetalview.core.results.dicom_results import make_results
    scan = load_scan(path, annotation.frame or 0)
    check_belongs(annotation, path.name, scan.pixels, annotation.frame or 0)
    result = build_result(display_name(path), annotation, scan.pixels,
                          frame_count=scan.metadata.get("frames", 1))
    return make_results(scan, result, organization=organization,
                        patient=annotation.extra.get(PATIENT_KEY), named=True)


def send_scans(items: list[tuple[Path, Annotation | None]], settings: PacsSettings,
               data_dir: Path, progress, **deadlines) -> list[tuple[str, str | None]]:
    """Build and send each scan's results (an annotation of None is read from its sidecar);
    returns (scan name, why it was not sent or None) for each. Runs in a background job.
    Once the node itself failed (nothing listening, no answer in time), the rest are not
    tried: each would only wait as long again."""
    from fetalview.core.pacs.client import PacsUnreachable, store
    outcome: list[tuple[str, str | None]] = []
    given_up = None
    with tempfile.TemporaryDirectory(prefix="fetalview-send-") as tmp:
        for i, (path, annotation) in enumerate(items):
            if given_up is not None:
                outcome.append((path.name, f"not tried after {settings.node} failed"))
                continue
            progress(i, len(items), f"Sending {path.name} to {settings.node}")
            try:
                if annotation is None:
                    annotation = load_annotation(path, data_dir)
                if annotation is None or annotation.ellipse is None:
                    raise ValueError("no head contour")
                written = results_of(path, annotation, settings.organization).write(
                    Path(tmp), f"scan{i}")
                store(settings.node, written, settings.calling_aet, **deadlines)
            except Exception as exc:  # noqa: BLE001 - reported per scan, by name
                outcome.append((path.name, str(exc) or type(exc).__name__))
                if isinstance(exc, PacsUnreachable):
                    given_up = str(exc)
            else:
                outcome.append((path.name, None))
    progress(len(items), len(items), "")
    return outcome


class PatientDialog(QDialog):
    """Patient name and ID for a scan without them (PNG/JPEG), for the report's new study."""

    def __init__(self, fields: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Patient for the report")
        form = QFormLayout(self)
        form.addRow(QLabel("This scan is not DICOM: the report and image go to a new study "
                           "under this patient."))
        self.name = QLineEdit(fields.get("patient_name", ""))
        self.name.setPlaceholderText("Family^Given")
        self.patient_id = QLineEdit(fields.get("patient_id", ""))
        form.addRow("Patient name", self.name)
        form.addRow("Patient ID", self.patient_id)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        # The PACS files a study by its patient ID: without one it would belong to nobody.
        self.ok = buttons.button(QDialogButtonBox.Ok)
        self.patient_id.textChanged.connect(
            lambda text: self.ok.setEnabled(bool(text.strip())))
        self.ok.setEnabled(bool(self.patient_id.text().strip()))

    def fields(self) -> dict:
        return {"patient_name": self.name.text().strip(),
                "patient_id": self.patient_id.text().strip()}


class PacsFeatures(QObject):
    """Owns the PACS actions and the running send; created by ``install``."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.job: Job | None = None
        self.deadlines: dict = {}  # the network's timeout and deadline (tests set short ones)
        self.open_dialog: OpenFromPacsDialog | None = None
        self.ask_patient = lambda fields: _ask_patient(window, fields)  # tests answer directly
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        window.statusBar().addPermanentWidget(self.progress)
        a = window._action
        self.act_send = a("Se&nd to PACS", self.send_current, ["Ctrl+Shift+S"],
                          "Send this scan's report and annotated image to the PACS")
        self.act_send_confirmed = a("Send a&ll confirmed scans to PACS", self.send_confirmed, [],
                                    "Send the report and image of every confirmed scan listed")
        self.act_open = a("Open from P&ACS...", self.open_from_pacs, ["Ctrl+Shift+G"],
                          "Find a study on the PACS and open its scans")
        self.act_settings = a("PACS settin&gs...", self.edit_settings)
        file_menu = next(x.menu() for x in window.menuBar().actions() if x.text() == "&File")
        file_menu.insertAction(window.act_samples, self.act_open)
        file_menu.insertActions(window.act_settings, [self.act_send, self.act_send_confirmed])
        file_menu.insertAction(window.act_quit, self.act_settings)

    @property
    def settings(self) -> PacsSettings:
        return PacsSettings.load(self.window.settings.store)

    @property
    def cache(self) -> Path:
        return self.window.settings.data_dir.parent / "pacs-cache"

    def edit_settings(self) -> bool:
        dialog = PacsSettingsDialog(self.settings, self.window)
        if dialog.exec() != QDialog.Accepted:
            return False
        dialog.chosen().save(self.window.settings.store)
        return True

    def _ready(self) -> bool:
        if self.job is not None and self.job.running:
            self.window.message_bar.show_message("A send to the PACS is still running.")
            return False
        return self.settings.node is not None or self.edit_settings()

    # --- sending -----------------------------------------------------------------------

    def send_current(self) -> None:
        d = self.session.current
        a = d.annotation if d else None
        if a is None or a.ellipse is None:
            self.window.message_bar.show_message("There is no head contour to send yet.")
            return
        if a.pixel_size is None:
            self.window.message_bar.show_message(
                "No pixel size: a report holds millimetres only. Give the pixel size first.")
            return
        if not self._ready():
            return
        if self.session.states.get(d.path) not in SIGNED_OFF \
                and not self.session.confirm(UNCONFIRMED_QUESTION):
            return
        if not looks_like_dicom(d.path):
            fields = self.ask_patient(a.extra.get(PATIENT_KEY, {}))
            if fields is None:
                return
            d.push(replace(a, extra={**a.extra, PATIENT_KEY: fields}), "Set patient")
        self._send([(d.path, d.annotation)])

    def send_confirmed(self) -> None:
        paths = [p for p in self.session.scans if self.session.states.get(p) in SIGNED_OFF]
        if not paths:
            self.window.message_bar.show_message("No scan in the list is confirmed yet.")
            return
        if not self._ready():
            return
        documents = self.session.documents
        self._send([(p, documents[p].annotation if p in documents else None) for p in paths])

    def _send(self, items: list[tuple[Path, Annotation | None]]) -> None:
        settings, data_dir = self.settings, self.window.settings.data_dir
        deadlines = self.deadlines
        self.job = Job(lambda progress: send_scans(items, settings, data_dir, progress,
                                                   **deadlines), self)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_sent)
        self.job.failed.connect(self._on_send_failed)
        self.progress.setRange(0, len(items))
        self.progress.setValue(0)
        self.progress.show()
        self.job.start()

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setValue(done)
        if text:
            self.window.statusBar().showMessage(f"{text} ({done + 1} of {total})")

    def _on_sent(self, outcome: list[tuple[str, str | None]]) -> None:
        self.progress.hide()
        failed = [f"{name}: {why}" for name, why in outcome if why]
        sent = len(outcome) - len(failed)
        if failed:
            self.window.message_bar.show_message(
                f"Sent {sent} of {len(outcome)} scans to {self.settings.node}. Not sent: "
                + "; ".join(failed))
        else:
            self.window.statusBar().showMessage(
                f"Sent the report and image of {sent} scan{'s' * (sent != 1)} to "
                f"{self.settings.node}", 10000)

    def _on_send_failed(self, message: str) -> None:
        self.progress.hide()
        self.window.message_bar.show_message(f"Nothing was sent: {message}")

    # --- opening -----------------------------------------------------------------------

    def open_from_pacs(self) -> None:
        if self.settings.node is None and not self.edit_settings():
            return
        self.open_dialog = OpenFromPacsDialog(self.settings, self.cache, self.window)
        self.open_dialog.retrieved.connect(lambda folder: self.session.open_paths([folder]))
        self.open_dialog.show()


def _ask_patient(window, fields: dict) -> dict | None:
    dialog = PatientDialog(fields, window)
    return dialog.fields() if dialog.exec() == QDialog.Accepted else None


def install(window) -> PacsFeatures:
    """Add the PACS actions to a built ``MainWindow``."""
    return PacsFeatures(window)
