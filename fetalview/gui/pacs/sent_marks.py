"""Whether each listed scan was sent to the PACS, shown in its row, with Resend at hand.

A row's third line says "sent 2026-03-15 14:02 CET (UTC+01:00) to ORTHANC@..." while the
scan's result is the one sent (the record of sends, ``core.pacs.sent``, names its digest),
and "changed since sent" once it differs (a contour moved, a confirmation added, another
clinic name): then the PACS holds an older report than the one on screen. While the
annotation is the one sent, that is known without reading the scan; after a change the
result is built again from the scan's files and its digest compared. The row's context
menu sends the scan, or sends it again, through the window's own Send to PACS.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMenu

from fetalview.core.pacs.sent import CHANGED, SentLog, digest_now, fingerprint, standing

log = logging.getLogger(__name__)


class SentMarks(QObject):
    """Keeps each row's "sent" line true to the scan's result now."""

    def __init__(self, window, sent_log: SentLog, organization: Callable[[], str],
                 send: Callable[[Path], None]):
        super().__init__(window)
        self.window, self.session, self.log = window, window.session, sent_log
        self.organization, self.send = organization, send
        self._digests: dict[Path, tuple[str, str]] = {}  # path: (fingerprint, its digest)
        self.session.state_changed.connect(lambda path, _: self.update(path))
        self.session.scans_changed.connect(self._update_all)
        panel = window.folder_panel
        panel.setContextMenuPolicy(Qt.CustomContextMenu)
        panel.customContextMenuRequested.connect(self._menu)

    def _update_all(self) -> None:
        for path in self.session.scans:
            self.update(path)

    def update(self, path: Path) -> None:
        """Show in ``path``'s row whether the PACS holds its result as it is now."""
        send = self.log.latest(path)
        known, annotation = self.session.known_result(path)
        if send is None or not known:  # never sent, or its result not read yet
            self.window.folder_panel.set_mark(path, "")
            return
        where = f"{send.when_text} to {send.node}"
        tip = f"Sent to the PACS {send.node} on {send.when_text}."
        words = CHANGED if annotation is None else standing(send, self._digest(path, annotation))
        if words == CHANGED:
            self.window.folder_panel.set_mark(
                path, f"{CHANGED} ({send.when_text})",
                tip + " The result has changed since: the PACS holds the older report. "
                "Send it again (right-click: Resend to PACS).")
        else:
            self.window.folder_panel.set_mark(path, f"sent {where}",
                                              tip + " The PACS holds this result as shown.")

    def _digest(self, path: Path, annotation) -> str:
        """The digest a send of ``annotation`` would name: the recorded one while it is the
        annotation sent, else built again from the scan (once per change)."""
        mark = fingerprint(annotation)
        send = self.log.latest(path)
        if send is not None and (mark, self.organization()) == (send.annotation,
                                                                 send.organization):
            return send.digest
        if self._digests.get(path, ("",))[0] != mark:
            try:
                digest = digest_now(path, annotation, self.organization())
            except Exception:  # noqa: BLE001 - unreadable now: it cannot be said to be sent
                log.exception("checking %s against its send failed", path)
                digest = ""
            self._digests[path] = (mark, digest)
        return self._digests[path][1]

    def _menu(self, pos) -> None:
        item = self.window.folder_panel.itemAt(pos)
        if item is None:
            return
        path = item.data(Qt.UserRole)
        menu = QMenu(self.window.folder_panel)
        text = "Resend to PACS" if self.log.latest(path) is not None else "Send to PACS"
        menu.addAction(text, lambda: self.send(path))
        menu.exec(self.window.folder_panel.viewport().mapToGlobal(pos))
