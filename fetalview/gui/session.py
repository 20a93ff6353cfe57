"""What the user has open and which scan is shown; the rules between scans and the model.

No widgets here: the window shows what this object says. It decides which scan is current,
asks the worker for segmentations, and applies a result only to the scan it was asked for,
and only if that scan's contour has not changed since (a result arriving after the user moved
on or started drawing is dropped, never applied to another scan). Folders are listed on a
worker thread; their scans join the list when the listing comes back. No scan, however
broken, ends the app: whatever opening it raises is shown and the scan marked unreadable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal

from fetalview.core.record.calipers import (Calipers, saved_bpd_pair, saved_calipers, with_bpd_pair,
                             with_calipers)
from fetalview.core.measure.ellipse_edit import ellipse_from_clicks
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.io.scans import ScanLoadError
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.io.safetext import display_name
from fetalview.core.record.sidecar import Annotation
from fetalview.core.record.sidecar_store import OnDisk, on_disk_now
from fetalview.gui.document import ScanDocument, open_document, saved_state
from fetalview.core.record.model_result import review_needed, scan_state, with_model_result
from fetalview.gui.folder.listing import FolderLister
from fetalview.gui.folder.patients import PatientRecords
from fetalview.gui.folder.queue import FolderQueue, Outcome
from fetalview.gui.folder.review_order import end_of_list
from fetalview.gui.settings import AppSettings
from fetalview.gui.signoff.confirm import confirm_bpd, sign_off_shown
from fetalview.gui.worker import SegmentationService

log = logging.getLogger(__name__)

KEEP_OPEN = 40  # scans kept in memory with their undo history
REPLACE_EDIT_QUESTION = ("This contour was edited by hand. Replace it with a new result from "
                         "the model? (Edit > Undo brings your contour back.)")


def without_name(path: Path, reason: str) -> str:
    """``reason`` without the file's name in front: the loader's reasons start with it (the
    command line needs it), and the window's messages name the file already."""
    return reason.removeprefix(f"{path.name}: ")


@dataclass(frozen=True)
class _Request:
    id: int
    document: ScanDocument
    ellipse_before: Ellipse | None


def _absolute(path: Path) -> Path:
    """The path without symbolic links, or as given where they loop (the open then says so)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


class Session(QObject):
    scans_changed = Signal()
    state_changed = Signal(object, str)  # scan path, state
    current_changed = Signal()  # another scan (or none) is shown
    annotation_changed = Signal()  # the shown scan's annotation changed
    # Texts travel as Python objects: a Signal(str) would silently drop the bytes of a file
    # name that is not UTF-8 before the window could show them as replacement characters.
    error = Signal(object)  # something the user must read
    leaving = Signal()  # another scan is about to be shown: messages about this one are over
    info = Signal(object)  # a passing note for the status bar
    listed = Signal(object)  # a folder's listing came back and its scans are in the list
    signed_off = Signal(object)  # a scan (its path) was confirmed here just now

    def __init__(self, settings: AppSettings, service: SegmentationService,
                 confirm: Callable[[str], bool], parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings
        self.service = service
        self.confirm = confirm
        self.scans: list[Path] = []
        self.states: dict[Path, str] = {}
        #: The latest known annotation of each listed scan (open, saved or measured in the
        #: background), for the list's HC, the review queue and the CSV.
        self.results: dict[Path, Annotation | None] = {}
        #: What each scan's files held when its result in ``results`` was read (a document
        #: keeps its own): unless they still hold it, that result is read again.
        self.on_disk: dict[Path, OnDisk] = {}
        self.documents: dict[Path, ScanDocument] = {}
        self.current: ScanDocument | None = None
        self.shown: Path | None = None  # the selected scan, even when it could not be opened
        #: Which scans Next / Previous visit: the review queue narrows it to its filter, so
        #: stepping through "Flagged only" never lands on a scan the list hides.
        self.in_queue: Callable[[Path], bool] = lambda path: True
        self._request: _Request | None = None
        self._show_listed = False  # show the first scan a listing brings (an Open of folders)
        self.lister = FolderLister(self)
        self.lister.listed.connect(self._on_listed)
        service.returned.connect(self._on_returned)
        service.errored.connect(self._on_errored)
        self.queue = FolderQueue(service, self.is_open, settings.folder_pixel_size, self)
        self.queue.arrived.connect(self.take_outcome)
        self.patients = PatientRecords(self)  # each scan's dating and serial scans

    # --- opening -----------------------------------------------------------------------

    def open_paths(self, paths: list[Path]) -> None:
        """Add scans (files, or every scan in a folder) to the list and show the first.

        Files join at once; folders are listed on the worker thread and join when listed
        (``listed``), the first scan they bring shown unless the user chose another meanwhile.
        """
        files: list[Path] = []
        self.queue.cancel()  # what was opened before waits no more; these come first
        paths = [_absolute(Path(raw)) for raw in paths]
        self.settings.opened(paths)  # Open recent, and where the file dialogs start
        for path in paths:
            if path.is_dir():
                self.lister.request(path, self.settings.data_dir)
            else:
                files.append(path)
        self._show_listed = bool(paths) and not files  # only folders: show what they bring
        self._add([(path, saved_state(path, self.settings.data_dir)) for path in files])

    def _on_listed(self, folder: Path, entries: list[tuple[Path, str]], problem: str) -> None:
        show, self._show_listed = self._show_listed and bool(entries), False
        self._add(entries, show)
        if problem:
            self.error.emit(problem)
        self.listed.emit(folder)

    def _add(self, entries: list[tuple[Path, str]], show: bool = True) -> None:
        """Add scans not yet listed, each with its state; show the first of ``entries``."""
        new = False
        for path, state in entries:
            if path not in self.states:
                self.scans.append(path)
                self.states[path] = state
                new = True
        if new:
            self.scans_changed.emit()
        if entries and show:
            self.go_to(entries[0][0])
        self.queue.add([path for path, _ in entries], self.settings.data_dir,
                       self.settings.device, self.settings.segment_on_open,
                       self.settings.automatic_beside)

    def go_to(self, path: Path) -> None:
        path = Path(path)
        self._show_listed = False  # the user's choice stands over a listing still to come
        if self.shown == path and self.current is not None:
            return
        self.forget_request()
        if self.current is None or not self.current.unsaved:  # "Not saved" must stay in view
            self.leaving.emit()
        self.shown = path
        document = self.documents.pop(path, None)
        if document is not None and self._changed_on_disk(document):
            document.deleteLater()  # shown as its files hold it now
            document = None
        document = document or self._open(path)
        if document is not None:
            self.documents[path] = document  # most recently shown last
            self._evict()
        self.current = document
        self.current_changed.emit()
        if document is None:
            return
        self.settings.stopped_at(path)  # where Open recent takes this list up again
        a = document.annotation
        if self.settings.segment_on_open and a.ellipse is None and a.auto_ellipse is None:
            self.segment()

    def _open(self, path: Path) -> ScanDocument | None:
        try:
            document, warning = open_document(path, self.settings.data_dir,
                                              self.settings.folder_pixel_size(path.parent),
                                              self.settings.automatic_beside)
        except Exception as exc:  # noqa: BLE001 - no file may end the app: say it, go on
            if not isinstance(exc, ScanLoadError):  # a documented refusal needs no trace
                log.exception("opening %s failed", path)
                exc = f"{type(exc).__name__}: {exc}"
            self._set_state(path, "unreadable")
            self.error.emit(f"Cannot open {path.name}: {without_name(path, str(exc))}")
            return None
        if warning:
            self.error.emit(warning)
        self._set_state(path, document.state, document.annotation)  # the list shows it
        document.context = self.patients.context
        document.changed.connect(lambda d=document: self._on_document_changed(d))
        document.save_failed.connect(self._on_save_failed)
        document.note.connect(self.error)
        return document

    def _evict(self) -> None:
        """Keep the scans seen last in memory (with their undo history); older ones are
        reopened from their sidecars when shown again, unless they hold an unsaved change."""
        for path in list(self.documents)[:-KEEP_OPEN]:
            if not self.documents[path].unsaved:
                self.on_disk[path] = self.documents[path].on_disk
                self.documents.pop(path).deleteLater()

    def _changed_on_disk(self, document: ScanDocument) -> bool:
        """Whether ``document``'s files changed since it read or wrote them (another
        workstation's correction, the scan replaced) while it holds no unsaved work: then it
        is no longer what is on disk and is read again (an unsaved one keeps the user's work,
        merged with the other's at its next save)."""
        if document.unsaved or on_disk_now(document.path, self.settings.data_dir) \
                == document.on_disk:
            return False
        self.on_disk.pop(document.path, None)  # what an evicted copy read is older still
        self.info.emit(f"{display_name(document.path)} changed on disk since it was read here "
                       "(another workstation, or the scan replaced): it is read again.")
        return True

    def up_to_date(self, path: Path) -> bool:
        """Whether the session's result for ``path`` is what its files hold now (a stat and the
        sidecars' hashes); a saved open document whose files changed is dropped (reopened at
        once when shown)."""
        document = self.documents.get(path)
        if document is None:
            return self.on_disk.get(path) == on_disk_now(path, self.settings.data_dir)
        if not self._changed_on_disk(document):
            return True
        self.documents.pop(path).deleteLater()
        if document is self.current:
            self.forget_request()
            self.current = None
            self.go_to(path)
        return path in self.documents

    def step(self, offset: int) -> None:
        """Show the next (+1) or previous (-1) scan of the list that ``in_queue`` lets
        through; at either end the shown scan stays."""
        if self.shown in self.scans:
            index = self.scans.index(self.shown)
            ahead = self.scans[index + 1:] if offset > 0 else self.scans[:index][::-1]
        else:
            ahead = self.scans
        target = next((path for path in ahead if self.in_queue(path)), None)
        if target is not None:
            self.go_to(target)
        elif self.scans:  # else Space or N at an end would seem to do nothing
            self.info.emit(end_of_list(offset, [self.states.get(p) for p in self.scans]))

    # --- the model ---------------------------------------------------------------------

    def segment(self) -> None:
        """Run the model on the shown scan; asks first if that would replace a hand edit."""
        d = self.current
        if d is None:
            return
        if d.annotation.edited and d.annotation.ellipse is not None \
                and not self.confirm(REPLACE_EDIT_QUESTION):
            return
        rid = self.service.submit(d.scan.pixels, self.settings.device, d.scan.regions)
        self._request = _Request(rid, d, d.annotation.ellipse)

    @property
    def segmenting(self) -> bool:
        return self._request is not None

    def forget_request(self) -> None:
        if self._request is not None:
            self._request = None
            self.service.cancel()

    def _take_request(self, request_id: int) -> _Request | None:
        request = self._request
        if request is None or request.id != request_id:
            return None
        self._request = None
        return request

    def _on_returned(self, request_id: int, result) -> None:
        request = self._take_request(request_id)
        if request is None or request.document is not self.current:
            return  # the user has moved on: never apply it to another scan
        d = request.document
        if d.annotation.ellipse != request.ellipse_before:
            self.info.emit("The model's result was not applied: the contour changed meanwhile.")
            return
        if result.ellipse is None:
            self.error.emit(f"The model found no head in {d.path.name}. Draw the contour by "
                            "hand: Contour > Draw by hand (M).")
            return
        if request.ellipse_before is None and not d.undo_stack.count():  # an untouched scan
            d.start_from(with_model_result(d.annotation, result))
        else:  # after the user's steps (another frame, a hand edit asked first): undoable
            d.push(with_model_result(d.annotation, result), "Segment with the model")
        reasons = review_needed(d.annotation)
        if reasons:
            self.info.emit(f"Please check the contour ({', '.join(reasons)}).")

    def _on_errored(self, request_id: int, message: str) -> None:
        if self._take_request(request_id) is not None:
            self.error.emit(f"Segmentation failed ({message}). You can still draw the head "
                            "contour by hand (M).")

    # --- edits -------------------------------------------------------------------------

    def edit_ellipse(self, ellipse: Ellipse, text: str) -> None:
        if self.current is not None:
            self.current.edit_ellipse(ellipse, text)

    def draw_from_clicks(self, points: list[tuple[float, float]]) -> None:
        try:
            ellipse = ellipse_from_clicks(*points)
        except ValueError as exc:
            self.error.emit(f"Could not draw the ellipse: {exc}.")
            return
        self.forget_request()
        self.edit_ellipse(ellipse, "Draw contour by hand")

    def reset_to_model(self) -> None:
        d = self.current
        if d is None:
            return
        if d.annotation.auto_ellipse is None:
            self.error.emit("There is no model result to reset to; run the model first (R).")
            return
        d.push(replace(d.annotation, ellipse=d.annotation.auto_ellipse, edited=False),
               "Reset to the model's contour")

    # --- calipers ----------------------------------------------------------------------

    def _push_extra(self, extra: dict, text: str) -> None:
        if self.current is not None:
            self.current.push(replace(self.current.annotation, extra=extra), text)

    def move_bpd_calipers(self, pair: Calipers, text: str) -> None:
        """Keep a person's placement of the outer-to-inner pair; a suggestion stays one until
        ``confirm_bpd_calipers``."""
        d = self.current
        if d is not None:
            saved = saved_bpd_pair(d.annotation.extra)
            self._push_extra(with_bpd_pair(d.annotation.extra, pair, saved is not None
                                           and saved[1]), text)

    def confirm_bpd_calipers(self, operator: Callable[[], str | None] = lambda: None) -> None:
        confirm_bpd(self, operator)  # a confirmed scan is signed again with it

    def add_distance(self, points: list[tuple[float, float]]) -> None:
        d = self.current
        if d is not None:
            pair = Calipers(*points[:2])
            self._push_extra(with_calipers(d.annotation.extra,
                                           saved_calipers(d.annotation.extra) + [pair]),
                             "Measure a distance")

    def move_distance(self, index: int, pair: Calipers, text: str) -> None:
        d = self.current
        if d is not None:
            calipers = saved_calipers(d.annotation.extra)
            if 0 <= index < len(calipers):
                calipers[index] = pair
                self._push_extra(with_calipers(d.annotation.extra, calipers), text)

    def remove_distance(self, index: int) -> None:
        d = self.current
        if d is not None:
            calipers = saved_calipers(d.annotation.extra)
            if 0 <= index < len(calipers):
                del calipers[index]
                self._push_extra(with_calipers(d.annotation.extra, calipers),
                                 f"Remove distance D{index + 1}")

    def sign_off(self, operator: str) -> bool:
        """Confirm the shown scan as ``operator`` with the figures shown (``signoff.confirm``)."""
        return sign_off_shown(self, operator)

    def set_pixel_size(self, pixel_size: PixelSize, whole_folder: bool = False) -> None:
        """Give the shown scan ``pixel_size``; ``whole_folder`` also remembers it for its
        folder: every scan there without a pixel size of its own gets it, now and whenever it
        is opened or measured (its source says so)."""
        d = self.current
        if d is None:
            return
        d.push(replace(d.annotation, pixel_size=pixel_size), "Set pixel size")
        if not whole_folder:
            return
        folder = d.path.parent
        self.settings.set_folder_pixel_size(folder, pixel_size.mm_per_pixel)
        shared = self.settings.folder_pixel_size(folder)
        for path in self.scans:
            other = self.documents.get(path)
            if path.parent != folder or other is d:
                continue
            if other is not None:
                if other.annotation.pixel_size is None:
                    other.push(replace(other.annotation, pixel_size=shared),
                               "Set the folder's pixel size")
            elif (a := self.results.get(path)) is not None and a.pixel_size is None:
                a = replace(a, pixel_size=shared)  # as opening it will show it
                self._set_state(path, scan_state(a), a)

    # --- bookkeeping -------------------------------------------------------------------

    def _set_state(self, path: Path, state: str, annotation: Annotation | None = None) -> None:
        if path not in self.states:
            self.scans.append(path)
            self.scans_changed.emit()
        self.states[path] = state
        self.results[path] = annotation
        self.state_changed.emit(path, state)

    def _on_document_changed(self, document: ScanDocument) -> None:
        self._set_state(document.path, document.state, document.annotation)
        note = document.saved_elsewhere_note(self.settings.automatic_beside)
        if note:
            self.info.emit(note)
        if document is self.current:
            self.annotation_changed.emit()

    def is_open(self, path: Path) -> bool:
        """Whether ``path`` is open, or being opened (``shown`` is set first); read by the
        background queue's jobs in the worker thread, so only lookups here."""
        return path in self.documents or path == self.shown

    def known_result(self, path: Path) -> tuple[bool, Annotation | None]:
        """Whether ``path``'s result was read in this session, and that result (None: none)."""
        document = self.documents.get(path)
        if document is not None:
            return True, document.annotation
        return path in self.results, self.results.get(path)

    def take_outcome(self, outcome: Outcome) -> None:
        """A scan measured (or its saved result read) in the background, for the list; its
        sidecar was saved, or a stale one set aside, in the worker thread."""
        path = outcome.path
        if outcome.note:  # a saved measurement was renamed: that must be read, open or not
            self.error.emit(outcome.note)
        if path not in self.states or path in self.documents:
            return  # no longer listed, or open: the open document speaks for it
        if outcome.disk is not None:
            self.on_disk[path] = outcome.disk
        self.patients.remember(path, outcome.fields)
        if outcome.unreadable:
            self._set_state(path, "unreadable")
        if outcome.problem:  # said in passing: the scan's own message comes when it is opened
            self.info.emit(f"{display_name(path)}: {without_name(path, outcome.problem)}")
        if outcome.unreadable:
            return
        self._set_state(path, scan_state(outcome.annotation), outcome.annotation)

    def unsaved(self, path: Path) -> bool:  # its latest change only in memory: a save failed
        return path in self.documents and self.documents[path].unsaved

    def retry_saves(self) -> list[Path]:
        """Save each open scan holding unsaved work again; returns those still unsaved."""
        for document in list(self.documents.values()):
            if document.unsaved and document.save():
                self._set_state(document.path, document.state, document.annotation)
        return [path for path in self.scans if self.unsaved(path)]

    def _on_save_failed(self, message: str) -> None:
        self.error.emit(f"Not saved: {message}. Your contour stays on screen; it is saved "
                        "again with your next change.")

    def shutdown(self) -> None:
        self.lister.shutdown()  # the window is closing
