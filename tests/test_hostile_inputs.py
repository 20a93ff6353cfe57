"""Whatever a clinic's archive holds, fetalview says what is wrong and loses no work.

A corpus of bad inputs is generated here (no downloads): damaged and odd images, DICOM files
without pixels or with a broken calibration, sidecars that are not what they claim, weights that
are truncated, pickled or for another network. Each must give a clear message through the
loaders and through ``fetalview measure`` (the batch goes on, nothing crashes, no half-written
file). Then simulated faults: CUDA failing mid-run, a full disk or a read-only folder during the
batch's export, and a process killed while writing results.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fetalview.bundled import default_weights, sample_scans_dir
from fetalview.cli import main as fetalview
from fetalview.core import batch, sidecar
from fetalview.core.batch import CSV_COLUMNS, OutputError, Outputs, PixelSizeBook, run_batch
from fetalview.core.imageio import MIN_SIDE, Scan, ScanLoadError, load_scan
from fetalview.core.model import ModelConfig, ResidualUNet
from fetalview.core.segmenter import Segmenter
from fetalview.core.sidecar import SidecarError, read_sidecar
from fetalview.core.weights import WeightsError, check_against_card, load_model, save_weights

from dicomfiles import gradient, make_dicom, region

GOOD_SAMPLE = sample_scans_dir() / "050_HC.png"


# --- the corpus ------------------------------------------------------------------------------

def _encoded(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (valid CRC) over a few bytes of data:
    what a decompression bomb looks like before anything is decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = b"IDAT" + zlib.compress(b"\0" * 64)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + struct.pack(">I", len(idat) - 4) + idat
            + struct.pack(">I", zlib.crc32(idat)) + b"\0\0\0\0IEND\xaeB`\x82")


def _scan_like(mode: str = "L", size=(96, 64)) -> Image.Image:
    ramp = np.tile(np.linspace(0, 255, size[0], dtype=np.uint8), (size[1], 1))
    return Image.fromarray(ramp).convert(mode)


def unreadable_scans() -> dict[str, bytes]:
    """File name -> content, for files that must be refused with a ScanLoadError."""
    png = _encoded(_scan_like(), "PNG")
    jpg = _encoded(_scan_like(), "JPEG")
    tif = _encoded(_scan_like(), "TIFF")
    rng = np.random.default_rng(5)
    flipped = bytearray(png)
    flipped[60:80] = bytes(20)  # zeroed compressed data: the CRC no longer matches
    return {
        "empty.png": b"", "empty.jpg": b"", "empty.tif": b"", "empty.dcm": b"",
        "truncated.png": png[: len(png) // 2], "truncated.jpg": jpg[: len(jpg) // 2],
        "truncated.tif": tif[: len(tif) // 3], "signature_only.png": png[:8],
        "header_only.png": png[:33], "damaged_data.png": bytes(flipped),
        "one_pixel.png": _encoded(Image.new("L", (1, 1)), "PNG"),
        "thin_strip.png": _encoded(Image.new("L", (4000, 3)), "PNG"),
        "huge_header.png": _png_with_size(30000, 30000),
        "text.png": b"this is not an image\n", "notes.jpg": b"Patient notes: ...\n" * 20,
        "page.tif": b"<html><body>Not found</body></html>",
        "random.png": rng.bytes(4096), "random.jpeg": rng.bytes(4096),
        "random.dcm": rng.bytes(4096), "archive.png": b"PK\x03\x04" + rng.bytes(200),
        "dicom_preamble_only.dcm": bytes(128) + b"DICM",
    }


def readable_oddities() -> dict[str, bytes]:
    """Odd but valid images: they load, as 8-bit grayscale, whatever their format or name."""
    deep = np.tile(np.linspace(0, 4095, 96).astype(np.uint16), (64, 1))
    nan_float = np.full((64, 96), np.nan, np.float32)
    nan_float[:, :48] = 3.5
    return {
        "sixteen_bit.png": _encoded(Image.fromarray(deep), "PNG"),
        "rgba.png": _encoded(_scan_like("RGBA"), "PNG"),
        "palette.png": _encoded(_scan_like("P"), "PNG"),
        "cmyk.jpg": _encoded(_scan_like("CMYK"), "JPEG"),
        "gray_alpha.png": _encoded(_scan_like("LA"), "PNG"),
        "bilevel.png": _encoded(_scan_like("1"), "PNG"),
        "float_nan.tif": _encoded(Image.fromarray(nan_float), "TIFF"),
        "png_named.jpg": _encoded(_scan_like(), "PNG"),
        "jpeg_named.tif": _encoded(_scan_like(), "JPEG"),
        "png_as.tif": _encoded(_scan_like(), "PNG"),
        "gif_named.png": _encoded(_scan_like("P"), "GIF"),
        "black.png": _encoded(Image.new("L", (96, 64)), "PNG"),
    }


def write_corpus(folder: Path) -> tuple[list[Path], list[Path]]:
    """The unreadable and the odd-but-readable scans, DICOM cases included, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    bad = [folder / name for name in unreadable_scans()]
    for path, data in zip(bad, unreadable_scans().values()):
        path.write_bytes(data)
    bad.append(make_dicom(folder / "no_pixels.dcm", gradient(), with_pixels=False))
    bad.append(make_dicom(folder / "broken_calibration.dcm", gradient(),
                          regions=[region(0, 0, 63, 47, delta_cm=-0.01)]))
    whole = make_dicom(folder / "whole.dcm", gradient()).read_bytes()
    (folder / "whole.dcm").unlink()
    bad.append(folder / "truncated.dcm")
    bad[-1].write_bytes(whole[: len(whole) - 1500])
    odd = [folder / name for name in readable_oddities()]
    for path, data in zip(odd, readable_oddities().values()):
        path.write_bytes(data)
    return bad, odd


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
    # One whole PNG per measured scan, nothing for the refused ones, no temporary files.
    measured = {Path(n).stem + ".png" for n, r in rows.items() if r["semi_axis_a_px"]}
    for written in (masks, overlays):
        assert {p.name for p in written.iterdir()} == measured
        for png in written.iterdir():
            with Image.open(png) as im:
                im.load()
    assert not [p for p in folder.iterdir() if ".tmp" in p.name]


def _read_csv(path: Path) -> list[dict[str, str]]:
    import csv
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0]) == CSV_COLUMNS
    return rows


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
    rows = {r["filename"]: r["status"] for r in _read_csv(out)}
    assert rows["pipe.png"].startswith("error: ") and rows[GOOD_SAMPLE.name] == "ok"


# --- weights ---------------------------------------------------------------------------------

def bad_weights(folder: Path) -> dict[str, Path]:
    """Weights files that must be refused with a WeightsError, by what is wrong with them."""
    folder.mkdir(parents=True, exist_ok=True)
    good = default_weights().read_bytes()
    files = {
        "truncated": good[: len(good) // 2],
        "header_only": good[:200],
        "empty": b"",
        "random": np.random.default_rng(1).bytes(5000),
        "huge_header_length": struct.pack("<Q", 2**62) + b"{}",
        "json_not_header": struct.pack("<Q", 2) + b"[]",
        "json_nested_deep": struct.pack("<Q", 200_000) + b"[" * 100_000 + b"]" * 100_000,
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / f"{name}.safetensors"
        paths[name].write_bytes(data)
    paths["pickle"] = folder / "pickle.safetensors"
    torch.save(ResidualUNet(ModelConfig(base_width=4, depth=2)).state_dict(), paths["pickle"])
    paths["pickle_pt"] = folder / "model.pt"
    paths["pickle_pt"].write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    # A fetalview header over the tensors of another network.
    from safetensors.torch import save_file
    paths["other_architecture"] = folder / "other.safetensors"
    save_file({"conv.weight": torch.zeros(8, 1, 3, 3)}, str(paths["other_architecture"]),
              metadata={"format": "fetalview-resunet-1",
                        "config": json.dumps(ModelConfig(base_width=4, depth=2).as_dict())})
    for name, config in (("oversized", ModelConfig(base_width=1024, depth=8)),
                         ("absurd_depth", ModelConfig(depth=10**9))):
        paths[name] = folder / f"{name}.safetensors"
        save_file({"w": torch.zeros(2)}, str(paths[name]),
                  metadata={"format": "fetalview-resunet-1", "config": json.dumps(config.as_dict())})
    paths["foreign_safetensors"] = folder / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(paths["foreign_safetensors"]))
    paths["bad_config"] = folder / "bad_config.safetensors"
    save_file({"w": torch.zeros(2)}, str(paths["bad_config"]),
              metadata={"format": "fetalview-resunet-1", "config": '{"depth": "deep"}'})
    return paths


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


def test_tampered_bundled_weights_fail_the_model_card_check(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    shutil.copytree(default_weights().parent, folder)
    weights = folder / default_weights().name
    assert check_against_card(weights)  # the bundled pair agrees
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF  # one weight changed: still loads, measures differently
    weights.write_bytes(bytes(data))
    load_model(weights)
    with pytest.raises(WeightsError, match="model card"):
        check_against_card(weights)
    monkeypatch.setattr("fetalview.core.segmenter.default_weights", lambda: weights)
    with pytest.raises(WeightsError, match="model card"):
        Segmenter(device="cpu")


# --- sidecars --------------------------------------------------------------------------------

def bad_sidecars() -> dict[str, bytes]:
    good = {"format": "fetalview-sidecar", "version": 1, "scan": "a.png", "edited": True,
            "ellipse": {"cx": 50, "cy": 40, "a": 30, "b": 20, "angle_deg": 10},
            "auto_ellipse": None}
    def variant(**changes):
        d = {**good, **changes}
        return json.dumps({k: v for k, v in d.items() if v != "<drop>"}).encode()
    return {
        "invalid_json": b'{"format": "fetalview-sidecar", ', "empty": b"",
        "binary": bytes(range(256)), "a_list": b"[1, 2, 3]", "utf16": "{}".encode("utf-16"),
        "missing_ellipse": variant(ellipse="<drop>"), "missing_scan": variant(scan="<drop>"),
        "edited_as_text": variant(edited="yes"), "scan_as_number": variant(scan=7),
        "negative_axis": variant(ellipse={**good["ellipse"], "a": -3}),
        "ellipse_as_list": variant(ellipse=[1, 2, 3]),
        "confidence_too_high": variant(confidence=7.5),
        "nan_confidence": variant(confidence=float("nan")),
        "future_version": variant(version=99), "other_format": variant(format="labelme"),
        "bad_timestamp": variant(saved_at="yesterday"),
        "pixel_size_as_text": variant(pixel_size="0.1 mm"),
        "axis_beyond_float": variant(ellipse={**good["ellipse"], "a": 1.25}).replace(b"1.25",
                                                                                      b"1e999"),
        "frame_of_5000_digits": variant(frame=0).replace(b'"frame": 0', b'"frame": ' + b"9" * 5000),
        "nested_deep": b"[" * 100_000 + b"]" * 100_000,
    }


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
    original = bytearray(_encoded(_scan_like(), data.draw(st.sampled_from(["PNG", "JPEG",
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

def test_cuda_failure_mid_run_falls_back_to_the_cpu(segmenter, monkeypatch):
    pixels = load_scan(GOOD_SAMPLE).pixels
    expected = segmenter.segment(pixels).ellipse
    seg = Segmenter(device="cpu")
    seg.device = torch.device("cuda")  # pretend: the next forward fails as CUDA would
    real_forward = seg._forward
    calls = []

    def fails_once(batch):
        calls.append(seg.device.type)
        if seg.device.type == "cuda":
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real_forward(batch)

    monkeypatch.setattr(seg, "_forward", fails_once)
    rows = run_batch([GOOD_SAMPLE, GOOD_SAMPLE], seg, PixelSizeBook(), Outputs())
    assert calls == ["cuda", "cpu", "cpu"]
    assert seg.device.type == "cpu" and "illegal memory access" in seg.fallback_reason
    assert [r["status"] for r in rows] == ["ok", "ok"] or all(r["center_x_px"] for r in rows)
    assert abs(float(rows[0]["center_x_px"]) - expected.cx) < 1e-3


def _previous_results(path: Path) -> bytes:
    data = b"filename,status\nprevious.png,ok\n"
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("fault", ["replace", "fsync", "mkstemp"])
def test_full_disk_or_read_only_folder_keeps_the_previous_results(segmenter, tmp_path,
                                                                  monkeypatch, fault):
    out, submission = tmp_path / "out.csv", tmp_path / "hc18.csv"
    before = _previous_results(out)
    submission.write_bytes(before)

    def broken(*args, **kwargs):
        if fault == "mkstemp":
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))
        raise OSError(errno.ENOSPC, "No space left on device")

    target = {"replace": sidecar.os, "fsync": sidecar.os, "mkstemp": sidecar.tempfile}[fault]
    monkeypatch.setattr(target, fault, broken)
    with pytest.raises(OutputError) as info:
        run_batch([GOOD_SAMPLE], segmenter, PixelSizeBook(0.1),
                  Outputs(csv=out, hc18_submission=submission))
    assert "out.csv" in str(info.value)
    assert info.value.rows[0]["hc_mm"]  # the measurement is kept, to be saved elsewhere
    assert out.read_bytes() == before and submission.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hc18.csv", "out.csv"]


def test_full_disk_through_the_batch_command(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out.csv"
    before = _previous_results(out)
    monkeypatch.setattr(sidecar.os, "replace",
                        lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
    code = fetalview(["measure", str(GOOD_SAMPLE), "--out", str(out), "--masks",
                      str(tmp_path / "masks"), "--pixel-size", "0.1", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 1 and "No space left" in captured.err and "Traceback" not in captured.err
    assert out.read_bytes() == before
    assert GOOD_SAMPLE.name in captured.out  # the results are not lost: they went to stdout
    assert list((tmp_path / "masks").iterdir()) == []


def test_unwritable_mask_folder_keeps_the_measurement(segmenter, tmp_path, monkeypatch):
    monkeypatch.setattr(sidecar.tempfile, "mkstemp", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied")))
    masks = tmp_path / "masks"
    row, = run_batch([GOOD_SAMPLE], segmenter, PixelSizeBook(0.1), Outputs(masks=masks))
    assert row["hc_mm"] and "Permission denied" in row["status"]
    assert list(masks.iterdir()) == []


KILL_WRITER = """
import sys
from pathlib import Path
from fetalview.core.batch import CSV_COLUMNS, write_results_csv
path = Path(sys.argv[1])
rows = [[{c: f"{tag}{i}" for c in CSV_COLUMNS} for i in range(20000)] for tag in "ab"]
print("ready", flush=True)
n = 0
while True:
    write_results_csv(rows[n % 2], path)
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
