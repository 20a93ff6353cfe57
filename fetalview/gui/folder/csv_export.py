"""The folder CSV: every listed scan's measurement as its files hold it now, each one checked
against its scan's pixels.

A result the session holds (a scan opened, or read or measured in the background) is exported
only while the scan's files still hold what it was read from or saved as (``OnDisk``: a stat
of the scan, a hash of each small sidecar; nothing decoded): another workstation's correction
of the sidecar, or a scan replaced on disk, makes the scan be read again, never its old figures
exported. A saved open document whose files changed is dropped (the shown one reopened at
once). The others (changed, the queue cancelled when another folder opened, or not there yet)
are checked as the queue checks them (``measure_job`` reading saved results only), one scan
per job on the segmentation worker, never the GUI thread: reading, decoding and hashing a
folder would freeze the window. A saved measurement made on other pixels (the scan replaced
since, a sidecar copied beside another scan) is set aside as the queue and opening do
(renamed, never deleted) and its scan's row says so without a figure: a stale HC must never
reach a spreadsheet. A scan whose latest change could not be saved has no figure either (what
is exported is what is on disk) and its row says why. The CSV is written once all are checked,
atomically, as every export.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from fetalview.core.record.review import NOT_MEASURED, STATE_WORDS
from fetalview.core.io.safetext import display_name, scan_names
from fetalview.core.results.tables import export_row, unmeasured_row
from fetalview.gui.export import SET_ASIDE_STATUS, ExportError, free_path, save_csv
from fetalview.gui.folder.queue import Outcome, measure_job
from fetalview.gui.session import Session
from fetalview.report.list_pdf import ListedScan

#: Writes the listed scans as the export found them to a path; raises ExportError.
ListWriter = Callable[[list[ListedScan], Path], None]


#: ``status`` of a scan whose change on screen could not be saved: no figure leaves for it.
UNSAVED_STATUS = ("not exported: its latest change on screen could not be saved; it is saved "
                  "again with its next change, or when the window closes (Retry, or Save "
                  "elsewhere); then export again")


@dataclass(frozen=True)
class _Checked:
    """A check's outcome, marked as this export's (the queue's come on the same signal)."""

    export: FolderCsvExport
    outcome: Outcome


class FolderCsvExport(QObject):
    progress = Signal(int, int)  # scans checked, scans to check; (0, 0) when done
    written = Signal(object, int, int, list)  # the CSV, its rows, measured ones, names set aside
    failed = Signal(object)  # why the CSV was not written

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self._path: Path | None = None
        self._scans: list[Path] = []
        self._todo: deque[Path] = deque()
        self._total = 0
        self._set_aside: set[Path] = set()
        session.service.background_done.connect(self._on_done)

    @property
    def running(self) -> bool:
        return self._path is not None

    def start(self, path: Path, write: ListWriter | None = None) -> bool:
        """Export the listed scans to ``path``: written at once when all were checked in this
        session, else once the worker has checked the rest. False when it failed at once.
        ``write`` writes what was found (default: the CSV; the list report is the other)."""
        self._write = write or save_list_csv
        self._path, self._scans, self._set_aside = Path(path), list(self.session.scans), set()
        self._todo = deque(p for p in self._scans if not self.session.up_to_date(p))
        self._total = len(self._todo)
        return self._next()

    def _next(self) -> bool:
        if not self._todo:
            return self._finish()
        self.progress.emit(self._total - len(self._todo), self._total)
        path, settings = self._todo.popleft(), self.session.settings
        job = measure_job(path, settings.data_dir, settings.device, False,
                          settings.folder_pixel_size(path.parent),
                          partial(self.session.is_open, path))
        # not cancellable: opening another folder must not lose an export the user asked for
        self.session.service.submit_background(lambda worker: _Checked(self, job(worker)),
                                               cancellable=False)
        return True

    def _on_done(self, _generation, result) -> None:
        if not isinstance(result, _Checked) or result.export is not self or not self.running:
            return
        outcome = result.outcome
        if outcome.note and outcome.annotation is None:  # set aside, nothing else saved
            self._set_aside.add(outcome.path)
        self.session.take_outcome(outcome)  # the list shows what the check found
        self._next()

    def _finish(self) -> bool:
        scans, measured = [], 0
        for path, name in zip(self._scans, scan_names(self._scans)):
            _, annotation = self.session.known_result(path)
            if self.session.unsaved(path):  # on screen only: what is on disk is older
                scans.append(ListedScan(name, None, UNSAVED_STATUS))
            elif annotation is not None and annotation.ellipse is not None:
                scans.append(ListedScan(name, self.session.patients.listed_record(
                    path, annotation, name)))
                measured += 1
            elif path in self._set_aside:
                scans.append(ListedScan(name, None, SET_ASIDE_STATUS, NOT_MEASURED))
            else:  # not measured (yet), unreadable, no head found: listed, with its state
                state = self.session.states.get(path, NOT_MEASURED)
                scans.append(ListedScan(name, None, STATE_WORDS.get(state, state), state))
        # a file that appeared there while the scans were checked is not replaced
        target, self._path = free_path(self._path) if self._total else self._path, None
        self.progress.emit(0, 0)
        try:
            self._write(scans, target)
        except ExportError as exc:
            self.failed.emit(str(exc))
            return False
        self.written.emit(target, len(scans), measured,
                          [display_name(p) for p in self._scans if p in self._set_aside])
        return True


def save_list_csv(scans: list[ListedScan], path: Path) -> None:
    """The folder CSV: a record's row, or a row without figures saying why."""
    save_csv([export_row(s.result) if s.result is not None
              else unmeasured_row(s.name, s.without, s.state) for s in scans], path)
