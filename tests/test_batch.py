"""``fetalview measure`` end to end on real scans, a corrupt file among them."""

import csv
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from fetalview.cli import main
from fetalview.core.batch import CSV_COLUMNS, HC18_COLUMNS, output_stems


@pytest.fixture
def folder(tmp_path, samples_dir):
    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("050_HC.png", "249_HC.png", "samples_pixel_size_and_HC.csv"):
        shutil.copy(samples_dir / name, scans / name)
    (scans / "broken_HC.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return scans


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_measure_folder_with_corrupt_file(folder, tmp_path):
    out = tmp_path / "results.csv"
    code = main(["measure", str(folder), "--out", str(out), "--masks", str(tmp_path / "masks"),
                 "--overlays", str(tmp_path / "overlays"), "--hc18-submission",
                 str(tmp_path / "sub.csv"), "--device", "cpu"])
    assert code == 0
    with open(out, newline="") as f:
        assert next(csv.reader(f)) == CSV_COLUMNS == [
            "filename", "pixel_size_mm", "center_x_px", "center_y_px", "semi_axis_a_px",
            "semi_axis_b_px", "angle_deg", "hc_mm", "bpd_mm", "ofd_mm", "confidence", "status"]
    rows = {r["filename"]: r for r in _read(out)}
    assert rows["broken_HC.png"]["status"].startswith("error:")
    assert rows["broken_HC.png"]["hc_mm"] == ""
    assert float(rows["050_HC.png"]["hc_mm"]) == pytest.approx(67.5, rel=0.03)
    assert float(rows["249_HC.png"]["hc_mm"]) == pytest.approx(166.94, rel=0.03)
    assert rows["249_HC.png"]["status"] == "ok"

    mask = cv2.imread(str(tmp_path / "masks" / "249_HC_fetalview_mask.png"), cv2.IMREAD_UNCHANGED)
    original = cv2.imread(str(folder / "249_HC.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == original.shape and set(np.unique(mask)) == {0, 255}
    overlay = cv2.imread(str(tmp_path / "overlays" / "249_HC_fetalview_overlay.png"))
    h, w = original.shape  # the scan at full size, the caption in a band below it
    assert overlay.shape[1] == w and overlay.shape[0] > h
    same = (overlay[:h] == cv2.cvtColor(original, cv2.COLOR_GRAY2BGR)).all(axis=2)
    assert 0.95 < same.mean() < 1.0  # drawn on, thinly

    sub = _read(tmp_path / "sub.csv")
    assert list(sub[0]) == HC18_COLUMNS and len(sub) == 2
    row = next(r for r in sub if r["filename"] == "249_HC.png")
    ps = float(rows["249_HC.png"]["pixel_size_mm"])
    assert float(row["semi_axes_a_mm"]) == pytest.approx(
        float(rows["249_HC.png"]["semi_axis_a_px"]) * ps, rel=1e-4)


def test_without_pixel_size_no_millimetres_are_reported(samples_dir, tmp_path):
    lone = tmp_path / "lone.png"
    shutil.copy(samples_dir / "050_HC.png", lone)
    out = tmp_path / "r.csv"
    assert main(["measure", str(lone), "--out", str(out), "--device", "cpu"]) == 0
    row = _read(out)[0]
    assert row["pixel_size_mm"] == "" and row["hc_mm"] == "" and row["bpd_mm"] == ""
    assert float(row["semi_axis_a_px"]) > 0


def test_explicit_pixel_size_is_used(samples_dir, tmp_path):
    lone = tmp_path / "lone.png"
    shutil.copy(samples_dir / "050_HC.png", lone)
    out = tmp_path / "r.csv"
    main(["measure", str(lone), "--pixel-size", "0.059113257", "--out", str(out)])
    assert float(_read(out)[0]["hc_mm"]) == pytest.approx(67.5, rel=0.03)


def test_exit_code_is_nonzero_only_when_nothing_could_be_processed(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    assert main(["measure", str(bad), "--out", str(tmp_path / "r.csv")]) == 1
    assert "error" in _read(tmp_path / "r.csv")[0]["status"]


def test_python_dash_m_entry_point(samples_dir, tmp_path):
    out = tmp_path / "r.csv"
    proc = subprocess.run([sys.executable, "-m", "fetalview", "measure",
                           str(samples_dir / "673_HC.png"), "--out", str(out), "--tta"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert float(_read(out)[0]["hc_mm"]) == pytest.approx(213.8, rel=0.03)


def test_exports_of_scans_sharing_a_name_do_not_replace_each_other(tmp_path, samples_dir):
    """scan.png beside scan.tif, and the same file name in two exam folders: one mask each."""
    day1, day2 = tmp_path / "day1", tmp_path / "day2"
    for folder in (day1, day2):
        folder.mkdir()
    shutil.copy(samples_dir / "050_HC.png", day1 / "050_HC.png")
    cv2.imwrite(str(day1 / "050_HC.tif"), cv2.imread(str(samples_dir / "249_HC.png")))
    shutil.copy(samples_dir / "673_HC.png", day2 / "050_HC.png")
    masks = tmp_path / "masks"
    assert main(["measure", str(day1), str(day2), "--masks", str(masks), "--out",
                 str(tmp_path / "out.csv")]) == 0
    assert sorted(p.name for p in masks.iterdir()) == [
        "050_HC_tif_fetalview_mask.png", "day1_050_HC_png_fetalview_mask.png",
        "day2_050_HC_png_fetalview_mask.png"]
    assert len({p.read_bytes() for p in masks.iterdir()}) == 3


def test_output_stems_stay_plain_when_names_are_unique(tmp_path):
    paths = [tmp_path / "a" / "001_HC.png", tmp_path / "b" / "002_HC.dcm", tmp_path / "x" / "IM"]
    assert output_stems(paths) == ["001_HC", "002_HC", "IM"]
    assert output_stems([paths[0], paths[0]]) == ["001_HC_1", "001_HC_2"]


@pytest.mark.parametrize("content", [b"", b"garbage\x00\xff\xfe", b"a,b,c\n1,2,3\n",
                                     b"filename,pixel size(mm)\n050_HC.png,abc\n",
                                     b"filename,pixel size(mm)\n050_HC.png,1e999\n",
                                     b"filename,pixel size(mm)\n050_HC.png,nan\n"])
def test_an_unusable_pixel_size_csv_is_refused_by_name(tmp_path, samples_dir, capsys, content):
    table = tmp_path / "sizes.csv"
    table.write_bytes(content)
    code = main(["measure", str(samples_dir / "050_HC.png"), "--pixel-size-csv", str(table)])
    err = capsys.readouterr().err
    assert code == 2 and str(table) in err and "Traceback" not in err


@pytest.mark.parametrize("size", ["inf", "nan", "0", "-0.1"])
def test_an_unusable_pixel_size_is_refused(samples_dir, capsys, size):
    assert main(["measure", str(samples_dir / "050_HC.png"), f"--pixel-size={size}"]) == 2
    assert "--pixel-size" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["folder", "damaged"])
def test_an_unusable_pixel_size_csv_beside_the_scans_only_costs_the_millimetres(tmp_path,
                                                                                samples_dir, kind):
    shutil.copy(samples_dir / "050_HC.png", tmp_path / "050_HC.png")
    beside = tmp_path / "exam_pixel_size.csv"
    if kind == "folder":
        beside.mkdir()
    else:
        beside.write_bytes(b"\xff\xfe\x00garbage")
    out = tmp_path / "out.csv"
    assert main(["measure", str(tmp_path), "--out", str(out)]) == 0
    row, = _read(out)
    assert row["status"] == "ok" and row["semi_axis_a_px"] and not row["hc_mm"]
