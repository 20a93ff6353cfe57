"""Misbehaving DICOM peers on loopback, for the network deadlines: one that accepts a
connection and never answers, one that answers the association request with a PDU header and
then trickles a byte at a time (the red-team's hang), and a C-GET server whose answers are
hostile (``hostile_get_scp``)."""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import contextmanager

from fetalview.core.pacs.node import PacsNode


@contextmanager
def _peer(serve):
    """Listen on a loopback port; ``serve(conn, stop)`` runs for each connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conns.append(conn)
            threading.Thread(target=serve, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield PacsNode("HOSTILE", "127.0.0.1", listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in conns:
            conn.close()
        listener.close()


def silent_peer():
    """Accepts every connection, reads what comes, never answers."""
    def serve(conn, stop):
        conn.settimeout(0.1)
        while not stop.is_set():
            try:
                if not conn.recv(4096):
                    return
            except TimeoutError:
                continue
            except OSError:
                return
    return _peer(serve)


def trickling_peer(interval: float = 0.2):
    """Answers with an A-ASSOCIATE-AC header announcing 1000 bytes, then one byte each
    ``interval`` seconds: a reader without an overall deadline waits for ever."""
    def serve(conn, stop):
        try:
            conn.recv(65536)
            conn.sendall(b"\x02\x00" + struct.pack(">L", 1000))
            while not stop.wait(interval):
                conn.sendall(b"\x00")
        except OSError:
            return
    return _peer(serve)


@contextmanager
def hostile_get_scp(instances):
    """A PACS (pynetdicom) that answers any C-GET by sending ``instances()``: other studies'
    instances, hostile UIDs, duplicates, classes the requestor cannot take (failed
    sub-operations, a final 0xB000) are the test's to choose."""
    from pynetdicom import AE, evt, StoragePresentationContexts
    from pynetdicom.sop_class import (StudyRootQueryRetrieveInformationModelGet,
                                      CTImageStorage)

    def on_get(event):
        sent = instances()
        yield len(sent)
        for ds in sent:
            yield 0xFF00, ds

    ae = AE("HOSTILE")
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
    for cx in StoragePresentationContexts:
        if cx.abstract_syntax != CTImageStorage:  # CT is the one the requestor refuses
            ae.add_supported_context(cx.abstract_syntax, scu_role=False, scp_role=True)
    ae.add_supported_context(CTImageStorage, scu_role=False, scp_role=True)
    server = ae.start_server(("127.0.0.1", 0), block=False,
                             evt_handlers=[(evt.EVT_C_GET, on_get)])
    try:
        yield PacsNode("HOSTILE", "127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()


@contextmanager
def picky_store_scp(refuse_modality: str, comment: str):
    """A PACS that stores everything but instances of ``refuse_modality``, which it refuses
    with status 0xA700 and ``comment`` as ErrorComment (control characters and all)."""
    from pydicom.dataset import Dataset
    from pynetdicom import AE, AllStoragePresentationContexts, evt

    def on_store(event):
        if event.dataset.Modality == refuse_modality:
            status = Dataset()
            status.Status, status.ErrorComment = 0xA700, comment
            return status
        return 0x0000

    ae = AE("PICKY")
    ae.supported_contexts = AllStoragePresentationContexts
    server = ae.start_server(("127.0.0.1", 0), block=False,
                             evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        yield PacsNode("PICKY", "127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
