"""One open scan: its pixels, its current annotation, its undo history, and saving.

Every applied annotation is saved to the sidecar at once, so what is on screen is what is on
disk. A failed save keeps the annotation on screen, marks the document unsaved and says why;
the next change (or an explicit retry) writes it again. The core's ``SidecarStore`` decides
where a save may go (never over a sidecar this version cannot fully read) and merges what
another program changed meanwhile; the merged result is then what the document shows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from fetalview.core.batch import PixelSizeBook
from fetalview.core.io.safetext import display_name
from fetalview.core.record.result import ScanResult, build_result
from fetalview.core.io.scans import Scan, ScanLoadError, load_scan
from fetalview.core.measure.biometry import OUTER_OUTER, Measurement
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.model_result import automatic_only, outline_of, scan_state
from fetalview.core.io.outputs import create_atomic
from fetalview.core.record.sidecar import (Annotation, SidecarError, encode, identity_of,
                                           mismatch, sidecar_path)
from fetalview.core.record.sidecar_store import (Found, OnDisk, SidecarStore, load_annotation,
                                                 scan_stamp)
from fetalview.gui.commands import AnnotationCommand

def with_pixel_size(annotation: Annotation, scan: Scan,
                    folder: PixelSize | None = None) -> tuple[Annotation, str | None]:
    """A saved pixel size kept, else the file's own, an HC18-style CSV's beside the scan, or
    the one the user gave for the scan's ``folder`` (never a guess); then the calibration of
    the region holding the contour. Also returns what the user must be told (a size in the
    folder's CSV refused), or None."""
    ps, note = annotation.pixel_size, None
    if ps is None:
        try:
            ps = PixelSizeBook().lookup(scan.path, scan.pixel_size)
        except ValueError as exc:  # an implausible size in the folder's pixel-size CSV
            note = (f"The pixel size of {scan.path.name} in its folder's CSV is refused "
                    f"({exc}); values stay in pixels until you give one.")
        ps = ps or folder
    return replace(annotation, pixel_size=scan.pixel_size_for(annotation.ellipse, ps)), note


def saved_state(path: Path, data_dir: Path) -> str:
    """The state of a scan that is listed but not open, from its sidecar (read only)."""
    if not path.is_file():
        return "unreadable"
    try:
        return scan_state(load_annotation(path, data_dir))
    except SidecarError:
        return "not measured"


class ScanDocument(QObject):
    """A scan being measured. ``changed`` fires after every applied annotation."""

    changed = Signal()
    save_failed = Signal(object)  # a text (object: see Session.error)
    note = Signal(object)  # something about the saved file the user must read

    def __init__(self, scan: Scan, annotation: Annotation, store: SidecarStore,
                 stamp: tuple[int, ...] | None = None):
        """``stamp``: the scan file's ``scan_stamp`` taken before its pixels were read."""
        super().__init__()
        self.scan = scan
        self.annotation = annotation
        self.store = store
        self._stamp = stamp
        self.undo_stack = QUndoStack(self)
        self.unsaved = False
        self.saved_to: Path | None = None
        #: The version of the model the window showing this document runs (its service's),
        #: so that a saved result of another model says so; set by that window.
        self.model_in_use: Callable[[], str | None] = lambda: None
        #: The scan's patient: (annotation, convention) -> the record that dates it and its
        #: patient's serial scans (``folder.patients.PatientRecords.context``); None: alone.
        self.context: Callable[[ScanDocument, Annotation, str], tuple] | None = None

    @property
    def path(self) -> Path:
        return self.scan.path

    @property
    def on_disk(self) -> OnDisk:
        """What the scan's files held when this document last read or wrote them: while
        ``on_disk_now`` still says the same, what it shows is what is on disk."""
        return self.store.on_disk(self._stamp)

    @property
    def state(self) -> str:
        return scan_state(self.annotation)

    @property
    def outline(self) -> np.ndarray | None:
        """The model's raw outline of the current result, for display."""
        return outline_of(self.annotation, self.scan.pixels.shape[:2])

    def saved_elsewhere_note(self, automatic_beside: bool) -> str | None:
        """What the user is told when the last save went to the app's data folder because the
        scan's folder refused it; None when it went beside the scan, or when it is an
        automatic result kept in the data folder by choice (``automatic_beside`` off)."""
        if self.saved_to is None or self.saved_to.parent == self.path.parent \
                or (not automatic_beside and automatic_only(self.annotation)):
            return None
        return (f"{self.path.name}'s folder is read-only: its measurement is saved in "
                f"{self.saved_to.parent}")

    def result(self, convention: str = OUTER_OUTER, annotation: Annotation | None = None,
               when: datetime | None = None) -> ScanResult:
        """The record of the shown annotation (or of ``annotation``, e.g. during a drag) with
        BPD in ``convention``: what the panel shows and every export renders, dated by its
        patient's dating and with its patient's serial scans (``context``)."""
        annotation = annotation or self.annotation
        pregnancy, serial = (self.context(self, annotation, convention) if self.context
                             else (None, None))
        return build_result(display_name(self.path), annotation, self.scan.pixels, convention,
                            when=when, frame_count=self.scan.metadata.get("frames", 1),
                            model_in_use=self.model_in_use(), pregnancy=pregnancy,
                            serial=serial)

    def measurement(self, convention: str = OUTER_OUTER,
                    annotation: Annotation | None = None) -> Measurement | None:
        """The figures of ``result``: for live values while a handle is dragged."""
        return self.result(convention, annotation).measurement

    def push(self, after: Annotation, text: str) -> None:
        """Make ``after`` current as one undo step (applied and saved at once)."""
        after = replace(after, pixel_size=self.scan.pixel_size_for(after.ellipse,
                                                                   after.pixel_size))
        if after != self.annotation:
            self.undo_stack.push(AnnotationCommand(self.apply, self.annotation, after, text))

    def start_from(self, annotation: Annotation) -> None:
        """Make ``annotation`` (the model's first contour on a scan nobody has touched yet)
        current as the start of the undo history, not a step in it: the model's result is no
        edit of the user's, and Undo must never take it away and leave the scan empty."""
        self.apply(replace(annotation, pixel_size=self.scan.pixel_size_for(
            annotation.ellipse, annotation.pixel_size)))

    def edit_ellipse(self, ellipse, text: str) -> None:
        self.push(replace(self.annotation, ellipse=ellipse, edited=True), text)

    def apply(self, annotation: Annotation) -> None:
        """Show and save ``annotation`` (used by the undo commands); an annotation of another
        frame of a cine loop brings that frame's pixels with it."""
        if (annotation.frame or 0) != self.scan.metadata.get("frame", 0):
            self.scan = load_scan(self.path, frame=annotation.frame or 0)
        self.annotation = annotation
        self.save()
        self.changed.emit()

    def _identified(self) -> Annotation:
        return replace(self.annotation,
                       identity=identity_of(self.scan.pixels, self.scan.metadata.get("frame", 0)))

    def save_copy(self, folder: Path) -> Path:
        """Write the shown annotation into ``folder`` under its sidecar's name (numbered when
        taken: nothing there is replaced), for when none of the scan's own places can be
        written (a full disk): put beside the scan, it is found as its sidecar. OSError when
        it cannot be written there either."""
        target, n = Path(folder) / sidecar_path(self.path).name, 1
        while True:
            try:
                create_atomic(target, encode(self._identified(),
                                             datetime.now(timezone.utc).isoformat()))
                return target
            except FileExistsError:
                n += 1
                target = target.with_name(f"{sidecar_path(self.path).name[:-5]}-{n}.json")

    def save(self) -> bool:
        """Save with the identity of the pixels shown; adopts the merge of another program's
        changes when there was one. That is no undo step of this user's, and undoing an
        earlier one would put back the state before the other's change, dropping it without a
        word: so the undo history starts afresh (cleared once the running command is done)."""
        ours = self._identified()
        try:
            saved = self.store.save(ours)
        except SidecarError as exc:
            self.unsaved = True
            self.save_failed.emit(str(exc))
            return False
        self.saved_to = saved.path
        self.unsaved = False
        merged = replace(saved.annotation, saved_at=ours.saved_at) != ours
        if merged:
            self.annotation = replace(saved.annotation, saved_at=ours.saved_at)
            QTimer.singleShot(0, self.undo_stack.clear)
        if saved.note:
            self.note.emit(f"{self.path.name}: {saved.note}."
                           + (" Undo starts afresh from here." if merged else ""))
        return True


def open_document(path: Path, fallback_root: Path, folder_pixel_size: PixelSize | None = None,
                  automatic_beside: bool = False) -> tuple[ScanDocument, str | None]:
    """Load a scan and its saved state; returns the document and a warning, if any.

    Pixel size comes, in order, from the sidecar, the file itself (e.g. DICOM), an HC18-style
    CSV in the scan's folder, or the size the user gave for the folder; otherwise it stays
    unknown until the user gives one. A sidecar
    this version cannot read is kept as it is, and one made on other pixels (or naming a frame
    the file does not have) is set aside; the scan then opens unmeasured and the warning says
    so. The warning also carries the scan's notes (``Scan.notes``) and an implausible CSV
    pixel size. ``automatic_beside``: the model's results are saved beside the scan too (else
    in ``fallback_root``, see ``SidecarStore``). Raises ScanLoadError for a bad scan.
    """
    path = Path(path)
    stamp = scan_stamp(path)  # before anything is read: a change from now on is seen later
    store = SidecarStore(path, fallback_root, automatic_beside)
    notes = [_kept(found, store) for found in store.kept]
    scan, saved, stale = load_saved(path, store)
    notes += stale
    saved = saved or Annotation(scan=path.name, frame=scan.metadata.get("frame"))
    notes += [_sentence(note) for note in scan.notes]
    saved, note = with_pixel_size(saved, scan, folder_pixel_size)
    if note:
        notes.append(note)
    return ScanDocument(scan, saved, store, stamp), " ".join(notes) or None


def load_saved(path: Path, store: SidecarStore,
               may_set_aside: Callable[[], bool] = lambda: True
               ) -> tuple[Scan, Annotation | None, list[str]]:
    """The scan at ``path`` (at the frame of its newest saved annotation) and that
    annotation, once each newer one made on other pixels (the scan replaced, the sidecar
    copied beside another scan, a frame the file lacks) is set aside, renamed and never
    deleted; the notes say so. The one identity check of a scan opened or measured in the
    background. When ``may_set_aside()`` says no (the scan was opened meanwhile, and its
    document decides) a stale annotation is neither renamed nor returned. ScanLoadError for
    a bad scan."""
    newest = store.newest()
    frame = (newest.annotation.frame or 0) if newest else 0
    try:
        scan = load_scan(path, frame=frame)
    except ScanLoadError:
        if frame == 0:
            raise
        scan = load_scan(path)  # the sidecar's frame is not in this file; it is set aside
    identity = identity_of(scan.pixels, scan.metadata.get("frame", 0))
    notes = []
    while newest is not None and (why := mismatch(newest.annotation, identity, path.name)):
        if not may_set_aside():
            return scan, None, notes
        aside = store.set_aside(newest, "other-scan")
        kept = f"it is kept as {aside.name}" if aside else "it is kept unchanged"
        notes.append(f"The saved measurement of {path.name} does not belong to this scan "
                     f"({why}): {kept}, unused.")
        newest = store.newest()
    return scan, newest.annotation if newest else None, notes


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _kept(found: Found, store: SidecarStore) -> str:
    places = store.places_to_save()
    where = f"saved as {places[0].name}" if places else "not saved"
    why = str(found.error).removeprefix(f"{found.path}: ")  # the name is said already
    return (f"The saved measurement {found.path.name} could not be read by this version of "
            f"fetalview ({why}). It is kept unchanged; measurements made here are {where}.")
