"""The whole folder measured in the background, so the list, the review queue and the CSV know
every scan as soon as a folder opens, without the user visiting each one.

Order: the scan on screen goes first, through the session's own request; the rest follow in
list order, one job at a time on the segmentation worker (never the GUI thread), and only while
no request for the shown scan waits, so that one waits for at most one background job. A job
reads the scan's saved measurement when it has one (never measuring it again), else runs the
model. The GUI thread saves a new result as an automatic (not reviewed) sidecar only when the
scan is not open and still has no sidecar at all: a clinician's sidecar, or one this version
cannot read, is never written. Opening more scans restarts the queue with them; closing the
window cancels what is left.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal

from ..core.imageio import ScanLoadError, load_scan
from ..core.pixelsize import PixelSize
from ..core.sidecar import Annotation, SidecarStore, identity_of, mismatch
from .document import with_model_result, with_pixel_size
from .worker import SegmentationService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What a background job found for one scan."""

    path: Path
    annotation: Annotation | None  # saved, or the model's new result; None: not measured
    new: bool = False  # a model result, not saved yet
    problem: str | None = None  # why it could not be measured
    unreadable: bool = False  # the scan itself cannot be read


def measure_unvisited(path: Path, fallback_root: Path, segment,
                      folder_pixel_size: PixelSize | None = None) -> Outcome:
    """The saved measurement of the scan at ``path``, or the model's (``segment(pixels,
    dicom_regions)``; None to read saved results only), with the pixel size opening it would
    give. Runs in the worker thread; writes nothing."""
    store = SidecarStore(path, fallback_root)
    newest = store.newest()
    frame = (newest.annotation.frame or 0) if newest else 0
    try:
        scan = load_scan(path, frame=frame)
    except ScanLoadError as exc:
        if frame:  # a frame the file lacks: opening the scan sets that sidecar aside
            return Outcome(path, None)
        return Outcome(path, None, problem=str(exc), unreadable=True)
    identity = identity_of(scan.pixels, scan.metadata.get("frame", 0))
    if newest is not None:
        if mismatch(newest.annotation, identity, path.name) is None:
            return Outcome(path, with_pixel_size(newest.annotation, scan, folder_pixel_size)[0])
        return Outcome(path, None)  # another scan's: set aside when the scan is opened
    if store.kept or segment is None:
        return Outcome(path, None)
    result = segment(scan.pixels, scan.regions)
    if result.ellipse is None:
        return Outcome(path, None, problem="the model found no head")
    fresh = Annotation(scan=path.name, frame=scan.metadata.get("frame"), identity=identity)
    fresh = with_pixel_size(fresh, scan, folder_pixel_size)[0]
    return Outcome(path, with_pixel_size(with_model_result(fresh, result), scan)[0], new=True)


def _job(path: Path, fallback_root: Path, device: str, segment: bool,
         folder_pixel_size: PixelSize | None):
    def job(worker) -> Outcome:
        try:
            return measure_unvisited(path, fallback_root,
                                     (lambda px, regions: worker.segmenter(device).segment(px, regions=regions))
                                     if segment else None, folder_pixel_size)
        except Exception as exc:  # any failure is this scan's, never the queue's end
            log.exception("measuring %s in the background failed", path)
            return Outcome(path, None, problem=f"{type(exc).__name__}: {exc}")
    return job


def save_if_new(outcome: Outcome, fallback_root: Path) -> Annotation | None:
    """Save a new automatic result when the scan still has no sidecar at all; returns what
    the scan's list entry should show (someone else's saved measurement wins)."""
    store = SidecarStore(outcome.path, fallback_root)
    if store.found:  # saved meanwhile (another fetalview?), or a file to keep: leave it
        newest = store.newest()
        return newest.annotation if newest else None
    try:
        return store.save(outcome.annotation).annotation
    except Exception:  # noqa: BLE001 - unsaved, the scan is measured again when opened
        log.exception("saving the background result of %s failed", outcome.path)
        return outcome.annotation


class FolderQueue(QObject):
    """Feeds the worker the listed scans one at a time; ``arrived`` brings each Outcome."""

    arrived = Signal(object)  # Outcome
    progress = Signal(int, int)  # scans done, scans queued; (0, 0) when idle or cancelled

    def __init__(self, service: SegmentationService, skip: Callable[[Path], bool],
                 folder_pixel_size: Callable[[Path], PixelSize | None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.service = service
        self._skip = skip
        self._folder_pixel_size = folder_pixel_size
        self._todo: deque[tuple[Path, Path, str, bool]] = deque()
        self._in_flight: Path | None = None
        self._done = self._total = 0
        service.background_done.connect(self._on_done)
        service.returned.connect(self._feed)
        service.errored.connect(self._feed)

    @property
    def running(self) -> bool:
        return self._in_flight is not None or bool(self._todo)

    def add(self, paths: list[Path], fallback_root: Path, device: str, segment: bool) -> None:
        """Measure ``paths`` after those queued (a scan open in the app is skipped when its
        turn comes: its document measures and saves it)."""
        self._todo.extend((Path(p), fallback_root, device, segment) for p in paths)
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
            path, root, device, segment = self._todo.popleft()
            if self._skip(path):  # open: its document measures and saves it
                self._count()
                continue
            self._in_flight = path
            self.service.submit_background(_job(path, root, device, segment,
                                                self._folder_pixel_size(path.parent)))

    def _on_done(self, _generation: int, outcome: Outcome) -> None:
        if outcome.path != self._in_flight:
            return
        self._in_flight = None
        self.arrived.emit(outcome)
        self._count()
        self._feed()

    def _count(self) -> None:
        self._done += 1
        self.progress.emit(self._done, self._total)
