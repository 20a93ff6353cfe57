"""The PACS in the main window: File > PACS settings, Send to PACS (the shown scan, or every
confirmed scan of the list) and Open from PACS.

What is sent is built from the saved annotation, the same for one scan or many: the
Structured Report and the annotated image of ``core.dicom_results``, in the scan's own study.
Before a send, each scan is taken as its files hold it now (a scan with unsaved work is not
sent) and the patient of every PNG/JPEG scan is asked once, for the whole list
(``patients.PatientsDialog``). Building, reading other scans from disk and the network all run
as a ``background.Job``; the window shows progress in the status bar and, at the end, one short
summary (how many sent, how many not and why), each scan's story behind Send details.
A scan whose result was read from the PACS (Open from PACS brings a study's reports along) is
sent as soon as it is confirmed here: the PACS is the record every workstation shares.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QPlainTextEdit, QProgressBar,
                               QToolButton, QVBoxLayout)

from fetalview.core.io.dicom import looks_like_dicom
from fetalview.core.io.safetext import display_name
from fetalview.core.pacs.sent import NAMED_IMAGES, SentLog, fingerprint, result_to_send
from fetalview.core.record.pacs_origin import SrReference, replaced_report, stored_as
from fetalview.core.record.review import SIGNED_OFF
from fetalview.core.record.sidecar import Annotation
from fetalview.core.record.sidecar_store import load_annotation
from fetalview.core.results.dicom_values import DicomValueError
from fetalview.gui.background import Job
from fetalview.gui.pacs.dialogs import OpenFromPacsDialog, PacsSettings, PacsSettingsDialog
from fetalview.gui.pacs.patients import PatientsDialog
from fetalview.gui.pacs.sent_marks import SentMarks
from fetalview.gui.pacs.study_list import StudyList

if TYPE_CHECKING:  # highdicom and pynetdicom take seconds to import: only when sending
    from fetalview.core.results.dicom_results import DicomResults

#: ``Annotation.extra`` key of the patient fields typed for a scan that is not DICOM.
PATIENT_KEY = "patient"
UNCONFIRMED_QUESTION = ("This result is not confirmed by a clinician. Send it marked as "
                        "preliminary and not reviewed?")


def results_of(path: Path, annotation: Annotation, organization: str,
               patient: dict | None = None) -> DicomResults:
    """The SR and annotated image of a scan's saved annotation (reads the scan from disk);
    ``patient`` the fields asked for a PNG/JPEG scan, else those it was last sent with."""
    from fetalview.core.results.dicom_results import make_results
    scan, result = result_to_send(path, annotation)
    return make_results(scan, result, organization=organization,
                        patient=patient or annotation.extra.get(PATIENT_KEY),
                        named=NAMED_IMAGES)


#: One scan's send: (scan name, why it was not sent in a few words or None, the whole story).
Outcome = tuple[str, str | None, str]
NO_CONTOUR = "no head contour"
UNSAVED = "unsaved work"


def _why(exc: Exception) -> str:
    """A failure in the few words the summary counts it under; the details say the rest."""
    from fetalview.core.pacs.client import PacsError, PacsUnreachable
    if isinstance(exc, PacsUnreachable):
        return "the PACS did not answer"
    if "has no patient ID" in str(exc):
        return "no patient ID"
    if isinstance(exc, PacsError):
        return "refused by the PACS"
    if isinstance(exc, DicomValueError):
        return "a value DICOM cannot hold"
    return NO_CONTOUR if str(exc) == NO_CONTOUR else "the report could not be made"


def send_scans(items: list[tuple[Path, Annotation | None, dict | None]],
               settings: PacsSettings, data_dir: Path, progress, sent: list | None = None,
               **deadlines) -> list[Outcome]:
    """Build and send each scan's results (an annotation of None is read from its sidecar;
    the dict is the patient asked for a PNG/JPEG scan); returns each scan's ``Outcome``, and
    adds (path, result digest, annotation sent, that annotation naming the report just stored
    as its PACS origin: ``stored_as``) of each scan sent to ``sent``, for the record of sends. Runs in a background job. Once the node itself failed (nothing
    listening, no answer in time), the rest are not tried: each would only wait as long
    again."""
    from fetalview.core.pacs.client import PacsUnreachable, store
    outcome: list[Outcome] = []
    given_up = None
    with tempfile.TemporaryDirectory(prefix="fetalview-send-") as tmp:
        for i, (path, annotation, patient) in enumerate(items):
            name = display_name(path)
            if given_up is not None:
                outcome.append((name, "not tried after the PACS failed",
                                f"not tried after {settings.node} failed"))
                continue
            progress(i, len(items), f"Sending {name} to {settings.node}")
            try:
                if annotation is None:
                    annotation = load_annotation(path, data_dir)
                if annotation is None or annotation.ellipse is None:
                    raise ValueError(NO_CONTOUR)
                folder = Path(tmp) / str(i)  # the scan's own name, never another's file
                folder.mkdir()
                results = results_of(path, annotation, settings.organization, patient)
                store(settings.node, results.write(folder, path.stem), settings.calling_aet,
                      **deadlines)
            except Exception as exc:  # noqa: BLE001 - reported per scan, by name
                outcome.append((name, _why(exc), str(exc) or type(exc).__name__))
                if isinstance(exc, PacsUnreachable):
                    given_up = str(exc)
            else:
                outcome.append((name, None, "sent"))
                if sent is not None:
                    ref = SrReference(*(str(getattr(results.sr, k)) for k in (
                        "StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID",
                        "SOPInstanceUID")))
                    sent.append((path, results.digest, annotation,
                                 stored_as(annotation, ref)))
    progress(len(items), len(items), "")
    return outcome


def summary(outcome: list[Outcome], node) -> str:
    """One short paragraph: how many were sent, how many not and why (counted by reason)."""
    sent = sum(why is None for _, why, _ in outcome)
    reasons = Counter(why for _, why, _ in outcome if why is not None)
    if not reasons:
        return f"Sent the report and image of {sent} scan{'s' * (sent != 1)} to {node}."
    return (f"Sent {sent} of {len(outcome)} scan{'s' * (len(outcome) != 1)} to {node}. "
            "Not sent: " + "; ".join(f"{count} {why}" for why, count in reasons.items())
            + ". Send details (status bar) names each scan.")


class SendDetails(QDialog):
    """Each scan of the last send and what happened to it, word for word, those not sent
    first; not modal, so the scans can be looked at beside it."""

    def __init__(self, outcome: list[Outcome], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Send to PACS: details")
        layout = QVBoxLayout(self)
        not_sent = [o for o in outcome if o[1] is not None]  # first: what needs doing
        self.text = QPlainTextEdit("\n".join(
            f"{name}: {detail}" for name, _, detail in
            not_sent + [o for o in outcome if o[1] is None]))
        self.text.setReadOnly(True)
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(720, 360)


class PacsFeatures(QObject):
    """Owns the PACS actions and the running send; created by ``install``."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.job: Job | None = None
        self.deadlines: dict = {}  # the network's timeout and deadline (tests set short ones)
        self.open_dialog: OpenFromPacsDialog | None = None
        # {path: fields so far} -> {path: fields}, or None for Cancel; tests answer directly
        self.ask_patients = lambda rows: _ask_patients(window, rows)
        self.outcome: list[Outcome] = []  # the last send's, for Send details
        self.sent: list = []  # the running send's (path, digest, annotation, stored) of each
        self.refused: list[Outcome] = []  # not sent for unsaved work, added to the summary
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        window.statusBar().addPermanentWidget(self.progress)
        self.details_button = QToolButton()
        self.details_button.setText("Send details")
        self.details_button.setToolTip("Which scans of the last send were not sent, and why")
        self.details_button.clicked.connect(self.show_details)
        self.details_button.hide()
        window.statusBar().addPermanentWidget(self.details_button)
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
        self.sent_log = SentLog(window.settings.data_dir.parent)
        self.marks = SentMarks(window, self.sent_log, lambda: self.settings.organization,
                               self.resend)
        self.study_list = StudyList(window)
        self.waiting: list[Path] = []  # confirmed PACS results to send once no send runs
        self.session.signed_off.connect(self._send_confirmation)

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
        items = self._on_disk_now([d.path])
        if items is None or not items:
            return
        path, annotation, patient = items[0]
        d = self.session.documents.get(path)
        if patient is not None and d is not None:  # kept with the scan for the next send
            d.push(replace(d.annotation, extra={**d.annotation.extra, PATIENT_KEY: patient}),
                   "Set patient")
        self._send(items)

    def resend(self, path: Path) -> None:
        """Send (again) the scan of a list row: it is shown, then sent as Send to PACS does."""
        self.session.go_to(path)
        if self.session.current is not None and self.session.current.path == path:
            self.send_current()

    def send_confirmed(self) -> None:
        paths = [p for p in self.session.scans if self.session.states.get(p) in SIGNED_OFF]
        if not paths:
            self.window.message_bar.show_message("No scan in the list is confirmed yet.")
            return
        if not self._ready():
            return
        items = self._on_disk_now(paths)
        if items is not None:
            self._send(items)

    def _on_disk_now(self, paths: list[Path]) -> list | None:
        """What to send for ``paths``: each scan as its files hold it now (another workstation's
        change read again, ``session.up_to_date``), with the patient asked, once for all, for
        the PNG/JPEG ones. A scan holding unsaved work is not sent: the report would differ
        from what is on disk; it is said in the send's summary. None: the user cancelled."""
        items, refused = [], []
        for path in paths:
            self.session.up_to_date(path)
            if self.session.unsaved(path):
                refused.append((display_name(path), UNSAVED, "holds unsaved work: save it first, "
                                "as what is sent is what is on disk"))
                continue
            d = self.session.documents.get(path)
            items.append((path, d.annotation if d is not None else None, None))
        asked = {path: self._patient_of(path) for path, _, _ in items
                 if not looks_like_dicom(path)}
        if asked:
            answer = self.ask_patients(asked)
            if answer is None:
                return None
            items = [(p, a, answer.get(p)) for p, a, _ in items]
        self.refused = refused
        if not items:
            self._on_sent([])
        return items

    def _patient_of(self, path: Path) -> dict:
        """The patient a scan was last sent under, to offer again."""
        _, annotation = self.session.known_result(path)
        return dict(annotation.extra.get(PATIENT_KEY, {})) if annotation is not None else {}

    def _send(self, items: list[tuple[Path, Annotation | None, dict | None]]) -> None:
        settings, data_dir = self.settings, self.window.settings.data_dir
        deadlines, self.sent = self.deadlines, []
        sent = self.sent  # filled in the job's thread, read once it finished
        self.job = Job(lambda progress: send_scans(items, settings, data_dir, progress, sent,
                                                   **deadlines), self)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_sent)
        self.job.failed.connect(self._on_send_failed)
        self.progress.setRange(0, len(items))
        self.progress.setValue(0)
        self.progress.show()
        self.details_button.hide()
        self.job.start()

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setValue(done)
        if text:
            self.window.statusBar().showMessage(f"{text} ({done + 1} of {total})")

    def _on_sent(self, outcome: list[Outcome]) -> None:
        """One summary for the whole send; the per-scan story behind Send details."""
        self.progress.hide()
        self.window.statusBar().clearMessage()  # "Sending ... (31 of 31)" is over
        self.outcome = self.refused + outcome
        self.refused = []
        self._record(self.sent)
        text = summary(self.outcome, self.settings.node)
        if any(why for _, why, _ in self.outcome):
            self.details_button.show()
            self.window.message_bar.show_message(text)
        else:
            self.window.statusBar().showMessage(text, 10000)
        self._send_waiting()

    def _record(self, sent: list) -> None:
        """Keep what was sent, and show it in the list. A scan read from the PACS and still
        shown as sent now stands on the report just stored (``stored_as``): its next report
        names that one as replaced."""
        settings = self.settings
        for path, digest, annotation, stored in sent:
            d = self.session.documents.get(path)
            if stored != annotation and d is not None and d.annotation == annotation:
                d.annotation = stored  # where it stands, not an edit of the user's to undo
                if d.save():
                    annotation = d.annotation
                d.changed.emit()
            try:
                self.sent_log.add(path, str(settings.node), digest, fingerprint(annotation),
                                  settings.organization)
            except OSError as exc:
                self.window.message_bar.show_message(
                    f"{display_name(path)} was sent, but the record of it could not be saved "
                    f"({exc}): the list cannot show it as sent after a restart.")
            self.marks.update(path)

    def _on_send_failed(self, message: str) -> None:
        self.progress.hide()
        self.window.statusBar().clearMessage()
        self.window.message_bar.show_message(f"Nothing was sent: {message}")
        self._send_waiting()

    def show_details(self) -> None:
        SendDetails(self.outcome, self.window).show()

    def _send_confirmation(self, path: Path) -> None:
        """A scan whose result was read from the PACS is confirmed here: the PACS is the shared
        record, so the confirmation goes there at once, a new report naming the one it
        replaces (``ScanResult.replaces``); nothing there is deleted. Confirmed while a send
        runs (Space through a study), it goes as soon as that send ended: never left out."""
        d = self.session.documents.get(path)
        if d is None or replaced_report(d.annotation) is None:
            return
        if self.settings.node is None:
            self.window.message_bar.show_message(
                "Confirmed here, not sent: no PACS is set (File > PACS settings).")
            return
        if path not in self.waiting:
            self.waiting.append(path)
        self._send_waiting()

    def _send_waiting(self) -> None:
        """Send the confirmations that wait, once no send runs."""
        if not self.waiting or (self.job is not None and self.job.running):
            return
        paths, self.waiting = self.waiting, []
        items = self._on_disk_now(paths)
        if items:
            self._send(items)

    # --- opening -----------------------------------------------------------------------

    def open_from_pacs(self) -> None:
        if self.settings.node is None and not self.edit_settings():
            return
        data_dir, beside = self.window.settings.data_dir, self.window.settings.automatic_beside
        node, aet = self.settings.node, self.settings.calling_aet
        self.open_dialog = OpenFromPacsDialog(
            self.settings, self.cache, self.window,
            lambda got: _take_in(got, data_dir, beside) + _earlier(got, node, aet))
        self.open_dialog.retrieved.connect(self.study_list.open)
        self.open_dialog.show()


def _take_in(got, data_dir: Path, automatic_beside: bool) -> list[str]:
    """The study's reports made its scans' results (``core.pacs.shared_record``); imported
    here, in the retrieval's job, as pynetdicom takes seconds to import."""
    from fetalview.core.pacs.shared_record import take_in
    return take_in(got, data_dir, automatic_beside)


def _earlier(got, node, calling_aet: str) -> list[str]:
    """The patient's earlier studies' reports in the PACS (``core.pacs.earlier``) into
    ``got.earlier``, in the retrieval's job; what the user should be told, in words."""
    from fetalview.core.pacs.earlier import earlier_reports
    from fetalview.core.pacs.network import PacsError
    if not got.patient_id:
        return []
    try:
        got.earlier, unread = earlier_reports(node, got.patient_id, got.folder.name, calling_aet)
    except PacsError as exc:
        return [f"The patient's earlier studies in the PACS were not read, so the serial scans "
                f"show this study only ({exc})."]
    return unread


def _ask_patients(window, rows: dict[Path, dict]) -> dict[Path, dict] | None:
    dialog = PatientsDialog(rows, window)
    return dialog.fields() if dialog.exec() == QDialog.Accepted else None


def install(window) -> PacsFeatures:
    """Add the PACS actions to a built ``MainWindow``."""
    return PacsFeatures(window)
