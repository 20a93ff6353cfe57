"""How a CSV names a scan (issue 20, red-team 7): a Latin-1 name was written with a replacement
character (the row matched no file on disk), two ``x.png`` in two folders were the same row name,
and a raw ESC from a file name reached the CSV. A name is now the scan's path relative to the
folder holding the run's scans, with hidden characters and non-UTF-8 bytes as ``\\xNN`` and a
backslash as ``\\\\``: it reads back to the very bytes of the file's name."""

import csv
import os
import re
import sys

import cv2
import numpy as np
import pytest

from fetalview.core.batch import HC18_COLUMNS, Outputs, PixelSizeBook, run_batch
from fetalview.core.io.safetext import csv_cell, scan_names
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.model.segmentation import Segmentation

bytes_names = pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                                 reason="names are bytes on Linux only")
#: Names as a file system may hold them: Latin-1, ESC, a backslash, a CR, a direction override.
ODD_NAMES = [b"caf\xe9_HC.png", b"e\x1b[2Jx.png", b"back\\x.png", b"cr\rx.png",
             "rlo\u202egnp.png".encode(), "\u00e9t\u00e9.png".encode()]


def read_back(name: str) -> bytes:
    """The documented rule, reversed: ``\\xNN`` is the byte NN, ``\\\\`` a backslash, the rest
    UTF-8."""
    return b"".join(bytes([int(m[1][2:], 16)]) if m[1] else b"\\" if m[2] else m[3].encode()
                    for m in re.finditer(r"(\\x[0-9a-f]{2})|(\\\\)|([^\\]+)", name))


class HeadInTheMiddle:
    model_version = "fake-1"

    def segment(self, pixels, pixel_size=None, regions=()):
        h, w = pixels.shape
        e = Ellipse(w / 2, h / 2, w / 4, w / 5, 10.0)
        return Segmentation(None, e.points(64), e, 0.95, self.model_version, 1.0, pixel_size)


def _scan(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", np.full((120, 160), 90, np.uint8))
    with open(os.fsencode(path), "wb") as f:
        f.write(data.tobytes())
    return path


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@bytes_names
def test_a_name_reads_back_to_the_files_bytes_and_shows_no_hidden_character(tmp_path):
    paths = [tmp_path / os.fsdecode(name) for name in ODD_NAMES]
    names = scan_names(paths)
    assert names[:4] == ["caf\\xe9_HC.png", "e\\x1b[2Jx.png", "back\\\\x.png", "cr\\x0dx.png"]
    assert names[4] == "rlo\\xe2\\x80\\xaegnp.png" and names[5] == "\u00e9t\u00e9.png"
    assert [read_back(n) for n in names] == ODD_NAMES
    assert all(n.isprintable() for n in names)


def test_names_are_relative_to_the_folder_holding_all_the_scans(tmp_path):
    a, b = tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"
    assert scan_names([a, b]) == ["a/x.png", "b/x.png"]
    assert scan_names([a, tmp_path / "a" / "y.png"]) == ["x.png", "y.png"]
    assert scan_names([a, tmp_path / "a" / "DICOM" / "IM1"]) == ["x.png", "DICOM/IM1"]
    assert scan_names([a]) == ["x.png"]


def test_no_csv_cell_holds_a_raw_control_character():
    assert csv_cell("error: cannot read e\x1b[2J.png\n") == "error: cannot read e\\x1b[2J.png\\x0a"
    assert csv_cell("\tTAB.png") == "\\x09TAB.png"  # shown, and no formula either
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("-12.5") == "-12.5"


@bytes_names
def test_the_batch_csv_names_each_scan_so_it_leads_back_to_its_file(tmp_path):
    """Two x.png in two folders given on the command line, a Latin-1 name and an ESC in a
    name: every row names its own file, no raw ESC in the CSV; the HC18 submission keeps the
    challenge's own file names."""
    a, b = _scan(tmp_path / "a" / "x.png"), _scan(tmp_path / "b" / "x.png")
    odd = [_scan(tmp_path / "b" / os.fsdecode(name)) for name in ODD_NAMES[:2]]
    (tmp_path / "b" / os.fsdecode(b"broken\x1b.png")).write_bytes(b"\x89PNG\r\n\x1a\n")
    out, submission = tmp_path / "out.csv", tmp_path / "hc18.csv"
    rows = run_batch([a.parent, b.parent], HeadInTheMiddle(), PixelSizeBook(0.1),
                     Outputs(csv=out, hc18_submission=submission))
    assert [r["filename"] for r in rows] == [
        "a/x.png", "b/broken\\x1b.png", "b/caf\\xe9_HC.png", "b/e\\x1b[2Jx.png", "b/x.png"]
    written = _rows(out)
    assert [r["filename"] for r in written] == [r["filename"] for r in rows]
    assert b"\x1b" not in out.read_bytes() and "\ufffd" not in out.read_text("utf-8")
    assert written[1]["status"].startswith("error") and written[2]["hc_mm"]
    for row, path in zip(written[2:4], odd):  # the row's name leads to the file on disk
        assert read_back(row["filename"]) == os.fsencode(path.relative_to(tmp_path))
    assert [r["filename"] for r in _rows(submission)] == [
        "x.png", "caf\\xe9_HC.png", "e\\x1b[2Jx.png", "x.png"]
    assert list(_rows(submission)[0]) == HC18_COLUMNS


def test_one_folder_keeps_plain_file_names(tmp_path):
    scans = [_scan(tmp_path / "scans" / f"{i:03d}_HC.png") for i in range(2)]
    rows = run_batch([scans[0].parent], HeadInTheMiddle(), PixelSizeBook(0.1), Outputs())
    assert [r["filename"] for r in rows] == ["000_HC.png", "001_HC.png"]
    rows = run_batch([scans[1]], HeadInTheMiddle(), PixelSizeBook(0.1), Outputs())
    assert [r["filename"] for r in rows] == ["001_HC.png"]
