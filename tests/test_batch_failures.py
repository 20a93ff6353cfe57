"""``fetalview measure`` when its outputs fail: a full disk (small tmpfs mounts, as root), a
read-only folder, a link planted in an output folder during the run, leftovers of killed runs,
and its own DICOM outputs with long headers. Asked-for outputs that were not written fail the
run; measured rows are never lost; nothing is written through a link in an output folder.

The model runs once (one sample scan, copied); every scan of these batches returns that result.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import io
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pydicom
import pytest

from fetalview.bundled import sample_scans_dir
from fetalview.cli import main as fetalview
from fetalview.core.batch import CSV_COLUMNS, Outputs, PixelSizeBook, measure_batch, plan_batch
from fetalview.core.io import outputs
from fetalview.core.io.ownfiles import is_own_output
from fetalview.core.io.scans import list_scans

GOOD_SAMPLE = sample_scans_dir() / "050_HC.png"


class _Once:
    """The segmenter's answer for the sample scan, computed once and given for every scan."""

    def __init__(self, segmenter):
        self.segmenter, self.answer = segmenter, None
        self.model_version, self.device_label = segmenter.model_version, segmenter.device_label
        self.fallback_reason = None

    def segment(self, pixels, pixel_size=None, regions=None):
        if self.answer is None:
            self.answer = self.segmenter.segment(pixels, pixel_size, regions)
        return self.answer


@pytest.fixture
def model(segmenter, monkeypatch):
    once = _Once(segmenter)
    monkeypatch.setattr("fetalview.core.model.segmenter.Segmenter", lambda *a, **k: once)
    return once


@contextmanager
def _tmpfs(path: Path, options: str):
    if os.geteuid() != 0:
        pytest.skip("a small disk needs a tmpfs mount, which needs root")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _scans(folder: Path, n: int, name: str = "{:03d}_HC.png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shutil.copy(GOOD_SAMPLE, folder / name.format(i))
    return folder


def _rows(data: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data)))


# --- item 5: a full disk mid-batch ------------------------------------------------------------

def test_a_full_disk_mid_batch_keeps_whole_rows_and_prints_every_row(model, tmp_path, capsys):
    """The CSV once crashed (ENOSPC raised again while abandoning the file), printed no rows
    and left half a row in the .partial file."""
    long_name = "{:03d}_" + "x" * 80 + "_HC.png"
    scans = _scans(tmp_path / "scans", 40, long_name)
    with _tmpfs(tmp_path / "disk", "size=4k") as disk:  # one page: the header and ~20 rows
        code = fetalview(["measure", str(scans), "--out", str(disk / "r.csv"),
                          "--pixel-size", "0.1", "--device", "cpu"])
        captured = capsys.readouterr()
        partial = (disk / "r.csv.partial").read_text()
        assert not (disk / "r.csv").exists()
    assert code == 1 and "Traceback" not in captured.err
    assert "the disk is full" in captured.err and "r.csv.partial" in captured.err
    printed = _rows(captured.out)
    assert [r["filename"] for r in printed] == [long_name.format(i) for i in range(40)]
    assert all(r["hc_mm"] for r in printed)
    kept = _rows(partial)
    assert partial.endswith("\n") and 5 < len(kept) < 40
    assert all(list(r) == CSV_COLUMNS and r["status"] == "ok" for r in kept)  # whole rows only


# --- item 8: outputs asked for and not written fail the run -----------------------------------

def test_a_full_disk_leaves_no_sr_without_its_sc_and_fails_the_run(model, tmp_path, capsys):
    """19 of 20 scans' outputs once failed with exit code 0, one SR left without its SC."""
    with _tmpfs(tmp_path / "disk", "size=64k") as disk:  # an SR fits, its image does not
        code = fetalview(["measure", str(GOOD_SAMPLE), "--pixel-size", "0.1", "--dicom-out",
                          str(disk), "--patient-id", "P-1", "--out", str(tmp_path / "r.csv"),
                          "--device", "cpu"])
        left = sorted(p.name for p in disk.iterdir())
    err = capsys.readouterr().err
    assert code == 1 and left == []  # neither the SR nor the SC, nor a temporary file
    assert "could not be written" in err
    row, = _rows((tmp_path / "r.csv").read_text())
    assert row["hc_mm"] and "--dicom-out: the disk is full" in row["status"]


@pytest.mark.parametrize("send", [False, True])
def test_a_read_only_dicom_folder_fails_the_run(model, tmp_path, capsys, send):
    """Once "results of 0 scans sent" and exit code 0."""
    from orthancserver import free_port
    stopped = ["--send", f"ORTHANC@127.0.0.1:{free_port()}"] if send else []
    with _tmpfs(tmp_path / "ro", "ro,size=64k") as read_only:
        code = fetalview(["measure", str(GOOD_SAMPLE), "--pixel-size", "0.1", "--dicom-out",
                          str(read_only), "--patient-id", "P-1", "--out", str(tmp_path / "r.csv"),
                          "--device", "cpu", *stopped])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    row, = _rows((tmp_path / "r.csv").read_text())
    assert row["hc_mm"] and "--dicom-out: the disk is read-only" in row["status"]
    assert ("not sent" in row["status"]) == send


def test_an_unwritten_overlay_does_not_stop_the_other_outputs(model, tmp_path, monkeypatch):
    real = outputs._place

    def overlays_fail(files, check=None):
        if "overlay" in files[0][0].name:
            raise PermissionError(errno.EACCES, "Permission denied")
        real(files, check)

    monkeypatch.setattr(outputs, "_place", overlays_fail)
    code = fetalview(["measure", str(GOOD_SAMPLE), "--pixel-size", "0.1", "--overlays",
                      str(tmp_path / "o"), "--masks", str(tmp_path / "m"), "--dicom-out",
                      str(tmp_path / "d"), "--out", str(tmp_path / "r.csv"), "--device", "cpu"])
    assert code == 1
    assert list((tmp_path / "o").iterdir()) == []
    assert len(list((tmp_path / "m").iterdir())) == 1 and len(list((tmp_path / "d").iterdir())) == 2
    row, = _rows((tmp_path / "r.csv").read_text())
    assert "--overlays: Permission denied" in row["status"]


# --- item 7: links planted in an output folder ------------------------------------------------

def _overlay_name(stem: str) -> str:
    return outputs.output_name(stem, "overlay", ".png")


@pytest.mark.parametrize("victim_kind", ["scan", "own overlay"])
def test_a_link_planted_during_the_batch_is_never_written_through(model, tmp_path, victim_kind):
    """After planning, ``ln -s ../victim/patient_scan.png OUT/001_HC_fetalview_overlay.png``
    once made the batch overwrite the victim (or another patient's overlay)."""
    scans = _scans(tmp_path / "scans", 3)
    out, victims = tmp_path / "out", tmp_path / "victim"
    victims.mkdir()
    if victim_kind == "scan":
        victim = victims / "patient_scan.png"
        shutil.copy(GOOD_SAMPLE, victim)
    else:
        victim = victims / _overlay_name("other_patient")
        victim.write_bytes(_own_png())
        assert is_own_output(victim)
    before = victim.read_bytes()
    batch = plan_batch([scans], PixelSizeBook(0.1), Outputs(overlays=out))
    link = out / _overlay_name("001_HC")
    link.symlink_to(Path("..") / "victim" / victim.name)
    rows = measure_batch(batch, model)
    assert victim.read_bytes() == before
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "victim" / victim.name)
    assert "symbolic link" in rows[1]["status"] and rows[1]["hc_mm"]
    assert [r["status"] for r in rows[::2]] == ["ok", "ok"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        _overlay_name(f"00{i}_HC") for i in range(3))  # no temporary file stays


def _own_png() -> bytes:
    from fetalview.core.io.ownfiles import mark_png
    return mark_png(GOOD_SAMPLE.read_bytes(), "overlay")


def test_a_link_to_another_patients_overlay_is_refused_when_planned(model, tmp_path, capsys):
    victim = tmp_path / _overlay_name("other_patient")
    victim.write_bytes(_own_png())
    out = tmp_path / "out"
    out.mkdir()
    (out / _overlay_name("050_HC")).symlink_to(victim)
    code = fetalview(["measure", str(GOOD_SAMPLE), "--overlays", str(out), "--device", "cpu"])
    assert code == 2 and "symbolic link" in capsys.readouterr().err
    assert victim.read_bytes() == _own_png()


def test_a_file_planted_at_an_output_name_during_the_batch_is_left_alone(model, tmp_path):
    scans = _scans(tmp_path / "scans", 1)
    out = tmp_path / "out"
    batch = plan_batch([scans], PixelSizeBook(0.1), Outputs(overlays=out))
    planted = out / _overlay_name("000_HC")
    shutil.copy(GOOD_SAMPLE, planted)  # a scan, not fetalview's
    row, = measure_batch(batch, model)
    assert planted.read_bytes() == GOOD_SAMPLE.read_bytes() and "did not write" in row["status"]


# --- item 14: leftovers of earlier runs -------------------------------------------------------

def test_leftover_partial_files_are_named_when_a_run_starts(model, tmp_path, capsys):
    for name in ("r.csv.partial", "r.csv.3.partial"):
        (tmp_path / name).write_text("filename\nold.png\n")
    assert fetalview(["measure", str(GOOD_SAMPLE), "--out", str(tmp_path / "r.csv"),
                      "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "r.csv.partial, r.csv.3.partial beside" in err and "they are kept" in err
    assert "this run writes " in err and "r.csv.2.partial" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "r.csv", "r.csv.3.partial", "r.csv.partial"]


def test_only_certainly_stale_temporary_files_are_removed(model, tmp_path, capsys):
    """kill -9 leaves ``.<name>.<random>.tmp``: a later run removes its own output names'
    temporaries once they are old and unlocked, and nothing else."""
    out = tmp_path / "out"
    out.mkdir()
    name = _overlay_name("050_HC")
    old = time.time() - 2 * outputs.STALE_TEMPORARY_SECONDS
    stale, young, locked = (out / f".{name}.{tag}.tmp" for tag in ("abcd1234", "young123",
                                                                    "locked12"))
    other = out / ".someone_else.png.abcd1234.tmp"  # not a name this run writes
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"keep")
    link = out / f".{name}.link1234.tmp"
    link.symlink_to(victim)
    for path in (stale, young, locked, other):
        path.write_bytes(b"half")
    for path in (stale, locked, other):
        os.utime(path, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    with open(locked, "rb") as holder:  # a writer that is still alive
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert fetalview(["measure", str(GOOD_SAMPLE), "--pixel-size", "0.1", "--overlays",
                          str(out), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "removed 1 temporary files left by a fetalview run that was killed" in err
    assert not stale.exists()
    assert all(p.exists() or p.is_symlink() for p in (young, locked, other, link))
    assert victim.read_bytes() == b"keep"


# --- item 13: fetalview's own DICOM outputs, however long their header ------------------------

def test_own_dicom_outputs_with_long_headers_are_recognised(model, tmp_path, capsys):
    """Only the first 16 kB were once searched for Software Versions: the SC of a scan with long
    headers was listed and measured as a scan, and a second --dicom-out run refused."""
    from dicomfiles import make_dicom
    import cv2
    folder = tmp_path / "scans"
    folder.mkdir()
    make_dicom(folder / "IM0001.dcm", cv2.imread(str(GOOD_SAMPLE), cv2.IMREAD_GRAYSCALE),
               pixel_spacing=[0.06, 0.06])
    argv = ["measure", str(folder), "--dicom-out", str(folder), "--device", "cpu"]
    assert fetalview(argv) == 0
    for suffix in ("_SR.dcm", "_SC.dcm"):  # a scanner's long patient attributes, copied
        path = folder / f"IM0001{suffix}"
        ds = pydicom.dcmread(path)
        ds.PatientComments = "x" * 10240
        ds.add_new(0x00091010, "LO", "long private header")
        ds.add_new(0x00091011, "OB", b"\0" * 30000)
        ds.save_as(path)
        assert is_own_output(path)
    assert [p.name for p in list_scans(folder)] == ["IM0001.dcm"]
    capsys.readouterr()
    assert fetalview(argv) == 0, capsys.readouterr().err
