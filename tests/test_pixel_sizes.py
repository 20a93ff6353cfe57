"""One plausibility rule for every pixel size (``PixelSize``: 0.01 to 2 mm per pixel), whatever
its source, and the batch's answer to each: a figure outside it costs only that scan's
millimetres and says so; it never ends the batch or turns into an error row. Burned-in patient
details keep a scan's pixels out of overlays unless the user opts in."""

from __future__ import annotations

import numpy as np
import pytest
from dicomfiles import make_dicom
from hostilefiles import scan_like
from PIL import Image

from fetalview.cli import main
from fetalview.core.batch import Outputs, PixelSizeBook, measure_one
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.io.outputs import output_name
from fetalview.core.measure.pixelsize import PLAUSIBLE_MM, PixelSize, PixelSizeError
from fetalview.core.model.segmentation import Segmentation


class HeadInTheMiddle:
    """Stands in for the network: a head of 30x20 pixels in the middle of any scan."""

    model_version = "fake"

    def segment(self, pixels, pixel_size=None, regions=()):
        h, w = pixels.shape
        mask = np.zeros(pixels.shape, np.uint8)
        return Segmentation(mask, None, Ellipse(w / 2, h / 2, 30, 20, 0), 0.99,
                            self.model_version, 0.1, pixel_size)


@pytest.mark.parametrize("mm", [PLAUSIBLE_MM[0], 0.1, PLAUSIBLE_MM[1]])
def test_plausible_sizes_pass(mm):
    assert PixelSize(mm, "test").mm_per_pixel == mm


@pytest.mark.parametrize("mm", [0.0099, 2.01, 150, 500.0, 0, -0.1, float("nan"), float("inf"),
                                "0.1", None])
def test_implausible_sizes_are_a_pixel_size_error_naming_the_source(mm):
    with pytest.raises(PixelSizeError, match="^CSV x.csv gives .* implausible for ultrasound"):
        PixelSize(mm, "CSV x.csv")


def test_a_csv_row_of_150_costs_only_that_scan_its_millimetres(tmp_path, capsys):
    for name in ("a.png", "b.png"):
        scan_like(size=(200, 150)).save(tmp_path / name)
    (tmp_path / "exam_pixel_size.csv").write_text(
        "filename,pixel size(mm)\na.png,150\nb.png,0.15\n")
    given = tmp_path / "given.csv"
    given.write_text("filename,pixel size(mm)\na.png,150\n")
    for book in (PixelSizeBook(), PixelSizeBook(csv_path=given)):
        a, b = (measure_one(HeadInTheMiddle(), tmp_path / f"{n}.png", book, Outputs())
                for n in "ab")
        assert a["status"] == "ok" and a["semi_axis_a_px"] == "30.000"
        assert a["pixel_size_mm"] == a["hc_mm"] == ""
        assert float(b["pixel_size_mm"]) == 0.15 and b["hc_mm"]
        err = capsys.readouterr().err
        assert "fetalview: a.png: CSV " in err and "gives 150 mm per pixel" in err
        assert "measured in pixels only" in err and "b.png" not in err


@pytest.mark.parametrize("size", ["150", "0.005"])
def test_an_implausible_pixel_size_option_is_refused_before_any_work(tmp_path, capsys, size):
    scan_like().save(tmp_path / "a.png")
    assert main(["measure", str(tmp_path / "a.png"), "--pixel-size", size]) == 2
    err = capsys.readouterr().err
    assert f"--pixel-size gives {float(size):g} mm per pixel" in err and "Traceback" not in err


def test_burned_in_pixels_reach_an_overlay_only_with_the_opt_in(tmp_path, capsys):
    scan = make_dicom(tmp_path / "named.dcm", np.asarray(scan_like(size=(200, 150))),
                      burned_in="YES")
    for allow, folder in ((False, tmp_path / "withheld"), (True, tmp_path / "allowed")):
        (folder / "masks").mkdir(parents=True)
        (folder / "overlays").mkdir()
        row = measure_one(HeadInTheMiddle(), scan, PixelSizeBook(0.1),
                          Outputs(masks=folder / "masks", overlays=folder / "overlays",
                                  allow_burned_in=allow))
        assert row["status"] == "ok" and row["hc_mm"]  # the measurement is always written
        assert [p.name for p in (folder / "masks").iterdir()] == [output_name("named", "mask",
                                                                              ".png")]
        overlays = [p.name for p in (folder / "overlays").iterdir()]
        assert overlays == ([output_name("named", "overlay", ".png")] if allow else [])
        err = capsys.readouterr().err
        said = "named.dcm: the file says patient details are burned into its pixels" in err
        assert said != allow and ("--allow-burned-in writes them" in err) != allow


def test_the_allow_burned_in_option_reaches_the_batch(tmp_path):
    scan = make_dicom(tmp_path / "named.dcm", np.asarray(scan_like(size=(200, 150))),
                      burned_in="YES")
    out = tmp_path / "overlays"
    assert main(["measure", str(scan), "--overlays", str(out), "--allow-burned-in",
                 "--device", "cpu", "--out", str(tmp_path / "out.csv")]) == 0
    with Image.open(out / output_name("named", "overlay", ".png")) as im:
        assert im.size[0] == 200 and im.size[1] > 150  # the scan, its caption band below


def test_a_given_pixel_size_is_questioned_against_the_file_and_the_plausible_head():
    from fetalview.core.measure.growth import (PLAUSIBLE_HC_MM, GestationalAge,
                                               intergrowth_hc_mean_sd)
    from fetalview.core.measure.pixelsize import calibration_question
    mean, sd = intergrowth_hc_mean_sd(GestationalAge.from_weeks(40))
    assert PLAUSIBLE_HC_MM[1] == pytest.approx(mean + 3 * sd, abs=0.05)  # as documented
    dicom, typed = PixelSize(0.148, "DICOM Pixel Spacing"), PixelSize(0.31, "typed by user")
    question = calibration_question(typed, dicom, 912.0, dicom)  # the walkthrough's head
    assert question == ("Use 0.31 mm per pixel (typed by user)? It is 109% larger than the "
                        "scan's own calibration, 0.148 mm per pixel (DICOM Pixel Spacing): HC "
                        "283 mm instead of 135 mm. No keeps 0.148 mm per pixel (DICOM Pixel "
                        "Spacing).")
    assert calibration_question(PixelSize(0.16, "typed by user"), dicom, 912.0) is None
    assert calibration_question(PixelSize(0.12, "typed by user"), dicom, None) is not None
    assert "above any plausible" in calibration_question(PixelSize(0.5, "t"), None, 912.0)
    assert calibration_question(PixelSize(0.05, "t"), None, 912.0) is None  # 46 mm: HC18 has
    assert "below any plausible" in calibration_question(PixelSize(0.04, "t"), None, 912.0)
