"""The whole folder measured in the background, so the list, the review queue and the CSV know
every scan as soon as a folder opens, without the user visiting each one.

Order: the scan on screen goes first, through the session's own request; the rest follow in
list order, one job at a time on the segmentation worker (never the GUI thread), and only while
no request for the shown scan waits, so that one waits for at most one background job. A job
does all of a scan's file work in the worker thread: it reads the saved measurement and checks
it was made on the scan's pixels, as opening the scan does (a stale one, of a replaced scan or
a sidecar copied beside another, is set aside and the scan measured afresh, which the user is
told); it runs the model only where nothing is saved, and saves that result as an automatic
(not reviewed) sidecar only where the scan is not open and still has no sidecar at all, as a
new file that never replaces one: a clinician's sidecar, one saved meanwhile by the scan's
open document, or one this version cannot read, is never written. Opening more scans restarts
the queue with them; closing the window cancels what is left.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal

from fetalview.core.io.scans import ScanLoadError
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.sidecar import Annotation, SidecarError, identity_of, mismatch
from fetalview.core.record.sidecar_store import OnDisk, SidecarStore, scan_stamp
from fetalview.gui.document import load_saved, with_pixel_size
from fetalview.core.record.model_result import with_model_result
from fetalview.gui.worker import SegmentationService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What a background job found for one scan."""

    path: Path
    annotation: Annotation | None  # saved (or new, if saving it failed); None: not measured
    problem: str | None = None  # why it could not be measured
    unreadable: bool = False  # the scan itself cannot be read
    note: str | None = None  # a saved measurement set aside, for the user to read
    disk: OnDisk | None = None  # what the scan's files held when this was read or written
    #: Whose scan it is and when, as its file states (``patient_id``, ``exam_date``), read
    #: here so that gathering a patient's serial scans reads no file on the GUI thread.
    fields: dict | None = None


def measure_unvisited(path: Path, fallback_root: Path, segment,
                      folder_pixel_size: PixelSize | None = None,
                      is_open: Callable[[], bool] = lambda: False,
                      automatic_beside: bool = False) -> Outcome:
    """The saved measurement of the scan at ``path`` that belongs to its pixels, else the
    model's (``segment(pixels, dicom_regions)``; None to read saved results only) saved as
    automatic, with the pixel size opening it would give. Runs in the worker thread;
    ``is_open()`` (callable from it) says whether the scan has been opened in the app
    meanwhile: then its document alone sets aside or saves. ``automatic_beside``: the result
    is saved beside the scan, else in ``fallback_root`` (``SidecarStore.save_new``). The
    outcome carries what the files held (``OnDisk``, the scan's stamp taken before it was
    read)."""
    stamp = scan_stamp(path)
    store = SidecarStore(path, fallback_root, automatic_beside)
    outcome = _measure(path, store, fallback_root, segment, folder_pixel_size, is_open)
    return replace(outcome, disk=store.on_disk(stamp))


def _measure(path: Path, store: SidecarStore, fallback_root: Path, segment,
             folder_pixel_size: PixelSize | None, is_open: Callable[[], bool]) -> Outcome:
    try:
        scan, saved, notes = load_saved(path, store, lambda: not is_open())
    except ScanLoadError as exc:
        return Outcome(path, None, problem=str(exc), unreadable=True)
    note = " ".join(notes) or None
    fields = {k: scan.metadata[k] for k in ("patient_id", "exam_date") if k in scan.metadata}
    if saved is not None:
        return Outcome(path, with_pixel_size(saved, scan, folder_pixel_size)[0], note=note,
                       fields=fields)
    if store.found or segment is None:  # a file to keep, or opened meanwhile
        return Outcome(path, None, note=note, fields=fields)
    result = segment(scan.pixels, scan.regions)
    if result.ellipse is None:
        return Outcome(path, None, problem="the model found no head", note=note, fields=fields)
    identity = identity_of(scan.pixels, scan.metadata.get("frame", 0))
    fresh = Annotation(scan=path.name, frame=scan.metadata.get("frame"), identity=identity)
    fresh = with_pixel_size(fresh, scan, folder_pixel_size)[0]
    fresh = with_pixel_size(with_model_result(fresh, result), scan)[0]
    return Outcome(path, _save_new(store, fresh, fallback_root, is_open), note=note,
                   fields=fields)


def _save_new(store: SidecarStore, fresh: Annotation, fallback_root: Path,
              is_open: Callable[[], bool]) -> Annotation | None:
    """Save ``fresh`` where the scan is not open and has no sidecar yet; returns what the
    scan's list entry should show (a measurement saved meanwhile, on these pixels, wins)."""
    if is_open():  # its document measures and saves it
        return fresh
    try:
        saved = store.save_new(fresh)
    except SidecarError:  # unsaved: the scan is measured again when opened
        log.exception("saving the background result of %s failed", store.scan_path)
        return fresh
    if saved is not None:
        return saved.annotation
    newest = SidecarStore(store.scan_path, fallback_root).newest()
    if newest is None or mismatch(newest.annotation, fresh.identity, store.scan_path.name):
        return None
    return newest.annotation


def measure_job(path: Path, fallback_root: Path, device: str, segment: bool,
                folder_pixel_size: PixelSize | None, is_open: Callable[[], bool],
                automatic_beside: bool = False):
    """``measure_unvisited`` as a worker job (``segment`` False: saved results read and
    checked only); whatever it raises becomes the scan's problem."""
    def job(worker) -> Outcome:
        try:
            return measure_unvisited(path, fallback_root,
                                     (lambda px, regions: worker.segmenter(device).segment(px, regions=regions))
                                     if segment else None, folder_pixel_size, is_open,
                                     automatic_beside)
        except Exception as exc:  # any failure is this scan's, never the queue's end
            log.exception("measuring %s in the background failed", path)
            return Outcome(path, None, problem=f"{type(exc).__name__}: {exc}")
    return job


class FolderQueue(QObject):
    """Feeds the worker the listed scans one at a time; ``arrived`` brings each Outcome."""

    arrived = Signal(object)  # Outcome
    progress = Signal(int, int)  # scans done, scans queued; (0, 0) when idle or cancelled

    def __init__(self, service: SegmentationService, is_open: Callable[[Path], bool],
                 folder_pixel_size: Callable[[Path], PixelSize | None],
                 parent: QObject | None = None):
        """``is_open(path)``: whether the app has the scan open (or is opening it); called
        from the worker thread too, so it must only read (a dict or attribute lookup)."""
        super().__init__(parent)
        self.service = service
        self._is_open = is_open
        self._folder_pixel_size = folder_pixel_size
        self._todo: deque[tuple[Path, Path, str, bool, bool]] = deque()
        self._in_flight: Path | None = None
        self._done = self._total = 0
        service.background_done.connect(self._on_done)
        service.returned.connect(self._feed)
        service.errored.connect(self._feed)

    @property
    def running(self) -> bool:
        return self._in_flight is not None or bool(self._todo)

    def add(self, paths: list[Path], fallback_root: Path, device: str, segment: bool,
            automatic_beside: bool = False) -> None:
        """Measure ``paths`` after those queued (a scan open in the app is skipped when its
        turn comes: its document measures and saves it)."""
        self._todo.extend((Path(p), fallback_root, device, segment, automatic_beside)
                          for p in paths)
        self._total += len(paths)
        self.progress.emit(self._done, self._total)
        self._feed()

    def cancel(self) -> None:
        if self.running:
            self.service.cancel_background()
        self._todo.clear()
        self._in_flight = None
        self._done = self._total = 0
        self.progress.emit(0, 0)

    def _feed(self, *_) -> None:
        while self._in_flight is None and self._todo and not self.service.busy:
            path, root, device, segment, beside = self._todo.popleft()
            if self._is_open(path):  # its document measures and saves it
                self._count()
                continue
            self._in_flight = path
            self.service.submit_background(measure_job(path, root, device, segment,
                                                       self._folder_pixel_size(path.parent),
                                                       partial(self._is_open, path), beside))

    def _on_done(self, _generation: int, outcome) -> None:
        if not isinstance(outcome, Outcome) or outcome.path != self._in_flight:  # not ours
            return
        self._in_flight = None
        self.arrived.emit(outcome)
        self._count()
        self._feed()

    def _count(self) -> None:
        self._done += 1
        self.progress.emit(self._done, self._total)
