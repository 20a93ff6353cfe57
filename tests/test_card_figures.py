"""The model card's figures by reference-HC band, and their table."""

import math

import pytest

from training.evaluate import band_figures
from training.export import band_table


def _row(ref, model, status="ok"):
    return {"hc_ref_mm": ref, "hc_mm": model, "hc_diff_mm": model - ref, "status": status}


def test_bands_give_mean_abs_error_signed_bias_failures_and_flagged_share():
    rows = [_row(100, 98), _row(120, 123, "low_confidence"), _row(200, 201),
            _row(300, 285, "low_confidence"), _row(260, 262)]
    rows.append({"hc_ref_mm": 140, "hc_mm": math.nan, "hc_diff_mm": math.nan,
                 "status": "no_head"})
    small, middle, large = band_figures(rows)
    assert small["band"] == "< 150 mm" and small["scans"] == 3
    assert small["hc_abs_diff_mm_mean"] == pytest.approx(2.5)
    assert small["hc_bias_mm"] == pytest.approx(0.5)
    assert small["scans_over_10mm"] == 1  # no head counts as a failure
    assert small["flagged_share"] == pytest.approx(2 / 3)
    assert middle["band"] == "150-250 mm" and middle["hc_bias_mm"] == pytest.approx(1.0)
    assert large["band"] == "> 250 mm" and large["hc_bias_mm"] == pytest.approx(-6.5)
    assert large["scans_over_10mm"] == 1 and large["flagged_share"] == pytest.approx(0.5)
    table = band_table([("one pass", {"bands": [small, middle, large]})])
    assert "| > 250 mm | 2 | 8.50 mm / -6.50 mm / 1 / 50% |" in table
