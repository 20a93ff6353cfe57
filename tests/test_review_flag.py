"""The review flag: shape score and HC uncertainty, and the calibration table behind them."""

import csv
import math

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.model.segmentation import (HC_UNCERTAINTY_MM, LOW_CONFIDENCE, Segmentation,
                                         review_reasons)
from training.calibrate import calibration_table, flag_figures, read_rows

MM = PixelSize(0.1, "test")
#: A band this wide (px) at 0.1 mm per pixel is exactly the flag's HC uncertainty.
BAND_AT_THRESHOLD = HC_UNCERTAINTY_MM / (math.pi * 0.1)


def seg(confidence, band=None, pixel_size=None, ellipse=Ellipse(50, 50, 30, 20, 0)):
    return Segmentation(None, None, ellipse, confidence, "test", band, pixel_size)


def test_status_combines_shape_and_uncertainty():
    assert seg(0.99, 40.0).status == "ok"  # pixel size unknown: the shape score alone decides
    assert seg(LOW_CONFIDENCE - 0.01).status == "low_confidence"
    assert seg(0.99, BAND_AT_THRESHOLD * 0.98, MM).status == "ok"
    flagged = seg(0.99, BAND_AT_THRESHOLD * 1.01, MM)
    assert flagged.status == "low_confidence"
    assert flagged.review_reason == f"Review: HC uncertain by about {flagged.hc_uncertainty_mm:.1f} mm"
    assert seg(0.0, None, None, None).status == "no_head"
    assert seg(0.99, 1.0, MM).review_reason is None


def test_saved_results_are_rejudged_with_a_new_pixel_size():
    assert review_reasons(0.99, 10.0, PixelSize(0.1, "a")) == []
    assert review_reasons(0.99, 10.0, PixelSize(0.2, "b")) == ["HC uncertain by about 6.3 mm"]
    assert review_reasons(None, None, None) == []


def test_calibration_figures(tmp_path):
    path = tmp_path / "val.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "hc_abs_diff_mm", "confidence", "hc_uncertainty_mm"])
        w.writerows([["a", 1.0, 0.99, 2.0], ["b", 7.0, 0.99, 5.0], ["c", 9.0, 0.93, 1.0],
                     ["d", 0.5, 0.99, 4.6], ["e", 6.0, 0.99, 3.0]])
    f = flag_figures(read_rows(path), 0.95, 4.5)
    assert (f.scans, f.flagged, f.large_errors, f.large_errors_caught) == (5, 3, 3, 2)
    assert "flags 3/5 (60.0%), catches 2/3 (67%)" in f.line()
    assert len(calibration_table(path)) > 1
