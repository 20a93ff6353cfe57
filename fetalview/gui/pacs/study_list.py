"""A study opened from the PACS is the list: one patient's study at a time.

Appended to the folder's scans, a study's images mixed one patient's scans with another's
and were named by their SOP Instance UIDs. Opened from the PACS, a study now replaces the
list: its images in the study's order, each named by patient, study date, description and
image number (``core.pacs.retrieve.Retrieved.names``), the list's title naming the study.
Opening a folder or files afterwards ends the study's list the same way: its images leave
the list (they stay in the PACS cache; their measurements are saved), the folder's take it.
Nothing is dropped while it holds unsaved work: the study is then not opened, and the user
is told why.

The session's own lists are emptied here, not in ``session.py``: that module is at its
length limit, and this is the one place a list is replaced rather than added to.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget

from fetalview.core.io.safetext import printable

if TYPE_CHECKING:
    from fetalview.core.pacs.retrieve import Retrieved

LIST_TITLE = "Scans"


class StudyList(QObject):
    """Replaces the window's list with a retrieved study (``open``); ends it when other scans
    are opened."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.study: list[Path] = []  # the images of the study the list holds; [] for a folder
        self.session.scans_changed.connect(self._on_scans_changed)

    @property
    def dock(self) -> QDockWidget:
        return self.window.findChild(QDockWidget, LIST_TITLE)

    def open(self, got: Retrieved) -> bool:
        """Make the list the study's images, the first shown; False (and why, said) when a
        listed scan holds unsaved work."""
        s = self.session
        unsaved = [p for p in s.scans if s.unsaved(p)]
        if unsaved:
            self.window.message_bar.show_message(
                f"The study is not opened: {len(unsaved)} scan(s) of the list hold unsaved work "
                f"({printable(unsaved[0].name)} first). Save it first (Retry saving), then open "
                "the study again; it is in the PACS cache.")
            return False
        self.study = []
        self._drop(list(s.scans))
        self.study = list(got.saved)
        s.patients.set_earlier(got.patient_id, got.earlier)
        first = got.names.get(got.saved[0], "") if got.saved else ""
        study = ", ".join(first.split(", ")[:-1])  # the study's words, not the first image's
        self.dock.setWindowTitle(printable(f"{LIST_TITLE}: PACS study of {study}"))
        self.window.folder_panel.set_labels(got.names)
        s.open_paths(list(got.saved))
        images = f"{len(got.saved)} image{'s' if len(got.saved) != 1 else ''}"
        self.window.statusBar().showMessage(
            f"The list now holds the study from the PACS ({images}); "
            "opening a folder brings its scans back in its place.", 10000)
        if got.notes:  # a report unread, or a newer one than the work kept here
            self.window.message_bar.show_message(" ".join(got.notes))
        return True

    def _on_scans_changed(self) -> None:
        """Other scans joined a study's list (a folder or files opened): the study's images
        leave it, as the folder's left when the study came."""
        if self.study and any(p not in self.study for p in self.session.scans):
            study, self.study = self.study, []
            self.dock.setWindowTitle(LIST_TITLE)
            self.session.patients.set_earlier(None, [])
            self._drop(study)

    def _drop(self, paths: list[Path]) -> None:
        """Take ``paths`` off the list (their documents closed; none holds unsaved work)."""
        s = self.session
        s.queue.cancel()  # nothing is measured in the background for a scan no longer listed
        gone = set(paths)
        for path in gone & set(s.documents):
            s.documents.pop(path).deleteLater()
        s.scans[:] = [p for p in s.scans if p not in gone]
        for table in (s.states, s.results, s.on_disk):
            for path in gone & set(table):
                del table[path]
        shown_gone = s.shown in gone
        if shown_gone:
            s.current = s.shown = None
        s.scans_changed.emit()
        if shown_gone:
            s.current_changed.emit()
