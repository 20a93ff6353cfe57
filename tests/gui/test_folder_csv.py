"""The folder CSV export: scans no one checked in this session are checked against their pixels
in the worker thread before the CSV is written, and a stale saved measurement never reaches it."""

import csv
import os
import shutil
import sys
import threading

import cv2
import pytest

import fetalview.gui.document as document_module
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.io.scans import load_scan
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.sidecar import Annotation, identity_of, sidecar_path
from fetalview.core.record.sidecar_store import save_annotation
from fetalview.gui.export import SET_ASIDE_STATUS

from .conftest import SAMPLES, open_and_wait, open_folder

FIGURES = ("pixel_size_mm", "center_x_px", "semi_axis_a_px", "hc_mm", "bpd_mm", "ofd_mm",
           "cephalic_index", "edited")


def _measured_folder(tmp_path, settings):
    """Three real scans, each with a clinician's saved measurement (in mm) of its own pixels;
    then scan2 is replaced by other pixels: its saved measurement is stale."""
    folder = tmp_path / "real"
    folder.mkdir()
    paths = [folder / f"scan{i}.png" for i in range(3)]
    for name, path in zip(("050_HC.png", "249_HC.png", "673_HC.png"), paths):
        shutil.copy(SAMPLES / name, path)
        save_annotation(path, Annotation(path.name, Ellipse(400, 270, 150, 115, 12), edited=True,
                                         pixel_size=PixelSize(0.12, "typed by user"),
                                         identity=identity_of(load_scan(path).pixels)),
                        settings.data_dir)
    cv2.imwrite(str(paths[2]), cv2.flip(cv2.imread(str(paths[2]), cv2.IMREAD_GRAYSCALE), 1))
    return paths


def test_a_scan_replaced_after_its_measurement_is_exported_unmeasured_checked_off_the_gui_thread(
        qtbot, window, settings, tmp_path, monkeypatch):
    """The queue is cancelled (another scan opened) before it reaches scan1 and scan2; the CSV
    export checks those two in the worker thread (scan0, open, is not decoded again): scan1's
    HC is exported, scan2's stale one is not (its row says why, its sidecar is set aside,
    renamed, not deleted). Opening another scan while the checks run does not lose the
    export."""
    paths = _measured_folder(tmp_path, settings)
    stale = sidecar_path(paths[2]).read_bytes()
    other = tmp_path / "other" / "elsewhere.png"
    other.parent.mkdir()
    shutil.copy(SAMPLES / "796_2HC.png", other)
    opened = []
    window.session.listed.connect(  # the user opens another scan at once: the queue stops
        lambda folder: opened or opened.append(window.session.open_paths([other])))
    open_folder(qtbot, window, paths[0].parent)
    open_and_wait(qtbot, window, other)
    assert not window.session.known_result(paths[2])[0]  # the queue never reached it

    decoded = []
    real_load_scan = document_module.load_scan
    monkeypatch.setattr(document_module, "load_scan", lambda path, **kw: (
        decoded.append((path, threading.current_thread())), real_load_scan(path, **kw))[1])
    progress = []
    window.csv_export.progress.connect(lambda done, total: progress.append((done, total)))
    out = tmp_path / "exports" / "measurements.csv"
    out.parent.mkdir()
    assert window.export_csv(out)
    assert not out.exists() and window.csv_label.text() == "Checking scans for the export: 0 of 2"
    window.session.open_paths([SAMPLES / "050_HC.png"])  # cancels the queue, not the export
    qtbot.waitUntil(out.exists, timeout=20000)

    checked = [(p, thread) for p, thread in decoded if p.parent == paths[0].parent]
    assert sorted(p for p, _ in checked) == paths[1:]
    assert all(thread is not threading.main_thread() for _, thread in checked)
    assert progress[:2] == [(0, 2), (1, 2)] and progress[-1] == (0, 0)
    assert window.csv_label.text() == ""
    with open(out, newline="", encoding="utf-8") as f:
        rows = {r["filename"]: r for r in csv.DictReader(f)}
    # two folders listed: each name is relative to the folder holding both
    assert set(rows) == {"real/scan0.png", "real/scan1.png", "real/scan2.png",
                         "other/elsewhere.png"}
    measured_hc = rows["real/scan1.png"]["hc_mm"]
    assert measured_hc and rows["real/scan0.png"]["hc_mm"] == measured_hc  # same ellipse, size
    replaced = rows["real/scan2.png"]
    assert all(replaced[c] == "" for c in FIGURES), replaced
    assert replaced["status"] == SET_ASIDE_STATUS and replaced["review"] == "not measured"
    assert measured_hc not in ",".join(replaced.values())
    assert not sidecar_path(paths[2]).exists()
    aside, = paths[2].parent.glob("scan2.png.fetalview.other-scan-*.json")
    assert aside.read_bytes() == stale
    assert window.session.states[paths[2]] == "not measured"
    assert "scan2.png" in window.message_bar.text and "other pixels" in window.message_bar.text


def test_every_listed_scan_has_its_row_measured_or_not(qtbot, window, tmp_path):
    """A scan not measured and a file that cannot be read are in the CSV with their state and no
    figure: nothing listed goes missing from the spreadsheet unsaid."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("050_HC.png", "249_HC.png", "samples_pixel_size_and_HC.csv"):
        shutil.copy(SAMPLES / name, folder / name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 200)
    window.settings.segment_on_open = False  # nothing is measured until asked
    open_folder(qtbot, window, folder)
    window.session.go_to(folder / "249_HC.png")
    qtbot.waitUntil(lambda: window.session.current is not None
                    and window.session.current.path.name == "249_HC.png")
    window.session.segment()
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None, timeout=20000)
    window.session.go_to(folder / "broken.png")
    qtbot.waitUntil(lambda: window.session.states.get(folder / "broken.png") == "unreadable")
    out = tmp_path / "measurements.csv"
    said = []
    window.statusBar().messageChanged.connect(said.append)
    assert window.export_csv(out)
    qtbot.waitUntil(out.exists, timeout=20000)
    assert any(f"Saved 1 measured scans to {out}, and 2 listed without a measurement" in text
               for text in said), said
    with open(out, newline="", encoding="utf-8") as f:
        rows = {r["filename"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"050_HC.png", "249_HC.png", "broken.png"}
    assert rows["249_HC.png"]["hc_mm"] and rows["249_HC.png"]["status"] == "ok"
    for name, state in (("050_HC.png", "not measured"), ("broken.png", "unreadable")):
        assert rows[name]["review"] == state and rows[name]["status"] == state, rows[name]
        assert all(rows[name][c] == "" for c in FIGURES), rows[name]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="names are bytes on Linux only")
def test_each_row_names_its_own_file_even_x_png_in_two_folders(qtbot, window, tmp_path):
    """Issue 20, red-team 7: two x.png in two listed folders were one name twice in the CSV, a
    Latin-1 name got a replacement character and an ESC in a name reached the CSV raw. Each
    name is now the path relative to the folder holding the listed scans, its non-UTF-8 bytes
    and hidden characters written \\xNN (README, the filename column)."""
    names = ["a/x.png", "b/x.png", os.fsdecode(b"b/caf\xe9.png"), "b/e\x1b[2Jx.png"]
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(SAMPLES / "050_HC.png", tmp_path / name)
    open_folder(qtbot, window, tmp_path / "a")
    open_folder(qtbot, window, tmp_path / "b")
    qtbot.waitUntil(lambda: all(window.session.known_result(tmp_path / n)[1] is not None
                                for n in names), timeout=20000)
    out = tmp_path / "measurements.csv"
    assert window.export_csv(out)
    qtbot.waitUntil(out.exists, timeout=20000)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["filename"] for r in rows) == [
        "a/x.png", "b/caf\\xe9.png", "b/e\\x1b[2Jx.png", "b/x.png"]
    assert all(r["center_x_px"] for r in rows) and b"\x1b" not in out.read_bytes()
