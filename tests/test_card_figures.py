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


def test_the_bundled_card_and_graph_name_no_path_of_the_machine_that_made_them():
    """The card travels with the app: it names its files beside it, never a developer's checkout
    (the exporter's debugging notes once put 214 such paths into the graph itself)."""
    import json
    from pathlib import Path

    weights = Path(__file__).resolve().parents[1] / "resources" / "weights"

    def strings(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, str):
            yield value

    card = json.loads((weights / "model_card.json").read_text())
    assert {card[k]["weights"] for k in ("validation", "validation_tta",
                                         "validation_two_pass")} == {card["onnx"]}
    checkout = str(weights.parents[1])
    assert [s for s in strings(card) if checkout in s or "/work/wt/" in s] == []
    graph = (weights / "resunet.onnx").read_bytes()
    assert b"stack_trace" not in graph and b"/work/wt/" not in graph
