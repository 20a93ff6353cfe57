"""Measure on arrival without an Orthanc (issue 18, item 1): what is measured, what one
instance gets, the worker that follows the change log (each instance once, across restarts;
a failure logged and the queue goes on), the settings and ``fetalview orthanc-config``.
tests/test_orthanc_plugin.py runs the same inside a real Orthanc."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from dicomfiles import make_dicom
from fetalview.cli import main
from fetalview.orthanc import catchup
from fetalview.orthanc.arrival import NO_PIXEL_SIZE, left_alone, measure_arrival
from fetalview.orthanc.catchup import ArrivalWorker, Change
from fetalview.orthanc.configuration import SettingError, Settings
from test_batch_withheld import FakeSegmenter


def _instance(tmp_path, name="scan.dcm", **fields) -> bytes:
    path = make_dicom(tmp_path / name, np.full((135, 200), 90, np.uint8),
                      pixel_spacing=[0.2, 0.2])
    ds = pydicom.dcmread(path)
    for keyword, value in fields.items():
        setattr(ds, keyword, value)
    ds.save_as(path)
    return path.read_bytes()


def _header(data: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(data))


@pytest.mark.parametrize("fields, why", [
    ({}, None),
    ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7"}, None),  # a capture of an ultrasound
    ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7", "Modality": "OT"},
     "a Secondary Capture of modality OT, not US"),
    ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.2", "Modality": "CT"}, "SOP class 1.2.840"),
    ({"Manufacturer": "fetalview"}, "written by fetalview"),  # our own SC of an ultrasound
])
def test_only_ultrasound_images_of_others_are_measured(tmp_path, fields, why):
    said = left_alone(_header(_instance(tmp_path, **fields)))
    assert said is None if why is None else why in said


def test_a_confident_result_stores_its_sr_and_image_and_measures_the_same_again(tmp_path):
    data = _instance(tmp_path)
    first = measure_arrival(FakeSegmenter(0.99), data)
    assert len(first.store) == 2 and "SR (UNVERIFIED" in first.message
    sr, sc = (_header(d) for d in first.store)
    assert sr.StudyInstanceUID == sc.StudyInstanceUID == _header(data).StudyInstanceUID
    again = measure_arrival(FakeSegmenter(0.99), data)  # after a crash: the same instances
    assert [_header(d).SOPInstanceUID for d in again.store] == [sr.SOPInstanceUID,
                                                                sc.SOPInstanceUID]
    only_sr = measure_arrival(FakeSegmenter(0.99), data, annotated_image=False)
    assert [_header(d).SOPInstanceUID for d in only_sr.store] == [sr.SOPInstanceUID]


def test_a_doubted_uncalibrated_or_unreadable_instance_stores_nothing(tmp_path):
    doubted = measure_arrival(FakeSegmenter(0.36), _instance(tmp_path))
    assert doubted.store == () and "flagged for review" in doubted.message
    path = make_dicom(tmp_path / "plain.dcm", np.full((135, 200), 90, np.uint8))
    uncalibrated = measure_arrival(FakeSegmenter(0.99), path.read_bytes())
    assert uncalibrated.store == () and uncalibrated.message == NO_PIXEL_SIZE
    garbage = measure_arrival(FakeSegmenter(0.99), b"not a DICOM file")
    assert garbage.store == () and "not read as DICOM" in garbage.message


class FakeArchive:
    """Orthanc's change log, storage and global property, in memory."""

    def __init__(self, instances: int, progress: int | None = 0):
        self.log_: list[Change] = [Change(i + 1, "NewInstance", f"in{i + 1}")
                                   for i in range(instances)]
        self.stored: list[bytes] = []
        self.saved, self.lines, self.failing = progress, [], set()

    def changes(self, since, limit):
        after = [c for c in self.log_ if c.seq > since][:limit]
        last = after[-1].seq if after else (self.log_[-1].seq if self.log_ else 0)
        return after, last, len([c for c in self.log_ if c.seq > since]) <= limit

    def last_change(self):
        return self.log_[-1].seq if self.log_ else 0

    def instance(self, resource):
        if resource in self.failing:
            raise OSError("the disk is full")
        return resource.encode()

    def store(self, data):
        self.stored.append(data)
        self.log_.append(Change(len(self.log_) + 1, "NewInstance", "result"))
        return f"r{len(self.stored)}"

    def forward(self, resources):
        raise AssertionError("not asked for")

    def progress(self):
        return self.saved

    def set_progress(self, seq):
        self.saved = seq

    def log(self, text):
        self.lines.append(text)


def _measure(data: bytes):
    from fetalview.orthanc.arrival import Arrival
    if data == b"result":
        return Arrival((), "left alone: written by fetalview")
    return Arrival((b"SR of " + data,), "stored")


class Crash(BaseException):
    """The process killed (SIGKILL, power): nothing after it runs."""


def test_a_crash_between_storing_and_progress_measures_that_instance_again_and_goes_on():
    archive = FakeArchive(5)
    original = archive.store

    def store_then_crash(data):
        original(data)
        if data == b"SR of in2":
            raise Crash
    archive.store = store_then_crash
    with pytest.raises(Crash):
        ArrivalWorker(archive, _measure).catch_up(archive.progress())
    assert archive.saved == 1  # in2's results are stored, its change is not marked handled
    archive.store = original
    restarted = ArrivalWorker(archive, _measure)
    since = restarted.catch_up(restarted._first_position())
    restarted.catch_up(since)  # the results' own changes, read at the next wake
    # in2 measured again gives the same results (same UIDs), which the PACS keeps once
    assert archive.stored == [b"SR of in1", b"SR of in2", b"SR of in2", b"SR of in3",
                              b"SR of in4", b"SR of in5"]
    assert archive.saved == archive.log_[-1].seq  # the results' own changes: left alone
    assert "fetalview: measuring what arrived after change 1" in archive.lines


def test_a_first_start_leaves_what_the_archive_held_before():
    archive = FakeArchive(3, progress=None)
    worker = ArrivalWorker(archive, _measure)
    assert worker.catch_up(worker._first_position()) == 3 and archive.stored == []
    assert "first start" in archive.lines[0]


def test_an_instance_that_keeps_failing_is_logged_and_the_queue_goes_on(monkeypatch):
    monkeypatch.setattr(catchup, "RETRY_S", 0)
    archive = FakeArchive(3)
    archive.failing.add("in2")
    ArrivalWorker(archive, _measure).catch_up(0)
    assert archive.stored == [b"SR of in1", b"SR of in3"]
    assert sum("the disk is full" in line for line in archive.lines) == catchup.TRIES
    assert "no results stored for it, the queue goes on" in archive.lines[catchup.TRIES]


def test_the_worker_thread_measures_on_a_wake_and_stops():
    archive = FakeArchive(0)
    worker = ArrivalWorker(archive, _measure)
    worker.start()
    archive.log_.append(Change(1, "NewInstance", "in1"))
    worker.wake()
    for _ in range(100):
        if archive.stored:
            break
        worker._thread.join(0.05)
    worker.stop()
    assert archive.stored == [b"SR of in1"] and not worker._thread.is_alive()


@pytest.mark.parametrize("section, message", [
    ({"Device": "gpu"}, 'Fetalview.Device is "gpu": one of cpu, cuda, auto'),
    ({"SopClasses": "1.2.3"}, "Fetalview.SopClasses is a list of SOP Class UIDs"),
    ({"StoreAnnotatedImage": "no"}, "Fetalview.StoreAnnotatedImage is true or false"),
    ({"ForwardTo": "pacs"}, 'Fetalview.ForwardTo is "pacs", which is not an entry of '
                            "DicomModalities"),
])
def test_a_setting_that_cannot_be_used_is_said_in_words(section, message):
    with pytest.raises(SettingError, match="^" + message.replace(".", r"\.") + "$"):
        Settings.of({"Fetalview": section})


def test_orthanc_config_prints_a_configuration_for_this_environment(tmp_path, capsys):
    plugin = tmp_path / "libOrthancPython.so"
    plugin.write_bytes(b"")
    assert main(["orthanc-config", "--storage", str(tmp_path / "db"), "--dicom-port", "11112",
                 "--aet", "AI_NODE", "--forward", "PACS@10.0.0.5:104", "--no-annotated-image",
                 "--plugin", str(plugin)]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["Plugins"] == [str(plugin)] and Path(config["PythonScript"]).is_file()
    assert (config["DicomAet"], config["DicomPort"], config["StorageDirectory"]) == \
        ("AI_NODE", 11112, str(tmp_path / "db"))
    assert Path(config["Fetalview"]["Paths"][0]) == Path(__file__).resolve().parents[1]
    settings = Settings.of(config)
    assert settings.forward_to and config["DicomModalities"][settings.forward_to] == \
        ["PACS", "10.0.0.5", 104]
    assert not settings.annotated_image and settings.device == "cpu"


def test_orthanc_config_without_the_python_plugin_says_what_to_install(tmp_path, capsys):
    assert main(["orthanc-config", "--plugin", str(tmp_path / "missing.so")]) == 2
    assert "apt-get install orthanc orthanc-python" in capsys.readouterr().err


def test_fetalview_help_names_orthanc_config(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "fetalview orthanc-config" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["orthanc-config", "--help"])
    out = capsys.readouterr().out
    assert "--storage DIR" in out and "--forward AET@HOST:PORT" in out


def test_a_change_log_that_fails_to_answer_is_read_again(monkeypatch):
    monkeypatch.setattr(catchup, "RETRY_S", 0.01)
    archive = FakeArchive(2)
    answers = iter([OSError("Orthanc is busy")])
    read = archive.changes

    def changes(since, limit):
        failure = next(answers, None)
        if failure:
            raise failure
        return read(since, limit)
    archive.changes = changes
    worker = ArrivalWorker(archive, _measure)
    worker.start()
    for _ in range(100):
        if len(archive.stored) == 2:
            break
        worker._thread.join(0.05)
    worker.stop()
    assert archive.stored == [b"SR of in1", b"SR of in2"]
    assert any("change log failed (OSError: Orthanc is busy)" in line for line in archive.lines)


def test_without_a_model_the_worker_says_so_and_measures_nothing():
    archive = FakeArchive(1)

    def no_model():
        raise RuntimeError("CUDA was asked for but no usable CUDA device is available")
    worker = ArrivalWorker(archive, _measure, prepare=no_model)
    worker.run()
    assert archive.stored == [] and archive.saved == 0  # in1 waits for the next start
    assert "not measuring: the model could not be loaded (RuntimeError: CUDA" in archive.lines[-1]


def test_at_a_first_start_what_arrives_while_the_model_loads_is_measured():
    archive = FakeArchive(2, progress=None)  # two images the archive held before
    worker = ArrivalWorker(archive, _measure, prepare=lambda: archive.log_.append(
        Change(3, "NewInstance", "in3")))  # arrives while the model loads
    worker.start()
    for _ in range(100):
        if archive.stored:
            break
        worker._thread.join(0.05)
    worker.stop()
    assert archive.stored == [b"SR of in3"]
