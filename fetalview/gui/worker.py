"""Segmentation off the GUI thread: the model loads lazily in a worker thread and stays there.

The GUI side (``SegmentationService``) only sends requests and receives results through queued
signals, so the window keeps answering while the network runs. Only the newest request
matters (the user sees one scan at a time): the worker skips requests that were superseded
while they waited, and the receiver still checks each result belongs to what is on screen.

Background jobs (``submit_background``: the rest of a folder, see ``folder_queue.py``; the
folder CSV's checks, see ``csv_export.py``) run a Qt-free function in the same thread, so they
share the one loaded model and never touch a scan's files at the same time; each sender sends
one job at a time, so a request for the shown scan waits for at most one job of each.

Every QThread the app starts is made by ``start_thread`` and ended by ``stop_threads``, however
the app ends (window closed, ``app.quit``, an exception, SIGINT/SIGTERM, the interpreter's exit):
Qt aborts the process when a running QThread is destroyed, and the abort loses what the process
had not yet written (its buffered output, a log line).
"""

from __future__ import annotations

import atexit
import logging
import os
from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from fetalview.bundled import default_weights
from fetalview.core.model.card import card_model_version

if TYPE_CHECKING:  # imported in the worker thread: the runtime stays out of the app's start-up
    from fetalview.core.model.segmenter import Segmenter

log = logging.getLogger(__name__)

SegmenterFactory = Callable[[str], "Segmenter"]

#: The threads started and not yet stopped. Held here, not only by their owners: a QThread
#: whose owner was garbage collected while it ran would abort the process.
_THREADS: list[QThread] = []


def start_thread(name: str, worker: QObject) -> QThread:
    """A started thread named ``name`` that ``worker`` lives in, stopped by ``stop_threads``."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    _THREADS.append(thread)
    thread.start()
    return thread


def stop_thread(thread: QThread) -> None:
    """End ``thread``'s event loop and wait until its current work (at most one segmentation,
    one folder's listing) ends."""
    thread.quit()
    thread.wait()
    if thread in _THREADS:
        _THREADS.remove(thread)


def stop_threads() -> None:
    """Stop and join every thread still running (the app's last step, whatever ended it)."""
    for thread in list(_THREADS):
        stop_thread(thread)


# At the interpreter's exit too, before the modules' globals (the application object among
# them) go: registered after PySide6's own clean-up, so it runs before it.
atexit.register(stop_threads)


def default_factory(device: str) -> Segmenter:
    """The bundled model on ``device``; on the CPU it leaves one core to the GUI so it stays
    fluid.

    An explicit "cuda" without a usable GPU falls back to the CPU instead of failing: the
    Segmenter already does that for CUDA failures at load and run time.
    """
    from fetalview.core.model.segmenter import Segmenter

    threads = max(1, (os.cpu_count() or 2) - 1)
    try:
        return Segmenter(device=device, threads=threads)
    except RuntimeError as exc:
        if device != "cuda":
            raise
        segmenter = Segmenter(device="cpu", threads=threads)
        segmenter.fallback_reason = f"{exc}; using the CPU"
        return segmenter


class _Worker(QObject):
    """Lives in the worker thread; owns the Segmenter and never touches widgets."""

    returned = Signal(int, object)  # request id, Segmentation
    errored = Signal(int, str)
    started = Signal(int, str)  # request id, what is happening (for the status bar)
    device_ready = Signal(str, str, str)  # device label, fallback reason ("" if none), model
    preloaded = Signal()
    background_done = Signal(object, object)  # job generation (None: never cancelled), result

    def __init__(self, factory: SegmenterFactory, is_current: Callable[[int], bool],
                 is_live: Callable[[int], bool]):
        super().__init__()
        self._factory = factory
        self._is_current = is_current
        self._is_live = is_live
        self._segmenter: Segmenter | None = None
        self._device: str | None = None

    def _ensure_segmenter(self, request_id: int, device: str) -> Segmenter:
        if self._segmenter is None or self._device != device:
            self.started.emit(request_id, "loading the model")
            self._segmenter = None
            self._segmenter = self._factory(device)
            self._device = device
            self.device_ready.emit(self._segmenter.device_label,
                                   self._segmenter.fallback_reason or "",
                                   self._segmenter.model_version)
        return self._segmenter

    @Slot(str)
    def preload(self, device: str) -> None:
        """Load the model ahead of the first request; a failure is reported by that request."""
        try:
            self._ensure_segmenter(0, device)
        except Exception:  # noqa: BLE001 - the first segmentation retries and tells the user
            log.exception("loading the model ahead of time failed")
        self.preloaded.emit()

    def segmenter(self, device: str) -> Segmenter:
        """The loaded model for background jobs (loading it says so in the status bar)."""
        return self._ensure_segmenter(0, device)

    @Slot(object, object)
    def run_background(self, generation: int | None, job: Callable[[_Worker], object]) -> None:
        if not self._is_live(generation):
            return  # cancelled while waiting in the queue
        self.background_done.emit(generation, job(self))

    @Slot(int, object, object, str)
    def run(self, request_id: int, pixels: np.ndarray, regions: tuple, device: str) -> None:
        if not self._is_current(request_id):
            return  # superseded while waiting in the queue
        try:
            segmenter = self._ensure_segmenter(request_id, device)
            reason_before = segmenter.fallback_reason
            self.started.emit(request_id, f"segmenting on {segmenter.device_label}")
            result = segmenter.segment(pixels, regions=regions)
            if segmenter.fallback_reason != reason_before:  # CUDA failed during this run
                self.device_ready.emit(segmenter.device_label, segmenter.fallback_reason or "",
                                       segmenter.model_version)
        except Exception as exc:  # any failure must reach the user, not kill the thread
            log.exception("segmentation failed")
            self.errored.emit(request_id, f"{type(exc).__name__}: {exc}")
            return
        self.returned.emit(request_id, result)


class SegmentationService(QObject):
    """The GUI thread's handle on the worker: submit scans, get results as signals."""

    returned = Signal(int, object)
    errored = Signal(int, str)
    progress = Signal(str)  # a short text for the status bar; "" when idle
    device_ready = Signal(str, str)
    background_done = Signal(object, object)  # generation, the job's result
    _request = Signal(int, object, object, str)
    _preload = Signal(str)
    _background = Signal(object, object)

    def __init__(self, factory: SegmenterFactory | None = None, parent: QObject | None = None):
        super().__init__(parent)
        #: The version of the model this service runs (``Segmentation.model_version``): the
        #: bundled model's, from its card, before it loads; another factory's once it made
        #: its segmenter (None until then).
        self.model_version: str | None = (card_model_version(default_weights()) if factory is None
                                          else None)
        self._latest = 0
        self._pending = False
        self._generation = 0
        self._worker = _Worker(factory or default_factory, lambda rid: rid == self._latest,
                               self._is_live)
        self._request.connect(self._worker.run)
        self._background.connect(self._worker.run_background)
        self._worker.background_done.connect(self._on_background_done)
        self._preload.connect(self._worker.preload)
        self._worker.returned.connect(self._on_returned)
        self._worker.errored.connect(self._on_errored)
        self._worker.started.connect(lambda rid, text: self.progress.emit(text))
        self._worker.device_ready.connect(self._on_device_ready)
        self._worker.preloaded.connect(self._on_preloaded)
        self._thread = start_thread("fetalview-segmentation", self._worker)

    @property
    def busy(self) -> bool:
        """Whether the newest request is still waiting or running."""
        return self._pending

    def preload(self, device: str) -> None:
        """Start loading the model in the worker thread now, so the first scan's contour does
        not wait for it (the app calls this once its window is up)."""
        self._preload.emit(device)

    def submit(self, pixels: np.ndarray, device: str, regions: tuple = ()) -> int:
        """Queue a segmentation (``regions``: a DICOM's calibrated image regions, where the
        model looks); returns its request id. Earlier waiting requests are dropped."""
        self._latest += 1
        self._pending = True
        self.progress.emit("waiting for the model")
        self._request.emit(self._latest, pixels, tuple(regions), device)
        return self._latest

    @property
    def generation(self) -> int:
        """Background jobs of an older generation are cancelled (skipped, results dropped)."""
        return self._generation

    def submit_background(self, job: Callable[[_Worker], object],
                          cancellable: bool = True) -> None:
        """Run ``job(worker)`` in the worker thread; ``background_done`` brings its result.
        A job that is not ``cancellable`` (one the user asked for, e.g. the CSV's checks)
        runs even when another folder's opening cancels the queue's."""
        self._background.emit(self._generation if cancellable else None, job)

    def _is_live(self, generation: int | None) -> bool:
        return generation is None or generation == self._generation

    def cancel_background(self) -> None:
        """Cancel every background job sent so far: a waiting one is skipped, a running one
        finishes (at most one segmentation) and its result is dropped."""
        self._generation += 1

    def _on_background_done(self, generation: int | None, result) -> None:
        if not self._pending:  # a model loaded for a background job said "loading"
            self.progress.emit("")
        if self._is_live(generation):
            self.background_done.emit(generation, result)

    def cancel(self) -> None:
        """Forget the pending request: its result, if one still comes, carries a stale id."""
        self._latest += 1
        self._pending = False
        self.progress.emit("")

    def _on_device_ready(self, label: str, fallback: str, model_version: str) -> None:
        self.model_version = model_version
        self.device_ready.emit(label, fallback)

    def _on_preloaded(self) -> None:
        if not self._pending:  # else the waiting request's own progress stays true
            self.progress.emit("")

    def _on_returned(self, request_id: int, result) -> None:
        if request_id == self._latest:
            self._pending = False
            self.progress.emit("")
        self.returned.emit(request_id, result)

    def _on_errored(self, request_id: int, message: str) -> None:
        if request_id == self._latest:
            self._pending = False
            self.progress.emit("")
        self.errored.emit(request_id, message)

    def shutdown(self) -> None:
        """Stop the thread after the current run (at most one segmentation's time)."""
        self.cancel()
        self.cancel_background()
        stop_thread(self._thread)
