"""The review flag: shape score and HC uncertainty, and the calibration table behind them."""

import csv

from fetalview.core.geometry import Ellipse
from fetalview.core.segmenter import HC_UNCERTAINTY_MM, LOW_CONFIDENCE, Segmentation
from training.calibrate import calibration_table, flag_figures, read_rows


def seg(confidence, uncertainty=None, ellipse=Ellipse(50, 50, 30, 20, 0)):
    return Segmentation(None, None, ellipse, confidence, "test", uncertainty)


def test_status_combines_shape_and_uncertainty():
    assert seg(0.99).status == "ok"  # pixel size unknown: the shape score alone decides
    assert seg(LOW_CONFIDENCE - 0.01).status == "low_confidence"
    assert seg(0.99, HC_UNCERTAINTY_MM - 0.1).status == "ok"
    assert seg(0.99, HC_UNCERTAINTY_MM).status == "low_confidence"
    assert seg(0.0, None, None).status == "no_head"


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
