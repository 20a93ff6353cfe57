"""Network and folder work off the GUI thread: one function on a daemon thread of its own, its
progress and outcome back as queued signals, so the window never waits for a PACS that is slow
or down. Not Qt's thread pool: the application waits for the pool's threads when it ends, so a
job stuck on a peer would keep the app from quitting; a daemon thread still running at quit is
abandoned (its work is a network call, whose deadline ends it anyway).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

#: ``progress(done, total, text)``, callable from the job's thread.
Progress = Callable[[int, int, str], None]


class Job(QObject):
    """Runs ``work(progress)`` on a daemon thread once ``start`` is called.

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
        # Connected before anyone else's slots, so they see the job ended: a dialog that
        # enables its buttons when the answer arrives must not find it still "running"
        self.finished.connect(self._done)
        self.failed.connect(self._done)

    def start(self) -> None:
        self.running = True
        threading.Thread(target=_run, args=(self,), name="fetalview-job", daemon=True).start()

    def _done(self, *_):
        self.running = False


def _run(job: Job) -> None:
    try:
        try:
            result = job._work(job.progress.emit)
        except Exception as exc:  # noqa: BLE001 - every failure goes to the user
            log.exception("background job failed")
            job.failed.emit(str(exc) or type(exc).__name__)
        else:
            job.finished.emit(result)
    except RuntimeError:  # the window (and the Job with it) closed while this ran
        log.info("a background job finished after its window closed")
