"""The review flag: shape score, HC uncertainty (in mm and as a share of HC) and the cephalic
index, the doubt that ranks scans for review, and the calibration table behind them."""

import csv
import math

import pytest

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.model.segmentation import (HC_UNCERTAINTY_MM, HC_UNCERTAINTY_SHARE,
                                               LOW_CONFIDENCE, Segmentation, relative_doubt,
                                               review_reasons)
from training.calibrate import calibration_table, flag_figures, read_rows

MM = PixelSize(0.1, "test")
#: A band this wide (px) at 0.1 mm per pixel is exactly the flag's HC uncertainty.
BAND_AT_THRESHOLD = HC_UNCERTAINTY_MM / (math.pi * 0.1)


#: A mid-pregnancy head at 0.1 mm per pixel: HC about 255 mm, cephalic index 80, so 4.5 mm of
#: HC uncertainty is 1.8% of HC (the millimetre figure decides).
HEAD = Ellipse(400, 300, 450, 360, 0)
#: An early head at the same scale: HC about 100 mm.
SMALL_HEAD = Ellipse(400, 300, 177, 141, 0)


def seg(confidence, band=None, pixel_size=None, ellipse=HEAD):
    return Segmentation(None, None, ellipse, confidence, "test", band, pixel_size)


def band_for(share, ellipse=HEAD):
    """The unsure band (px) whose HC uncertainty is ``share`` of the ellipse's HC."""
    return share * ellipse.perimeter() / math.pi


def test_status_combines_shape_and_uncertainty():
    assert seg(0.99, 10.0).status == "ok"  # pixel size unknown: 1.2% of HC
    assert seg(LOW_CONFIDENCE - 0.01).status == "low_confidence"
    assert seg(0.99, BAND_AT_THRESHOLD * 0.98, MM).status == "ok"
    flagged = seg(0.99, BAND_AT_THRESHOLD * 1.01, MM)
    assert flagged.status == "low_confidence"
    assert flagged.review_reason == (f"Review: HC uncertain by about "
                                     f"{flagged.hc_uncertainty_mm:.1f} mm, 1.8% of HC")
    assert seg(0.0, None, None, None).status == "no_head"
    assert seg(0.99, 1.0, MM).review_reason is None


def test_a_small_heads_uncertainty_flags_as_a_share_of_hc():
    """2.5 mm on a 100 mm head is 2.5% of HC (about a week's growth at 14 weeks): flagged,
    though far below the 4.5 mm that a term head needs; the same share on a large head is
    flagged too, and a pixel-only scan is judged the same way."""
    band = band_for(HC_UNCERTAINTY_SHARE * 1.25, SMALL_HEAD)
    small = seg(0.99, band, MM, SMALL_HEAD)
    assert small.hc_uncertainty_mm < HC_UNCERTAINTY_MM and small.status == "low_confidence"
    assert small.review_reason == (f"Review: HC uncertain by about "
                                   f"{small.hc_uncertainty_mm:.1f} mm, 2.5% of HC")
    assert seg(0.99, band, MM).status == "ok"  # the same band on a large head: 1.1%
    assert seg(0.99, band_for(HC_UNCERTAINTY_SHARE * 1.01), None).review_reason == \
        "Review: HC uncertain by about 2.0% of HC"
    assert seg(0.99, band_for(HC_UNCERTAINTY_SHARE * 0.99), None).status == "ok"


def test_a_contour_with_an_implausible_cephalic_index_is_flagged():
    """issue 22: 088_2HC, 8.1 mm short with a cephalic index of 95.6, was not flagged."""
    low_band = band_for(0.01, SMALL_HEAD)
    round_head = Ellipse(400, 300, 160, 160 * 0.956, 30)
    flagged = seg(0.99, low_band, MM, round_head)
    assert flagged.status == "low_confidence"
    assert flagged.review_reason == ("Review: cephalic index 95.6, beyond 65-91.5: the contour "
                                     "may not follow the skull")
    assert seg(0.99, low_band, None, Ellipse(400, 300, 160, 100, 0)).status == "low_confidence"
    assert seg(0.99, low_band, MM, Ellipse(400, 300, 160, 160 * 0.9, 0)).status == "ok"
    assert seg(0.99, low_band, MM, Ellipse(400, 300, 160, 160 * 0.66, 0)).status == "ok"


def test_doubt_is_relative_and_raised_by_an_unusual_shape():
    """Ranking: a small head's 2.5 mm is more doubtful than a large head's 4 mm, and an index
    outside the usual 70-86 raises the doubt of an otherwise equal contour."""
    small = relative_doubt(band_for(0.025, SMALL_HEAD), SMALL_HEAD)
    large = relative_doubt(4.0 / (math.pi * 0.1), HEAD)
    assert small == pytest.approx(0.025) and large < small
    odd = Ellipse(400, 300, 450, 450 * 0.90, 0)  # 4 index points, 0.9 SD, above 86
    assert relative_doubt(band_for(0.015, odd), odd) == pytest.approx(0.015 * (1 + 4 / 4.4))
    assert relative_doubt(None, HEAD) == 0.0


def test_saved_results_are_rejudged_with_a_new_pixel_size():
    assert review_reasons(0.99, 10.0, PixelSize(0.1, "a"), HEAD) == []
    assert review_reasons(0.99, 10.0, PixelSize(0.2, "b"), HEAD) == \
        ["HC uncertain by about 6.3 mm, 1.2% of HC"]
    assert review_reasons(None, None, None, None) == []


def test_calibration_figures(tmp_path):
    path = tmp_path / "val.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "hc_abs_diff_mm", "confidence", "hc_uncertainty_mm", "hc_mm",
                    "hc_ref_mm", "cephalic_index"])
        w.writerows([["a", 1.0, 0.99, 2.0, 200, 201, 80], ["b", 7.0, 0.99, 5.0, 300, 307, 80],
                     ["c", 9.0, 0.93, 1.0, 300, 309, 80], ["d", 0.5, 0.99, 4.6, 300, 300, 80],
                     ["e", 6.0, 0.99, 3.0, 300, 306, 80], ["f", 4.0, 0.99, 2.5, 95, 99, 80],
                     ["g", 1.0, 0.99, 1.0, 200, 201, 95.6]])
    rows = read_rows(path)
    f = flag_figures(rows, 0.95, 4.5)
    assert (f.scans, f.flagged, f.large_errors, f.large_errors_caught) == (7, 4, 3, 2)
    assert "flags 4/7 (57.1%), catches 2/3 (67%) of the scans > 5 mm off and 0/1" in f.line()
    f = flag_figures(rows, 0.95, 4.5, 0.02)  # f: 2.5 mm of 95 mm
    assert (f.flagged, f.large_shares, f.large_shares_caught) == (5, 1, 1)
    assert len(calibration_table(path)) > 1
