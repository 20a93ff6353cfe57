"""The PACS dialogs: the node in settings (with Test connection) and Open from PACS.

Both only collect input and show answers: echo, find and get run as ``background.Job``s, so
a PACS that is slow or down never freezes the window.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QSettings, QSize, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QSpinBox, QStyle, QStyleOptionFrame, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from fetalview.core.pacs.node import DEFAULT_CALLING_AET, PacsNode, check_ae_title
from fetalview.gui.background import Job
from fetalview.gui.dialogs import finish_form
from fetalview.gui.settings import CLINIC_KEY, clinic_name
from fetalview.gui.theme import WARNING

if TYPE_CHECKING:
    from fetalview.core.pacs.client import StudyHit
    from fetalview.core.pacs.retrieve import Retrieved


def _pacs():
    """The networking module, imported by the background job that first needs it: pynetdicom
    takes seconds to import, which the window's start-up should not wait for."""
    from fetalview.core.pacs import client as pacs
    return pacs


def _retrieval():
    """The C-GET module, imported like ``_pacs`` by the job that needs it."""
    from fetalview.core.pacs import retrieve
    return retrieve


@dataclass(frozen=True)
class PacsSettings:
    """The clinic's PACS as the app remembers it (QSettings group ``pacs``)."""

    ae_title: str = ""
    host: str = ""
    port: int = 104
    calling_aet: str = DEFAULT_CALLING_AET
    organization: str = ""  # the clinic, named in a confirmed report as Verifying Organization

    @classmethod
    def load(cls, store: QSettings) -> PacsSettings:
        def text(key, default=""):
            return str(store.value(f"pacs/{key}", default) or default)
        try:
            port = int(text("port", "104"))
        except ValueError:
            port = 104
        return cls(text("ae_title"), text("host"), port,
                   text("calling_aet", DEFAULT_CALLING_AET), clinic_name(store))

    def save(self, store: QSettings) -> None:
        for key in ("ae_title", "host", "port", "calling_aet"):
            store.setValue(f"pacs/{key}", getattr(self, key))
        store.setValue(CLINIC_KEY, self.organization)  # the one clinic name, as in Settings

    @property
    def node(self) -> PacsNode | None:
        """The node, or None while it is not set up (or not valid)."""
        try:
            return PacsNode(self.ae_title, self.host, self.port)
        except ValueError:
            return None


class PacsSettingsDialog(QDialog):
    """AE title, host and port of the PACS, fetalview's own AE title, the clinic's name."""

    def __init__(self, settings: PacsSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("PACS")
        form = QFormLayout(self)
        self.ae_title = QLineEdit(settings.ae_title)
        self.ae_title.setPlaceholderText("e.g. ORTHANC")
        self.host = QLineEdit(settings.host)
        self.host.setPlaceholderText("name or address, e.g. pacs.clinic.local")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(settings.port)
        self.calling = QLineEdit(settings.calling_aet)
        self.organization = QLineEdit(settings.organization)
        self.organization.setPlaceholderText("named in confirmed reports")
        for edit in (self.ae_title, self.host, self.organization):
            self._fit_placeholder(edit)
        form.addRow("PACS AE title", self.ae_title)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("fetalview's AE title", self.calling)
        form.addRow("Clinic", self.organization)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        # The answer has a full-width row of its own under the button: squeezed beside it, a
        # node's name wrapped to three lines and ran over the note below.
        self.answer = QLabel()
        self.answer.setWordWrap(True)
        form.addRow(self.test_button)
        form.addRow(self.answer)
        finish_form(self, form, "The PACS must know fetalview's AE title. Results go to it by "
                    "C-STORE; Open from PACS fetches studies by C-GET over the same connection.")
        self._job: Job | None = None
        self.deadlines: dict = {}  # the echo's timeout and deadline (tests set short ones)

    @staticmethod
    def _fit_placeholder(edit: QLineEdit) -> None:
        """Make ``edit`` at least wide enough to show its whole placeholder: a cut example
        ("name or address, ...") tells nobody what to type."""
        option = QStyleOptionFrame()
        edit.initStyleOption(option)
        margins, text = edit.contentsMargins(), edit.textMargins()
        width = (edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + 2 * 2 + 1
                 + margins.left() + margins.right() + text.left() + text.right())
        size = edit.style().sizeFromContents(QStyle.CT_LineEdit, option,
                                             QSize(width, edit.sizeHint().height()), edit)
        edit.setMinimumWidth(size.width())

    def _fit_height(self) -> None:
        """Grow the dialog to the height its wrapped texts need at its width: a top-level
        window does not follow a label's height-for-width by itself, so a longer answer
        would otherwise be drawn over the rows below it."""
        layout = self.layout()
        layout.activate()
        need = layout.totalHeightForWidth(self.width())
        self.setMinimumHeight(need)
        if self.height() < need:
            self.resize(self.width(), need)

    def chosen(self) -> PacsSettings:
        """What the fields say; raises ValueError naming what is wrong."""
        settings = PacsSettings(self.ae_title.text().strip(), self.host.text().strip(),
                                self.port.value(), check_ae_title(self.calling.text()),
                                self.organization.text().strip())
        PacsNode(settings.ae_title, settings.host, settings.port)
        return settings

    def _say(self, text: str, ok: bool) -> None:
        self.answer.setText(text)
        self.answer.setStyleSheet("" if ok else f"color: {WARNING}")
        self._fit_height()

    def test_connection(self) -> None:
        """C-ECHO in the background; the answer appears beside the button."""
        try:
            chosen = self.chosen()
        except ValueError as exc:
            self._say(str(exc), False)
            return
        self.test_button.setEnabled(False)
        self._say(f"Asking {chosen.node}...", True)
        deadlines = self.deadlines
        self._job = Job(lambda progress: _pacs().echo(chosen.node, chosen.calling_aet,
                                                      **deadlines), self)
        self._job.finished.connect(lambda _: self._tested(f"Connected to {chosen.node}.", True))
        self._job.failed.connect(lambda message: self._tested(message, False))
        self._job.start()

    def _tested(self, text: str, ok: bool) -> None:
        self.test_button.setEnabled(True)
        self._say(text, ok)

    def accept(self) -> None:
        try:
            self.chosen()
        except ValueError as exc:
            self._say(str(exc), False)
            return
        super().accept()


_DATE = re.compile(r"^(\d{8})?(-(\d{8})?)?$")
COLUMNS = ("Patient", "Patient ID", "Date", "Description", "Modalities", "Images")


class OpenFromPacsDialog(QDialog):
    """Find studies by patient ID, name or date (C-FIND) and fetch one (C-GET) into
    ``cache/<Study Instance UID>``; ``retrieved`` then carries what arrived (``Retrieved``:
    the images, in the study's order, each named in words).

    Shown, it searches at once for today's studies (the ones a sonographer most often wants,
    and a bounded answer on a PACS holding years); the fields then narrow or widen it."""

    retrieved = Signal(object)  # the Retrieved study

    def __init__(self, settings: PacsSettings, cache: Path, parent: QWidget | None = None,
                 take_in: Callable[[Retrieved], list[str]] = lambda got: []):
        """``take_in``: run on what arrived, in the retrieval's background job (its reports
        made the scans' results, ``core.pacs.shared_record``); returns what to tell."""
        super().__init__(parent)
        self.setWindowTitle("Open from PACS")
        self.settings, self.cache, self.take_in = settings, Path(cache), take_in
        self.hits: list[StudyHit] = []
        self._job: Job | None = None
        layout = QVBoxLayout(self)
        fields = QHBoxLayout()
        self.patient_id = QLineEdit()
        self.patient_id.setPlaceholderText("Patient ID")
        self.patient_name = QLineEdit()
        self.patient_name.setPlaceholderText("Name (part of it)")
        self.date = QLineEdit(dt.date.today().strftime("%Y%m%d"))
        self.date.setPlaceholderText("Date YYYYMMDD or a range A-B")
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        for w in (self.patient_id, self.patient_name, self.date, self.search_button):
            fields.addWidget(w)
            if isinstance(w, QLineEdit):
                w.returnPressed.connect(self.search)
        self.search_button.clicked.connect(self.search)
        layout.addLayout(fields)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().hide()
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _: self.retrieve())
        layout.addWidget(self.table, 1)
        self.status = QLabel("" if settings.node
                             else "Set up the PACS first (File > PACS settings).")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.open_button = buttons.addButton("Retrieve and open", QDialogButtonBox.AcceptRole)
        self.open_button.clicked.connect(self.retrieve)
        self.cancel_button = buttons.addButton("Cancel retrieval", QDialogButtonBox.ActionRole)
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self._cancel = threading.Event()
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._update_buttons()
        self._searched_on_show = False
        self.resize(900, 480)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._searched_on_show:  # once: the answer, not an empty table, greets
            self._searched_on_show = True
            QTimer.singleShot(0, self.search)

    def _busy(self, text: str, job: Job) -> None:
        """Start ``job``, saying ``text`` until its answer comes."""
        self.status.setText(text)
        self.status.setStyleSheet("")
        self._job = job
        job.start()
        self._update_buttons()

    def _fail(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {WARNING}")
        self._update_buttons()

    def _update_buttons(self) -> None:
        idle = self._job is None or not self._job.running
        chosen = bool(self.table.selectionModel().selectedRows())
        self.search_button.setEnabled(idle and self.settings.node is not None)
        self.open_button.setEnabled(idle and chosen)
        # a grey button says why
        self.open_button.setToolTip("" if idle and chosen else "Wait for the PACS's answer"
                                    if not idle else "Choose a study in the list first")

    def search(self) -> None:
        node = self.settings.node
        date = self.date.text().strip().replace(" ", "")
        if node is None:
            return
        if not _DATE.match(date):
            self._fail("The date is YYYYMMDD, or a range such as 20260101-20260331.")
            return
        query = dict(patient_id=self.patient_id.text(), patient_name=self.patient_name.text(),
                     study_date=date)
        if self._job is not None and self._job.running and self._job.objectName() != "search":
            return  # retrieving: Cancel retrieval first
        # A new search (Return typed while today's search runs) supersedes the one running:
        # only the latest search's answer is shown
        job = Job(lambda progress: _pacs().find_studies(
            node, self.settings.calling_aet, **query), self)
        job.setObjectName("search")
        job.finished.connect(lambda hits: job is self._job and self._show_hits(hits))
        job.failed.connect(lambda message: job is self._job and self._fail(message))
        self._busy(f"Searching {node}" + (f" for studies of {date}..." if date else "..."), job)

    def _show_hits(self, hits: list[StudyHit]) -> None:
        self.hits = hits
        self.table.setRowCount(len(hits))
        for row, h in enumerate(hits):
            date = f"{h.study_date[:4]}-{h.study_date[4:6]}-{h.study_date[6:]}" \
                if len(h.study_date) == 8 else h.study_date
            for col, text in enumerate((h.patient_name, h.patient_id, date, h.description,
                                        h.modalities, h.instances)):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.status.setStyleSheet("")
        date = self.date.text().strip()
        self.status.setText(f"{len(hits)} studies found." if hits else
                            f"No study of {date} matches. Clear the date, or give a range, to "
                            "search other days." if date else
                            "No study matches. Fields left empty match everything.")
        if hits:
            self.table.selectRow(0)
        self._update_buttons()

    def retrieve(self) -> None:
        """C-GET the chosen study into the cache (``core.pacs.retrieve`` checks what arrives);
        Cancel retrieval (or closing the dialog) stops it and keeps nothing."""
        rows = self.table.selectionModel().selectedRows()
        node = self.settings.node
        if not rows or node is None or (self._job is not None and self._job.running):
            return
        hit = self.hits[rows[0].row()]
        self._cancel = cancel = threading.Event()
        self.cancel_button.show()
        def work(progress):
            got = _retrieval().get_study(node, hit.study_uid, self.cache,
                                         self.settings.calling_aet,
                                         patient_id=hit.patient_id or None, cancel=cancel)
            got.notes = self.take_in(got)
            return got
        job = Job(work, self)
        job.finished.connect(self._retrieved)
        job.failed.connect(self._fail)
        job.failed.connect(lambda _: self.cancel_button.hide())
        self._busy(f"Retrieving the study of {hit.patient_name or hit.patient_id}...", job)

    def cancel(self) -> None:
        self._cancel.set()
        self.status.setText("Cancelling the retrieval...")

    def reject(self) -> None:
        self._cancel.set()  # closing the dialog ends a retrieval too
        super().reject()

    def _retrieved(self, got: Retrieved) -> None:
        self.cancel_button.hide()
        if not got.saved:
            self._fail("The study holds no image fetalview can open (only reports or "
                       f"fetalview's own results). {got.summary()}")
            return
        self.retrieved.emit(got)
        if got.complete:
            self.status.setText(got.summary())
            self.accept()
        else:  # opened, and the dialog stays to say what is missing
            self._fail(f"{got.summary()} The study is opened without what is missing.")
