"""One association with a PACS under a deadline that holds whatever the peer does.

pynetdicom's own timeouts wait on a queue, not on the socket: a peer that answers the
association request with a PDU header and then trickles a byte every few seconds keeps its
reader thread in ``recv`` for ever, and ``Association.kill()`` waits on that thread. So each
operation runs in a thread of its own with a socket timeout on the transport (a silent peer
ends there) and an overall deadline: when it passes, the socket is shut down (which frees the
reader), and a thread still not done after a short grace is abandoned (a daemon), never waited
on. The failure says in words what the peer did: nothing listening, a connection accepted but
never answered, an association refused (by which side's AE title), or answers that stopped.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import TypeVar

from pynetdicom import AE, evt

from fetalview.core.io.safetext import printable
from fetalview.core.pacs.node import PacsNode, check_ae_title

#: Longest silence of the peer before a read gives up (seconds).
DEFAULT_TIMEOUT_S = 10.0
#: Longest an echo, a search or a store of one scan's results may take in all (seconds).
DEFAULT_DEADLINE_S = 60.0
#: A thread still running this long after its socket was shut down is abandoned.
GRACE_S = 2.0

T = TypeVar("T")
#: Control characters (ESC, BEL, ...) in a PACS's text would drive the user's terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class PacsError(Exception):
    """The PACS could not do what was asked; the message is for the user."""


class PacsUnreachable(PacsError):
    """The node itself did not work (nothing listening, no answer, answers stopped): trying it
    again in the same run would only wait again, so a batch stops trying it."""


#: A-ASSOCIATE-RJ (PS3.8 9.3.4): (source, reason) -> what the PACS refused, in words.
_REJECTIONS = {
    (1, 2): "does not support the DICOM application context",
    (1, 3): "does not recognise the calling AE title {calling} (fetalview's own title: "
            "add it to the PACS, or correct it in the settings)",
    (1, 7): "does not recognise the called AE title {called} (its own title: check the "
            "PACS AE title in the settings)",
    (2, 2): "does not support the protocol version",
    (3, 1): "is too busy (temporary congestion); try again later",
    (3, 2): "has reached its limit of connections; try again later",
}


class _Line:
    """What the watchdog needs of a running association: its socket, and what happened."""

    def __init__(self):
        self.assoc = None
        self.opened = False
        self.rejection = None  # the A-ASSOCIATE-RJ primitive, when there was one

    def on_open(self, event, timeout: float) -> None:
        self.assoc, self.opened = event.assoc, True
        sock = getattr(event.assoc.dul.socket, "socket", None)
        if sock is not None:  # pynetdicom clears the timeout after connecting
            sock.settimeout(timeout)

    def on_acse(self, event) -> None:
        primitive = event.primitive
        if getattr(primitive, "result", None) in (1, 2):
            self.rejection = primitive

    def cut(self) -> None:
        """Shut the socket down: a reader blocked in ``recv`` returns at once."""
        sock = getattr(getattr(getattr(self.assoc, "dul", None), "socket", None), "socket", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def run_bounded(node: PacsNode, what: str, deadline: float, work: Callable[[_Line], T],
                cancel: threading.Event | None = None) -> T:
    """``work(line)`` in a thread of its own, given up after ``deadline`` seconds or as soon
    as ``cancel`` is set."""
    line, box = _Line(), {}

    def target():
        try:
            box["value"] = work(line)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="fetalview-pacs", daemon=True)
    thread.start()
    end = time.monotonic() + deadline
    while thread.is_alive() and time.monotonic() < end:
        thread.join(min(0.1, max(0.0, end - time.monotonic())))
        if cancel is not None and cancel.is_set() and thread.is_alive():
            line.cut()
            thread.join(GRACE_S)
            raise PacsError(f"{what[0].upper()}{what[1:]} was cancelled; nothing was kept")
    if thread.is_alive():
        line.cut()
        thread.join(GRACE_S)  # if it still runs, it is abandoned: a daemon, never joined again
        if not line.opened:
            raise PacsUnreachable(f"{node} did not accept a connection within {deadline:g} s "
                                  "(is it running, and are host and port right?)")
        if line.assoc is None or not line.assoc.is_established:
            raise PacsUnreachable(f"{node} accepted the connection but did not answer the "
                                  f"association request within {deadline:g} s")
        raise PacsUnreachable(f"{node} stopped answering: {what} did not finish within "
                              f"{deadline:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


@contextmanager
def association(line: _Line, node: PacsNode, calling_aet: str,
                contexts: Iterable[tuple[str, tuple]], timeout: float, roles=(), handlers=()):
    """An established association (released on leaving), or PacsError saying why not."""
    calling = check_ae_title(calling_aet)
    ae = AE(ae_title=calling)
    for attr in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, attr, timeout)
    for abstract, syntaxes in contexts:
        ae.add_requested_context(abstract, list(syntaxes))
    handlers = [*handlers, (evt.EVT_CONN_OPEN, lambda e: line.on_open(e, timeout)),
                (evt.EVT_ACSE_RECV, line.on_acse)]
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, ext_neg=list(roles),
                         evt_handlers=handlers)
    line.assoc = assoc
    if not assoc.is_established:
        raise _not_established(node, calling, line)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


def _not_established(node: PacsNode, calling: str, line: _Line) -> PacsError:
    rj = line.rejection
    if rj is not None:
        source, reason = int(rj.result_source or 0), int(rj.diagnostic or 0)
        said = _REJECTIONS.get((source, reason))
        if said is None:
            said = f"refused the association (source {source}, reason {reason})"
        else:
            said = "refused the association: it " + said.format(calling=calling,
                                                                 called=node.ae_title)
        return PacsError(f"{node} {said}")
    if line.opened:
        return PacsUnreachable(f"{node} accepted the connection but did not answer the "
                               "association request (timed out, or it closed the connection)")
    return PacsUnreachable(f"{node} cannot be reached (nothing accepted the connection: is it "
                           "running, and are host and port right?)")


def status_problem(status, node: PacsNode, what: str, pending_ok: bool = False) -> str | None:
    """None when a DIMSE status says success (or warning, or pending), else why not."""
    if status is None or "Status" not in status:
        return f"{node} did not answer {what} (timed out or connection lost)"
    code = int(status.Status)
    if code == 0x0000 or (code & 0xF000) == 0xB000:  # success, or done with a warning
        return None
    if pending_ok and code in (0xFF00, 0xFF01):
        return None
    comment = peer_text(status.get("ErrorComment", ""))
    return f"{node} refused {what} (status 0x{code:04X}{': ' + comment if comment else ''})"


def peer_text(value) -> str:
    """Text the PACS sent, fit to show or print: control characters become U+FFFD."""
    return _CONTROL.sub("\ufffd", printable(str(value or "").strip()))


def check_status(status, node: PacsNode, what: str, pending_ok: bool = False) -> None:
    problem = status_problem(status, node, what, pending_ok)
    if problem is not None:
        raise (PacsUnreachable if status is None or "Status" not in status
               else PacsError)(problem)
