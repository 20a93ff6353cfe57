"""Whatever a clinic's archive holds, fetalview says what is wrong and loses no work.

A corpus of bad inputs is generated (tests/hostilefiles.py, no downloads): damaged and odd images, DICOM files
without pixels or with a broken calibration, sidecars that are not what they claim, weights that
are truncated, pickled or for another network. Each must give a clear message through the
loaders and through ``fetalview measure`` (the batch goes on, nothing crashes, no half-written
file). Then simulated faults: CUDA failing mid-run, a full disk or a read-only folder during the
batch's export, and a process killed while writing results.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import pickle
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fetalview.bundled import default_weights, sample_scans_dir
from fetalview.cli import main as fetalview
from fetalview.core.io import outputs
from fetalview.core.batch import CSV_COLUMNS, OutputError, Outputs, PixelSizeBook, run_batch
from fetalview.core.io.scans import MIN_SIDE, Scan, ScanLoadError, list_scans, load_scan
from fetalview.core.model.card import WeightsError, check_against_card
from fetalview.core.io.outputs import output_name
from fetalview.core.model.segmenter import Segmenter
from fetalview.core.record.sidecar import SidecarError, read_sidecar
from fetalview.core.model.weights import load_model

from hostilefiles import (FORMULA_NAMES, LATIN1_NAME, NOTED, bad_sidecars, bad_weights,
                          dicomdir_folder, encoded, hostile_names, output_mistakes, scan_folder,
                          scan_like, write_corpus)

GOOD_SAMPLE = sample_scans_dir() / "050_HC.png"
# Pillow warns about the damaged TIFF tags it skips; the loader's answer is what is tested.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")


def test_the_corpus_holds_at_least_thirty_bad_inputs(tmp_path):
    bad, odd = write_corpus(tmp_path)
    assert len(bad) + len(odd) + len(bad_sidecars()) + len(bad_weights(tmp_path / "w")) >= 30


# --- scans through the loader and the batch --------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    bad, odd = write_corpus(folder)
    return folder, bad, odd


def test_each_unreadable_scan_says_why(corpus):
    _, bad, _ = corpus
    for path in bad:
        with pytest.raises(ScanLoadError) as info:
            load_scan(path)
        message = str(info.value)
        assert path.name in message, message
        assert "Traceback" not in message and len(message) < 400, message


def test_huge_image_is_refused_before_decoding(corpus, monkeypatch):
    folder, _, _ = corpus
    monkeypatch.setattr(np, "array", lambda *a, **k: pytest.fail("decoded the huge image"))
    with pytest.raises(ScanLoadError, match="too large"):
        load_scan(folder / "huge_header.png")


def test_odd_but_valid_images_load_as_gray(corpus):
    _, _, odd = corpus
    for path in odd:
        scan = load_scan(path)
        assert scan.pixels.dtype == np.uint8 and scan.pixels.shape == (64, 96), path.name
    deep = load_scan(next(p for p in odd if p.name == "sixteen_bit.png")).pixels
    assert deep.max() == 255  # a 12-bit scan in 16 bits is scaled by its own range


def _scan(odd: list[Path], name: str) -> Scan:
    return load_scan(next(p for p in odd if p.name == name))


@pytest.mark.parametrize("name, tolerance", [
    ("exif_rotated.jpg", 4), ("float_zero_to_one.tif", 1), ("sixteen_bit_hot_pixel.png", 2),
    ("thumbnail_first.tif", 0), ("animated.png", 0), ("animation.gif", 0), ("deflated.dcm", 0)])
def test_each_picture_is_read_as_it_should_be_seen(corpus, name, tolerance):
    """EXIF orientation applied, float and 16-bit data scaled by their real range (one hot
    pixel does not darken the scan), the largest TIFF page, the first animation frame, a
    deflated DICOM: each loads as the 96x64 ramp it holds."""
    _, _, odd = corpus
    ramp = np.asarray(scan_like(), np.int16)
    pixels = _scan(odd, name).pixels
    assert np.abs(pixels[1:] - ramp[1:]).max() <= tolerance  # row 0: the hot pixel


def test_exif_rotation_is_said_in_the_description(corpus):
    _, _, odd = corpus
    assert "EXIF orientation" in _scan(odd, "exif_rotated.jpg").description


def test_what_the_user_must_know_about_a_loaded_scan_is_noted(corpus):
    _, _, odd = corpus
    for name, words in NOTED.items():
        scan = _scan(odd, name)
        assert any(words in note for note in scan.notes), (name, scan.notes)
    assert not [p.name for p in odd if p.name not in NOTED and load_scan(p).notes]


def test_an_implausible_calibration_costs_only_the_millimetres(corpus):
    """DICOM Pixel Spacing 150 mm, a region of 50 cm per pixel, a negative one: the scan loads
    in pixels (no other figure of the file is used) and the note says why."""
    _, _, odd = corpus
    for name in ("pixel_spacing_150.dcm", "region_50cm.dcm", "broken_calibration.dcm"):
        scan = _scan(odd, name)
        assert scan.pixel_size is None and scan.regions == (), name
        assert "implausible for ultrasound (0.01 to 2 mm)" in scan.notes[0]


def test_a_dicomdir_is_followed_to_its_images(tmp_path):
    images = dicomdir_folder(tmp_path / "export", [np.asarray(scan_like())] * 2)
    assert list_scans(tmp_path / "export") == images
    assert all(load_scan(p).shape == (64, 96) for p in images)
    with pytest.raises(ScanLoadError, match="DICOMDIR: the index of a DICOM export .2 images"):
        load_scan(tmp_path / "export" / "DICOMDIR")
    (tmp_path / "export" / "DICOMDIR").write_bytes(bytes(128) + b"DICM" + b"\xff" * 40)
    damaged, = list_scans(tmp_path / "export")  # listed itself, so that opening it says why
    with pytest.raises(ScanLoadError, match="DICOMDIR: not a DICOMDIR index"):
        load_scan(damaged)


def test_batch_goes_on_and_reports_every_bad_file(corpus, tmp_path, capsys):
    folder, bad, odd = corpus
    shutil.copy(GOOD_SAMPLE, folder / GOOD_SAMPLE.name)
    out, masks, overlays = tmp_path / "out.csv", tmp_path / "masks", tmp_path / "overlays"
    code = fetalview(["measure", str(folder), "--out", str(out), "--masks", str(masks),
                      "--overlays", str(overlays), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err
    rows = {r["filename"]: r for r in _read_csv(out)}
    assert set(rows) == {p.name for p in bad + odd} | {GOOD_SAMPLE.name}
    for path in bad:
        assert rows[path.name]["status"].startswith("error: "), rows[path.name]
        assert len(rows[path.name]["status"]) > len("error: ") + 10
    assert all(not rows[p.name]["status"].startswith("error") for p in odd)
    assert rows[GOOD_SAMPLE.name]["status"] in ("ok", "low_confidence")
    assert rows[GOOD_SAMPLE.name]["semi_axis_a_px"]
    assert not rows[GOOD_SAMPLE.name]["hc_mm"]  # no pixel size known here: never a guessed mm
    for blank in ("black.png", "uniform_grey.png"):  # nothing to see: no head drawn from noise
        assert rows[blank]["status"] == "no_head" and not rows[blank]["semi_axis_a_px"]
    for name, words in NOTED.items():  # each note reaches the user, naming the file
        assert f"fetalview: {name}: " in err and words in err, name
    # One whole PNG per measured scan, nothing for the refused ones, no temporary files; no
    # overlay of the scan with patient details burned in (no --allow-burned-in).
    measured = {Path(n).stem for n, r in rows.items() if r["semi_axis_a_px"]}
    assert "burned_in" in measured and "burned into its pixels" in err
    for written, role, stems in ((masks, "mask", measured),
                                 (overlays, "overlay", measured - {"burned_in"})):
        assert {p.name for p in written.iterdir()} == {output_name(s, role, ".png")
                                                       for s in stems}
        for png in written.iterdir():
            with Image.open(png) as im:
                im.load()
    assert not [p for p in folder.iterdir() if ".tmp" in p.name]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0]) == CSV_COLUMNS
    return rows


def test_a_blank_frame_has_no_head(segmenter):
    """A uniform frame, or one with only a line of white text on it, holds nothing to measure:
    the network is not asked to find a head in noise."""
    blank = np.full((540, 800), 128, np.uint8)
    captioned = blank.copy()
    captioned[20:30, 40:400] = 255
    for pixels in (blank, captioned, blank.astype(np.uint16) * 200):
        result = segmenter.segment(pixels)
        assert result.status == "no_head" and result.ellipse is None


def test_what_is_not_a_file_is_refused_without_blocking(tmp_path, capsys):
    """A folder or a FIFO named like a scan: the loader refuses it, a folder run skips it, and
    naming it on the command line gives an error row instead of hanging on open()."""
    (tmp_path / "folder.png").mkdir()
    os.mkfifo(tmp_path / "pipe.png")
    for path in (tmp_path / "folder.png", tmp_path / "pipe.png"):
        with pytest.raises(ScanLoadError, match=path.name):
            load_scan(path)
    previous = signal.signal(signal.SIGALRM, lambda *a: pytest.fail("blocked on the FIFO"))
    signal.alarm(120)
    try:
        out = tmp_path / "out.csv"
        code = fetalview(["measure", str(tmp_path / "pipe.png"), str(GOOD_SAMPLE),
                          "--out", str(out), "--device", "cpu"])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert code == 0 and "Traceback" not in capsys.readouterr().err
    from fetalview.core.io.safetext import scan_names
    rows = {r["filename"]: r["status"] for r in _read_csv(out)}
    # named relative to the folder both lie in: / here, /tmp for a checkout under /tmp
    pipe, good = scan_names([tmp_path / "pipe.png", GOOD_SAMPLE])
    assert rows[pipe].startswith("error: ")
    assert rows[good] == "ok"


# --- outputs: never over an input, another output, a link or a device (issue 9) ----------------

def _snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder``: a file's bytes, a link's target, a folder's mark."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        found[key] = (f"-> {os.readlink(path)}" if path.is_symlink() else
                      "<dir>" if path.is_dir() else path.read_bytes())
    return found


def test_an_output_over_an_input_or_another_output_is_refused_before_any_work(
        tmp_path, capsys, monkeypatch):
    from fetalview.core.model import segmenter
    monkeypatch.setattr(segmenter.Segmenter, "__init__",
                        lambda *a, **k: pytest.fail("loaded the model: work began"))
    for i, case in enumerate(output_mistakes(tmp_path / "probe_s", tmp_path / "probe_e")):
        root = tmp_path / str(i)
        scans = scan_folder(root / "scans", GOOD_SAMPLE.read_bytes())
        options = output_mistakes(scans, root / "elsewhere")[case]
        (root / "elsewhere" / "sizes.csv").write_text("filename,pixel size(mm)\n002_HC.png,0.1\n")
        before = _snapshot(root)
        code = fetalview(["measure", str(scans), *options, "--device", "cpu"])
        err = capsys.readouterr().err
        assert code == 2 and "nothing was done" in err and "Traceback" not in err, (case, err)
        assert _snapshot(root) == before, case  # not one file written, replaced or made


def test_outputs_beside_the_scans_replace_nothing_and_are_never_listed_as_scans(tmp_path):
    """``--masks s --overlays s`` once wrote <stem>.png over every scan of s; the DICOM results
    written beside the scans are not measured as scans either."""
    scans = scan_folder(tmp_path / "scans", GOOD_SAMPLE.read_bytes())
    before = _snapshot(scans)
    out = tmp_path / "results.csv"
    for _ in range(2):  # the second run replaces its own outputs and measures only the scan
        assert fetalview(["measure", str(scans), "--masks", str(scans), "--overlays", str(scans),
                          "--dicom-out", str(scans), "--out", str(out), "--device", "cpu"]) == 0
        assert [r["filename"] for r in _read_csv(out)] == ["002_HC.png"]
    after = _snapshot(scans)
    assert {k: after[k] for k in before} == before
    assert set(after) - set(before) == {"002_HC_fetalview_mask.png",
                                        "002_HC_fetalview_overlay.png", "002_HC_SR.dcm",
                                        "002_HC_SC.dcm"}
    (scans / "002_HC_fetalview_mask.png").rename(scans / "renamed.png")  # known by content
    assert list_scans(scans) == [scans / "002_HC.png"]


def test_out_through_a_link_or_into_a_pipe_replaces_neither(tmp_path):
    target = tmp_path / "kept" / "results.csv"
    target.parent.mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert fetalview(["measure", str(GOOD_SAMPLE), "--out", str(link), "--device", "cpu"]) == 0
    assert link.is_symlink() and _read_csv(target)[0]["filename"] == GOOD_SAMPLE.name
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        assert fetalview(["measure", str(GOOD_SAMPLE), "--out", str(fifo), "--device",
                          "cpu"]) == 0
        received = reader.communicate(timeout=60)[0].decode()
    finally:
        reader.kill()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received.startswith("filename,") and GOOD_SAMPLE.name in received


def test_out_naming_the_processes_own_stdout_prints_the_csv(tmp_path):
    """``--out /dev/stdout`` (here by its other name, /proc/self/fd/1: an old build would try to
    replace /dev/stdout itself) prints the CSV instead of replacing anything."""
    done = subprocess.run([sys.executable, "-m", "fetalview", "measure", str(GOOD_SAMPLE),
                           "--out", "/proc/self/fd/1", "--device", "cpu"],
                          capture_output=True, cwd=Path(__file__).parents[1], timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines()[0] == ",".join(CSV_COLUMNS)
    assert GOOD_SAMPLE.name in done.stdout.decode()


def test_names_that_are_not_utf8_or_are_formulas_measure_and_export_as_text(tmp_path, capsys):
    """A Latin-1 byte name once cost the whole batch its CSV (UnicodeEncodeError after
    measuring everything); names starting with = + - @ tab CR went into CSVs as formulas."""
    scans = tmp_path / "scans"
    paths = hostile_names(scans, GOOD_SAMPLE.read_bytes())
    out, submission = tmp_path / "out.csv", tmp_path / "hc18.csv"
    assert fetalview(["measure", str(scans), "--out", str(out), "--hc18-submission",
                      str(submission), "--masks", str(tmp_path / "masks"), "--pixel-size", "0.1",
                      "--device", "cpu"]) == 0
    expected = {"caf\\xe9_HC.png", "\\x09TAB.png", "\\x0dCR.png"} | {
        "'" + name for name in FORMULA_NAMES if name[0] not in "\t\r"}
    rows = _read_csv(out)
    assert {r["filename"] for r in rows} == expected
    assert all(r["hc_mm"] and r["status"] in ("ok", "low_confidence") for r in rows)
    with open(submission, newline="") as f:
        assert {r["filename"] for r in csv.DictReader(f)} == expected
    written = set(os.listdir(os.fsencode(tmp_path / "masks")))
    assert b"caf\xe9_HC_fetalview_mask.png" in written  # the real bytes, not the text
    assert fetalview(["measure", str(scans / LATIN1_NAME), "--device", "cpu"]) == 0  # stdout
    assert "caf\\xe9_HC.png" in capsys.readouterr().out
    assert all(p.read_bytes() == GOOD_SAMPLE.read_bytes() for p in paths)


# --- weights ---------------------------------------------------------------------------------

def test_each_bad_weights_file_is_refused_clearly(tmp_path):
    for what, path in bad_weights(tmp_path).items():
        with pytest.raises(WeightsError) as info:
            load_model(path)
        assert path.name in str(info.value) or "not found" in str(info.value), what


class _Trap:
    """Unpickling this creates ``marker`` (``open(marker, "w")``): proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_a_booby_trapped_pickle_runs_no_code(tmp_path, capsys):
    marker = tmp_path / "code_ran"
    traps = {tmp_path / "trap.safetensors": "torch", tmp_path / "trap.pt": "pickle"}
    for path, how in traps.items():
        if how == "torch":
            torch.save({"conv.weight": _Trap(marker)}, path)
        else:
            path.write_bytes(pickle.dumps(_Trap(marker)))
        with pytest.raises(WeightsError, match=path.name):
            load_model(path)
        with pytest.raises(WeightsError):
            Segmenter(weights=path, device="cpu")
        assert fetalview(["measure", str(GOOD_SAMPLE), "--weights", str(path),
                          "--device", "cpu"]) == 2
    assert not marker.exists()
    assert path.name in capsys.readouterr().err
    pickle.loads(path.read_bytes())  # the trap is live: unpickling does run it
    assert marker.exists()


def test_a_pickle_is_never_unpickled(tmp_path, monkeypatch):
    monkeypatch.setattr(pickle, "loads", lambda *a: pytest.fail("unpickled"))
    monkeypatch.setattr(pickle, "load", lambda *a: pytest.fail("unpickled"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load"))
    with pytest.raises(WeightsError):
        load_model(bad_weights(tmp_path)["pickle"])


def test_bad_weights_through_the_batch_command(tmp_path, capsys):
    for what, path in bad_weights(tmp_path).items():
        out = tmp_path / f"{what}.csv"
        code = fetalview(["measure", str(GOOD_SAMPLE), "--weights", str(path), "--out", str(out),
                          "--device", "cpu"])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err and path.name in err, (what, err)
        assert not out.exists()


@pytest.mark.parametrize("kind", ["safetensors", "onnx"])
def test_tampered_bundled_model_files_fail_the_model_card_check(tmp_path, monkeypatch, kind):
    folder = tmp_path / "weights"
    shutil.copytree(default_weights().parent, folder)
    weights = folder / default_weights().name
    tampered = weights.with_suffix(f".{kind}")
    assert check_against_card(tampered)  # the bundled files agree with their card
    data = bytearray(tampered.read_bytes())
    data[-10 if kind == "safetensors" else len(data) // 2] ^= 0x01  # one weight: still loads
    tampered.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="model card"):
        check_against_card(tampered)
    monkeypatch.setattr("fetalview.core.model.segmenter.default_weights", lambda: weights)
    with pytest.raises(WeightsError, match="model card"):
        Segmenter(device="cpu", backend="torch" if kind == "safetensors" else "auto")
    Segmenter(weights=tampered, device="cpu")  # a user's own file has no card to answer to


# --- sidecars --------------------------------------------------------------------------------

def test_each_bad_sidecar_is_refused_clearly(tmp_path):
    for what, data in bad_sidecars().items():
        path = tmp_path / f"{what}.png.fetalview.json"
        path.write_bytes(data)
        with pytest.raises(SidecarError) as info:
            read_sidecar(path)
        assert path.name in str(info.value), (what, str(info.value))


# --- property-based: any bytes -> a result or the loader's own error -------------------------

SUFFIXES = st.sampled_from([".png", ".jpg", ".tif", ".bmp", ".dcm", ""])
PREFIXES = st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\0",
                            bytes(128) + b"DICM", b"BM"])
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(prefix=PREFIXES, body=st.binary(max_size=2000), suffix=SUFFIXES)
def test_load_scan_on_any_bytes(tmp_path, prefix, body, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(prefix + body)
    try:
        scan = load_scan(path)
    except ScanLoadError as exc:
        assert str(exc)
    else:
        assert isinstance(scan, Scan) and scan.pixels.dtype == np.uint8
        assert scan.pixels.ndim == 2 and min(scan.pixels.shape) >= MIN_SIDE


@FUZZ
@given(data=st.data())
def test_load_scan_on_damaged_real_files(tmp_path, data):
    original = bytearray(encoded(scan_like(), data.draw(st.sampled_from(["PNG", "JPEG",
                                                                           "TIFF", "BMP"]))))
    for _ in range(data.draw(st.integers(1, 8))):
        original[data.draw(st.integers(0, len(original) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(original)))
    path = tmp_path / "damaged.img"
    path.write_bytes(bytes(original[:cut]))
    try:
        assert load_scan(path).pixels.dtype == np.uint8
    except ScanLoadError:
        pass


@FUZZ
@given(body=st.binary(max_size=600), header=st.one_of(st.none(), st.dictionaries(
    st.text(max_size=8), st.one_of(st.text(max_size=20), st.integers()), max_size=4)))
def test_load_model_on_any_bytes(tmp_path, body, header):
    head = b"" if header is None else json.dumps(header).encode()
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes((struct.pack("<Q", len(head)) + head if header is not None else b"") + body)
    with pytest.raises(WeightsError):
        load_model(path)


JSON = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=12)
ELLIPSE = st.dictionaries(st.sampled_from(["cx", "cy", "a", "b", "angle_deg"]),
                          st.one_of(st.floats(), st.integers(), st.text(max_size=3)))


@FUZZ
@given(data=st.one_of(JSON, st.fixed_dictionaries(
    {"format": st.just("fetalview-sidecar"), "version": st.sampled_from([1, 2, "1"]),
     "scan": JSON, "edited": JSON, "ellipse": st.one_of(st.none(), ELLIPSE, JSON),
     "auto_ellipse": st.one_of(st.none(), ELLIPSE)},
    optional={"confidence": JSON, "pixel_size": JSON, "frame": JSON, "saved_at": JSON,
              "model_version": JSON, "extra": JSON})))
def test_read_sidecar_on_any_json(tmp_path, data):
    path = tmp_path / "x.png.fetalview.json"
    path.write_text(json.dumps(data))
    try:
        annotation = read_sidecar(path)
    except SidecarError as exc:
        assert path.name in str(exc)
    else:
        for e in (annotation.ellipse, annotation.auto_ellipse):
            assert e is None or (e.a > 0 and e.b > 0 and np.isfinite([e.cx, e.cy]).all())


# --- simulated faults ------------------------------------------------------------------------

class _FailingGpu:
    """The model on a GPU whose next run fails as CUDA does (no GPU needed)."""

    device, label = "cuda", "CUDA (pretend)"

    def __init__(self, grid_shape):
        self.grid_shape, self.runs = grid_shape, 0

    def run(self, batch):
        self.runs += 1
        raise RuntimeError("CUDA error: an illegal memory access was encountered")


def test_cuda_failure_mid_run_falls_back_to_the_cpu(segmenter):
    pixels = load_scan(GOOD_SAMPLE).pixels
    expected = segmenter.segment(pixels).ellipse
    seg = Segmenter(device="cpu")
    gpu = seg.backend = _FailingGpu(seg.grid_shape)
    rows = run_batch([GOOD_SAMPLE, GOOD_SAMPLE], seg, PixelSizeBook(), Outputs())
    assert gpu.runs == 1 and seg.backend.device == "cpu"
    assert seg.device_label.startswith("CPU with OpenVINO")
    assert "illegal memory access" in seg.fallback_reason
    assert all(r["center_x_px"] and not r["status"].startswith("error") for r in rows)
    assert abs(float(rows[0]["center_x_px"]) - expected.cx) < 1e-3


def _previous_results(path: Path) -> bytes:
    data = b"filename,status\nprevious.png,ok\n"
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("fault", ["replace", "fsync"])
def test_full_disk_keeps_the_previous_results_and_every_row(segmenter, tmp_path, monkeypatch,
                                                            fault):
    out, submission = tmp_path / "out.csv", tmp_path / "hc18.csv"
    before = _previous_results(out)
    submission.write_bytes(before)
    monkeypatch.setattr(outputs.os, fault, lambda *a, **k: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(OutputError) as info:
        run_batch([GOOD_SAMPLE], segmenter, PixelSizeBook(0.1),
                  Outputs(csv=out, hc18_submission=submission))
    assert "out.csv" in str(info.value) and "out.csv.partial" in str(info.value)
    assert info.value.rows[0]["hc_mm"]  # the measurement is kept, to be saved elsewhere
    assert out.read_bytes() == before and submission.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hc18.csv", "hc18.csv.partial", "out.csv", "out.csv.partial"]
    assert GOOD_SAMPLE.name in (tmp_path / "out.csv.partial").read_text()


def test_a_read_only_results_folder_is_refused_before_measuring(segmenter, tmp_path,
                                                                 monkeypatch):
    out = tmp_path / "out.csv"
    before = _previous_results(out)
    real_open = os.open

    def read_only(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(outputs.os, "open", read_only)
    monkeypatch.setattr(segmenter, "segment", lambda *a: pytest.fail("measured"))
    with pytest.raises(OutputError, match="Permission denied.*nothing was measured"):
        run_batch([GOOD_SAMPLE], segmenter, PixelSizeBook(0.1), Outputs(csv=out))
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_full_disk_through_the_batch_command(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out.csv"
    before = _previous_results(out)
    monkeypatch.setattr(outputs.os, "replace",
                        lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
    code = fetalview(["measure", str(GOOD_SAMPLE), "--out", str(out), "--masks",
                      str(tmp_path / "masks"), "--pixel-size", "0.1", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 1 and "No space left" in captured.err and "Traceback" not in captured.err
    assert out.read_bytes() == before
    assert GOOD_SAMPLE.name in captured.out  # the results are not lost: they went to stdout
    assert list((tmp_path / "masks").iterdir()) == []


def test_unwritable_mask_folder_keeps_the_measurement(segmenter, tmp_path, monkeypatch):
    monkeypatch.setattr(outputs.tempfile, "mkstemp", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied")))
    masks = tmp_path / "masks"
    row, = run_batch([GOOD_SAMPLE], segmenter, PixelSizeBook(0.1), Outputs(masks=masks))
    assert row["hc_mm"] and "Permission denied" in row["status"]
    assert list(masks.iterdir()) == []


KILL_WRITER = """
import sys
from pathlib import Path
from fetalview.core.batch import CSV_COLUMNS
from fetalview.core.io.outputs import write_atomic
from fetalview.core.io.safetext import csv_table
path = Path(sys.argv[1])
rows = [[{c: f"{tag}{i}" for c in CSV_COLUMNS} for i in range(20000)] for tag in "ab"]
print("ready", flush=True)
n = 0
while True:
    write_atomic(path, csv_table(CSV_COLUMNS, rows[n % 2]))
    n += 1
"""


def test_killed_during_a_results_write_leaves_old_or_new(tmp_path):
    """SIGKILL at random moments of a loop of large atomic CSV writes: the file is always one
    whole version (20000 rows of a or of b), never a mix or a torn tail."""
    path = tmp_path / "out.csv"
    rng = np.random.default_rng(0)
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", KILL_WRITER, str(path)],
                                stdout=subprocess.PIPE, cwd=Path(__file__).parents[1])
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(float(rng.uniform(0.2, 0.8)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        rows = _read_csv(path)
        assert len(rows) == 20000
        tags = {r["filename"][0] for r in rows}
        assert tags in ({"a"}, {"b"}) and rows[-1]["status"][1:] == "19999"


def test_a_killed_batch_keeps_the_rows_it_measured(tmp_path):
    """SIGKILL in the middle of a real batch of many small scans: the rows measured so far are
    in results.csv.partial, each whole; the previous results.csv is untouched."""
    scans = tmp_path / "scans"
    scans.mkdir()
    png = encoded(scan_like(), "PNG")
    for i in range(300):
        (scans / f"{i:03d}_HC.png").write_bytes(png)
    out = tmp_path / "results.csv"
    before = _previous_results(out)
    partial = tmp_path / "results.csv.partial"
    proc = subprocess.Popen([sys.executable, "-m", "fetalview", "measure", str(scans), "--out",
                             str(out), "--pixel-size", "0.1", "--device", "cpu"],
                            stderr=subprocess.DEVNULL, cwd=Path(__file__).parents[1])
    try:
        deadline = time.monotonic() + 240
        while not (partial.exists() and partial.read_bytes().count(b"\n") >= 4):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert out.read_bytes() == before
    rows = _read_csv(partial)
    assert 3 <= len(rows) < 300
    assert [r["filename"] for r in rows] == [f"{i:03d}_HC.png" for i in range(len(rows))]
    assert all(r["status"] for r in rows)  # every row whole, up to its last column


def test_the_apps_csv_export_writes_odd_names_as_text(tmp_path):
    """The app's folder export makes its cells as the batch does (one core helper)."""
    from fetalview.core.measure.geometry import Ellipse
    from fetalview.core.measure.pixelsize import PixelSize
    from fetalview.core.io.safetext import scan_names
    from fetalview.core.record.sidecar import Annotation
    from fetalview.core.results.tables import export_row
    from fetalview.core.record.result import build_result
    from fetalview.gui.export import save_csv
    ellipse = Ellipse(50, 40, 30, 20, -10)  # a negative angle stays a number
    names = scan_names([tmp_path / name for name in [LATIN1_NAME] + FORMULA_NAMES])
    rows = [export_row(build_result(name, Annotation(
        name, ellipse, ellipse, edited=True, confidence=0.9, pixel_size=PixelSize(0.1, "test")), None))
            for name in names]
    out = tmp_path / "export.csv"
    assert save_csv(rows, out) == len(rows)
    with open(out, newline="", encoding="utf-8") as f:
        read = list(csv.DictReader(f))
    assert [r["filename"] for r in read] == (["caf\\xe9_HC.png"]  # the file's byte, not U+FFFD
                                             + ["'" + n for n in FORMULA_NAMES[:4]]
                                             + ["\\x09TAB.png", "\\x0dCR.png"])
    assert all(r["angle_deg"] == "-10.000" and r["hc_mm"] for r in read)


def test_two_writers_of_one_report_never_share_a_temporary_file(tmp_path):
    """Two batches with the same --reports once shared X.pdf.tmp: one moved the other's
    half-written report away, which then failed. A writer's own temporary file is never
    another's."""
    from fetalview.core.measure.geometry import Ellipse
    from fetalview.core.measure.pixelsize import PixelSize
    from fetalview.core.record.result import build_result
    from fetalview.core.record.sidecar import Annotation
    from fetalview.report.pdf import write_report
    path = tmp_path / "scan_fetalview_report.pdf"
    others = tmp_path / (path.name + ".tmp")
    others.write_bytes(b"%PDF- another batch's report, half written")
    ellipse = Ellipse(50, 40, 30, 20, 10)
    a = Annotation("scan.png", ellipse=ellipse, pixel_size=PixelSize(0.1, "test"),
                   model_version="test")
    write_report(path, build_result("scan.png", a, None), np.zeros((80, 100), np.uint8))
    assert others.read_bytes() == b"%PDF- another batch's report, half written"
    assert path.read_bytes().startswith(b"%PDF") and path.read_bytes().rstrip().endswith(b"%EOF")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, others.name])


def test_a_read_only_output_folder_is_reported_as_not_written(tmp_path, monkeypatch, capsys):
    """The summary once said such results "could not be read"; and the run once ended with
    exit code 0 though the masks asked for were not written."""
    monkeypatch.setattr(outputs.tempfile, "mkstemp", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied")))
    assert fetalview(["measure", str(GOOD_SAMPLE), "--masks", str(tmp_path / "masks"),
                      "--out", str(tmp_path / "out.csv"), "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "could not be written" in err and "could not be read" not in err
    row, = _read_csv(tmp_path / "out.csv")
    assert row["semi_axis_a_px"] and "not written" in row["status"]
