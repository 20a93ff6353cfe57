"""Open from PACS trusts nothing the PACS sends (issue 23 item 6, issue 20 red-team 1): UIDs
are checked before they name a folder or a file, instances of another study or patient are
refused, one SOP Instance UID twice is an error, the counts say what arrived of what was
promised, and a cancel or a limit keeps nothing. Hostile PACSs are small pynetdicom servers."""

import threading

import numpy as np
import pydicom
import pytest
from pydicom.uid import CTImageStorage

from dicomfiles import make_dicom
from fetalview.core.pacs.client import PacsError
from fetalview.core.pacs.node import is_uid
from fetalview.core.pacs.retrieve import Limits, get_study, study_folder
from hostilepeers import hostile_get_scp

STUDY, OTHER = "1.2.826.0.1.3680043.10.1", "1.2.826.0.1.3680043.10.2"


def _instance(tmp_path, sop, study=STUDY, patient="P-1", sop_class=None):
    path = make_dicom(tmp_path / f"src-{len(list(tmp_path.iterdir()))}.dcm",
                      np.full((16, 16), 7, np.uint8))
    ds = pydicom.dcmread(path)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.StudyInstanceUID, ds.PatientID = study, patient
    if sop_class:
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    return ds


@pytest.fixture
def src(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    return folder


def _left_in(cache):
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))


def test_uids_are_checked_as_uids():
    for good in ("1.2.3", "0.1", "1.2.840.10008.1.1", "1." + "2" * 62):
        assert is_uid(good)
    for bad in ("", ".", "..", "1.2.3a", "1.2.3b", "1.2.03", "1..2", "1.2.", "1/2",
                "1." + "2" * 63, "1.2.3.abc/../../etc"):
        assert not is_uid(bad)


@pytest.mark.parametrize("hostile", ["..", ".", "1.2.3a", "1.2.3.abc/../../etc", ""])
def test_a_hostile_study_uid_names_nothing(hostile, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(PacsError, match="not a valid DICOM UID"):
        study_folder(cache, hostile)
    with pytest.raises(PacsError, match="not a valid DICOM UID"):
        get_study(None, hostile, cache)  # refused before any connection
    assert not cache.exists()


def test_instances_of_another_study_or_patient_or_with_a_hostile_uid_are_refused(src, tmp_path):
    sent = [_instance(src, STUDY + ".1"), _instance(src, STUDY + ".2"),
            _instance(src, OTHER + ".1", study=OTHER), _instance(src, STUDY + ".3", patient="P-2"),
            _instance(src, "1.2.a"), _instance(src, "..")]
    cache = tmp_path / "cache"
    with hostile_get_scp(lambda: sent) as node:
        got = get_study(node, STUDY, cache, patient_id="P-1", timeout=5, deadline=20)
    assert [p.name for p in got.saved] == [STUDY + ".1.dcm", STUDY + ".2.dcm"]
    assert _left_in(cache) == [STUDY, f"{STUDY}/{STUDY}.1.dcm", f"{STUDY}/{STUDY}.2.dcm"]
    assert not got.complete
    summary = got.summary()
    assert summary.startswith("Retrieved 2 of 6 instances; refused: ")
    assert f"instance {OTHER}.1, of another study" in summary
    assert f"instance {STUDY}.3, of another patient" in summary
    assert "SOP Instance UID '1.2.a' is not a valid UID" in summary
    assert "SOP Instance UID '..' is not a valid UID" in summary


def test_two_instances_with_one_sop_uid_are_an_error_and_nothing_is_kept(src, tmp_path):
    sent = [_instance(src, STUDY + ".1"), _instance(src, STUDY + ".1")]
    cache = tmp_path / "cache"
    with hostile_get_scp(lambda: sent) as node:
        with pytest.raises(PacsError, match=f"two instances with SOP Instance UID {STUDY}.1"):
            get_study(node, STUDY, cache, timeout=5, deadline=20)
    assert _left_in(cache) == []


def test_a_retrieval_completed_with_failures_says_how_many_of_how_many(src, tmp_path):
    sent = [_instance(src, f"{STUDY}.{i}") for i in range(1, 5)]
    sent += [_instance(src, f"{STUDY}.{i}", sop_class=CTImageStorage) for i in (5, 6)]
    with hostile_get_scp(lambda: sent) as node:
        got = get_study(node, STUDY, tmp_path / "cache", timeout=5, deadline=20)
    assert got.summary() == ("Retrieved 4 of 6 instances (the PACS reported 2 failed). "
                             "4 images to open.")
    assert not got.complete


@pytest.mark.parametrize("limits, said", [(Limits(instances=2), "more than 2 instances"),
                                          (Limits(megabytes=0.001), "larger than 0.001 MB")])
def test_a_limit_stops_the_retrieval_with_a_clear_message_and_keeps_nothing(limits, said, src,
                                                                           tmp_path):
    sent = [_instance(src, f"{STUDY}.{i}") for i in range(1, 5)]
    cache = tmp_path / "cache"
    with hostile_get_scp(lambda: sent) as node:
        with pytest.raises(PacsError, match=f"Retrieval stopped: the study .*{said}.*"
                                            "Nothing was kept"):
            get_study(node, STUDY, cache, limits=limits, timeout=5, deadline=20)
    assert _left_in(cache) == []


def test_cancel_ends_the_retrieval_and_keeps_nothing(src, tmp_path):
    sent = [_instance(src, f"{STUDY}.{i}") for i in range(1, 5)]
    cancel = threading.Event()
    cache = tmp_path / "cache"

    def keep(ds):
        cancel.set()  # the user presses Cancel while the first instance arrives
        return True
    with hostile_get_scp(lambda: sent) as node:
        with pytest.raises(PacsError, match="cancelled.*[Nn]othing was kept"):
            get_study(node, STUDY, cache, keep=keep, cancel=cancel, timeout=5, deadline=20)
    assert _left_in(cache) == []
