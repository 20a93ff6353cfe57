"""Every network operation ends by its deadline whatever the peer does (issue 23 item 4): a
peer that accepts and never answers, one that trickles a byte at a time after a PDU header.
The deadlines are the tests' own, short; the messages say what the peer did, in words."""

import time

import numpy as np
import pydicom
import pytest

from dicomfiles import make_dicom
from fetalview.cli import _Sender
from fetalview.core.pacs.client import PacsError, PacsUnreachable, echo, find_studies, store
from fetalview.core.pacs.retrieve import get_study
from hostilepeers import silent_peer, trickling_peer


@pytest.fixture
def results(tmp_path):
    path = make_dicom(tmp_path / "a.dcm", np.zeros((32, 32), np.uint8))
    ds = pydicom.dcmread(path)
    ds.PatientID = "P-1"
    ds.save_as(path)
    return [path]


def _ends_in(seconds, call):
    start = time.monotonic()
    with pytest.raises(PacsUnreachable) as caught:
        call()
    assert time.monotonic() - start < seconds
    return str(caught.value)


@pytest.mark.parametrize("operation", ["echo", "store", "find", "get"])
def test_a_trickling_peer_cannot_hold_an_operation_past_its_deadline(operation, results,
                                                                     tmp_path):
    with trickling_peer(interval=0.2) as node:  # never silent as long as the socket timeout
        call = {"echo": lambda: echo(node, timeout=5, deadline=1),
                "store": lambda: store(node, results, timeout=5, deadline=1),
                "find": lambda: find_studies(node, timeout=5, deadline=1),
                "get": lambda: get_study(node, "1.2.3", tmp_path, timeout=5, deadline=1)}
        said = _ends_in(4, call[operation])
    assert "accepted the connection but did not answer the association request" in said
    assert list(tmp_path.glob(".incoming-*")) == []  # a failed retrieval leaves nothing


def test_a_silent_peer_is_said_to_have_accepted_and_not_answered(results):
    with silent_peer() as node:
        said = _ends_in(4, lambda: store(node, results, timeout=0.5, deadline=10))
    assert "accepted the connection but did not answer" in said
    assert "nothing accepted the connection" not in said


def test_send_stops_trying_a_node_after_it_failed_once(results, capsys):
    with trickling_peer() as node:
        sender = _Sender(node, "FETALVIEW", timeout=5, deadline=1)
        start = time.monotonic()
        for name in ("a.png", "b.png", "c.png"):
            sender(name, results)
        assert time.monotonic() - start < 4  # one deadline, not three
    err = capsys.readouterr().err
    assert "a.png: not sent: " in err and "accepted the connection but did not answer" in err
    assert "b.png" not in err and sender.not_tried == ["b.png", "c.png"]
    assert f"{node} is not tried again in this run" in err
    assert sender.summary().endswith(f"1 not sent (see above); 2 not tried after {node} failed")


def test_a_store_says_per_instance_what_was_stored_and_what_was_refused(tmp_path):
    """Issue 23 items 11 and 12: the SR stored and the SC refused was reported only as "not
    sent", and the PACS's ErrorComment reached the terminal with its ESC and BEL."""
    from hostilepeers import picky_store_scp
    sr = make_dicom(tmp_path / "r_SR.dcm", np.zeros((8, 8), np.uint8))
    sc = make_dicom(tmp_path / "r_SC.dcm", np.zeros((8, 8), np.uint8))
    for path, modality, sop_class in ((sr, "SR", "1.2.840.10008.5.1.4.1.1.88.33"),
                                      (sc, "OT", "1.2.840.10008.5.1.4.1.1.7")):
        ds = pydicom.dcmread(path)
        ds.Modality, ds.PatientID = modality, "P-1"
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
        ds.save_as(path)
    with picky_store_scp("OT", "disk \x1b[31mfull\x07") as node:
        with pytest.raises(PacsError) as caught:
            store(node, [sr, sc], timeout=5, deadline=10)
    said = str(caught.value)
    assert said.startswith("the report (SR) was stored; the annotated image (SC) was not "
                           f"stored: {node} refused the annotated image (SC) (status 0xA700: ")
    assert "\x1b" not in said and "\x07" not in said and "full" in said
