"""The worker that measures what arrives, off Orthanc's threads, each instance exactly once.

The queue is Orthanc's own change log: a store only wakes the worker (``wake``), which then
reads the changes after the last one it handled, measures each new instance and stores its
results, and only then records that change as handled, in Orthanc itself (``Archive``). So
storing and C-ECHO never wait for the model, what arrives while the worker is busy or Orthanc
is down is caught up from the log, and an instance measured again after a crash (results
stored, progress not yet recorded) gives the same SR and SC UIDs, which Orthanc keeps once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fetalview.orthanc.arrival import Arrival

#: Changes read from the log at a time.
PAGE = 100
#: How often the log is read without a wake (a missed wake costs at most this long).
POLL_S = 2.0
#: Tries at one instance whose reading or storing fails (Orthanc busy, disk full), and the
#: wait before the next: after the last the log says so and the queue goes on without it.
TRIES, RETRY_S = 3, 5.0


@dataclass(frozen=True)
class Change:
    seq: int
    kind: str  # Orthanc's ChangeType, e.g. "NewInstance"
    resource: str  # Orthanc's ID of the instance (or series, study...)


class Archive(Protocol):
    """What the worker needs of Orthanc (``plugin.py`` answers with its REST API)."""

    def changes(self, since: int, limit: int) -> tuple[list[Change], int, bool]:
        """The changes after ``since``, the last sequence number read and whether it was the
        end of the log."""

    def last_change(self) -> int: ...

    def instance(self, resource: str) -> bytes: ...

    def store(self, data: bytes) -> str:
        """Stores a DICOM file; its Orthanc ID."""

    def forward(self, resources: list[str]) -> None:
        """Sends stored instances on to the PACS the settings name."""

    def progress(self) -> int | None:
        """The last change handled, None before the first start."""

    def set_progress(self, seq: int) -> None: ...

    def log(self, text: str) -> None:
        """A line of Orthanc's log, at a level shown by default (one line per instance)."""


class Stopped(Exception):
    """The worker was asked to stop: what it was doing is left for the next start."""


class ArrivalWorker:
    """Follows ``archive``'s change log on a thread of its own, measuring each new instance
    with ``measure`` (the bytes of a DICOM file -> ``Arrival``) and storing the results."""

    def __init__(self, archive: Archive, measure: Callable[[bytes], Arrival],
                 forward: bool = False, prepare: Callable[[], None] | None = None):
        """``prepare`` runs first on the worker's thread (loading the model), so the first
        scan does not wait for it and Orthanc's start does not either."""
        self.archive, self.measure, self.forward = archive, measure, forward
        self.prepare = prepare
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="fetalview-arrival", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something was stored: read the log now (only this runs on Orthanc's thread)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ends the worker after the instance it is measuring (within ``timeout``)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        since, ready = None, self.prepare is None
        while not self._stop.is_set():
            try:
                if since is None:  # first, so what arrives while the model loads is measured
                    since = self._first_position()
                if not ready:
                    if not self._prepared():
                        return
                    ready = True
                self._wake.clear()
                since = self.catch_up(since)
            except Stopped:
                return
            except Exception as exc:  # Orthanc busy or going away: read the log again
                if self._stop.is_set():
                    return
                self.archive.log(f"fetalview: reading Orthanc's change log failed "
                                 f"({type(exc).__name__}: {exc}); tried again in {RETRY_S:g} s")
                since = None  # from the progress noted in Orthanc
                self._stop.wait(RETRY_S)
                continue
            self._wake.wait(POLL_S)

    def _prepared(self) -> bool:
        try:
            self.prepare()
            return True
        except Exception as exc:  # no model: nothing can be measured until it is fixed
            self.archive.log(f"fetalview: not measuring: the model could not be loaded "
                             f"({type(exc).__name__}: {exc}); what arrives is stored, and "
                             "measured once Orthanc is started again with this fixed")
            return False

    def _first_position(self) -> int:
        since = self.archive.progress()
        if since is None:  # a new installation: what the archive held before is left alone
            since = self.archive.last_change()
            self.archive.set_progress(since)
            self.archive.log(f"fetalview: first start: measuring what arrives from now on "
                             f"(changes up to {since} left alone)")
        else:
            self.archive.log(f"fetalview: measuring what arrived after change {since}")
        return since

    def catch_up(self, since: int) -> int:
        """Handles every change after ``since``; the last one handled."""
        while True:
            changes, last, done = self.archive.changes(since, PAGE)
            for change in changes:
                if self._stop.is_set():
                    raise Stopped
                if change.kind == "NewInstance":
                    self._handle_with_retries(change.resource)
                since = change.seq
                self.archive.set_progress(since)
            if not changes and last > since:  # nothing in between (a gap in the log)
                since = last
                self.archive.set_progress(since)
            if done or not changes:
                return since

    def _handle_with_retries(self, resource: str) -> None:
        for attempt in range(1, TRIES + 1):
            try:
                return self._handle(resource)
            except Exception as exc:
                if self._stop.is_set():
                    raise Stopped from exc
                gave_up = attempt == TRIES
                self.archive.log(f"fetalview: instance {resource}: {type(exc).__name__}: {exc}; "
                                 + ("no results stored for it, the queue goes on" if gave_up
                                    else f"tried again in {RETRY_S:g} s"))
                if not gave_up and self._stop.wait(RETRY_S):
                    raise Stopped from exc

    def _handle(self, resource: str) -> None:
        try:
            data = self.archive.instance(resource)
        except KeyError:  # deleted since it arrived: nothing to measure
            self.archive.log(f"fetalview: instance {resource} is gone: not measured")
            return
        arrival = self.measure(data)
        stored = [self.archive.store(data) for data in arrival.store]
        if stored and self.forward:
            self.archive.forward(stored)
        self.archive.log(f"fetalview: instance {resource}: {arrival.message}")
