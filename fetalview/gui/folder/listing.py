"""Listing folders of scans off the GUI thread.

A folder of thousands of files, or one on a slow network share, takes seconds to list and to
read each scan's saved state from its sidecar; done on the GUI thread that froze the window
(7.3 s for 5,000 files). Here one worker thread lists the folders in the order asked and sends
each folder's scans with their states back through a queued signal.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from fetalview.core.io.scans import list_scans
from fetalview.gui.document import saved_state
from fetalview.gui.worker import start_thread, stop_thread

log = logging.getLogger(__name__)


def list_folder(folder: Path, data_dir: Path) -> tuple[list[tuple[Path, str]], str]:
    """``folder``'s scans, each with its saved state, and a problem to tell ("" when none).
    Never raises: whatever goes wrong is said, and the app goes on."""
    try:
        entries = [(path, saved_state(path, data_dir)) for path in list_scans(folder)]
    except OSError as exc:
        return [], f"Cannot read the folder {folder}: {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - any failure must reach the user, not the thread
        log.exception("listing %s failed", folder)
        return [], f"Cannot list the folder {folder}: {type(exc).__name__}: {exc}"
    return entries, "" if entries else f"{folder} holds no scans fetalview can open."


class _Lister(QObject):
    listed = Signal(object, object, object)  # folder, [(path, state)], problem text

    @Slot(object, object)
    def run(self, folder: Path, data_dir: Path) -> None:
        self.listed.emit(folder, *list_folder(folder, data_dir))


class FolderLister(QObject):
    """The GUI thread's handle: ``request`` a folder, get ``listed`` back."""

    listed = Signal(object, object, object)  # folder, [(path, state)], problem text
    _request = Signal(object, object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._worker = _Lister()
        self._request.connect(self._worker.run)
        self._worker.listed.connect(self.listed)
        self._thread = start_thread("fetalview-folder-listing", self._worker)

    def request(self, folder: Path, data_dir: Path) -> None:
        self._request.emit(folder, data_dir)

    def shutdown(self) -> None:
        """Stop the thread after the folder being listed (folders still queued are dropped)."""
        stop_thread(self._thread)
