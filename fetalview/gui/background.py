"""Network and folder work off the GUI thread: one function on Qt's thread pool, its progress
and outcome back as queued signals, so the window never waits for a PACS that is slow or down.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

#: ``progress(done, total, text)``, callable from the job's thread.
Progress = Callable[[int, int, str], None]


class Job(QObject):
    """Runs ``work(progress)`` on the global thread pool once ``start`` is called.

    Its signals arrive on the thread that made the Job (the GUI thread). A failure becomes
    ``failed`` with the exception's text; nothing a job raises ends the app.
    """

    progress = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, work: Callable[[Progress], Any], parent: QObject | None = None):
        super().__init__(parent)
        self._work = work
        self.running = False

    def start(self) -> None:
        self.running = True
        self.finished.connect(self._done)
        self.failed.connect(self._done)
        QThreadPool.globalInstance().start(_Runner(self))

    def _done(self, *_):
        self.running = False


class _Runner(QRunnable):
    def __init__(self, job: Job):
        super().__init__()
        self.job = job

    def run(self) -> None:
        try:
            try:
                result = self.job._work(self.job.progress.emit)
            except Exception as exc:  # noqa: BLE001 - every failure goes to the user
                log.exception("background job failed")
                self.job.failed.emit(str(exc) or type(exc).__name__)
            else:
                self.job.finished.emit(result)
        except RuntimeError:  # the window (and the Job with it) closed while this ran
            log.info("a background job finished after its window closed")
