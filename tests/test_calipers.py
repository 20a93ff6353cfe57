"""Caliper pairs in the sidecar: one end moves alone, damaged entries are ignored, and the
measurement of a saved annotation uses the chosen BPD convention."""

import json

import pytest

from fetalview.core.record.calipers import (BPD_PAIR_KEY, CALIPERS_KEY, Calipers, saved_bpd_pair,
                                            saved_calipers, with_bpd_pair, with_calipers)
from fetalview.core.record.result import build_result
from fetalview.core.measure.biometry import OUTER_INNER, OUTER_OUTER
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.sidecar import Annotation, from_json, to_json
from tests.test_skull_edges import synthetic_head


def test_moving_one_end_leaves_the_other_where_it_was():
    c = Calipers((10.0, 20.0), (110.0, 20.0))
    moved = c.moved(1, 5.0, -3.0)
    assert moved.p == (10.0, 20.0) and moved.q == (115.0, 17.0)
    assert c.moved(0, 1.0, 0.0).q == c.q


def test_calipers_round_trip_through_the_sidecar():
    extra = with_calipers(with_bpd_pair({"pregnancy": {}}, Calipers((1, 2), (3, 4)), True),
                          [Calipers((5, 6), (7, 8.25))])
    a = from_json(json.loads(json.dumps(to_json(Annotation("x.png", extra=extra)))))
    assert saved_bpd_pair(a.extra) == (Calipers((1.0, 2.0), (3.0, 4.0)), True)
    assert saved_calipers(a.extra) == [Calipers((5.0, 6.0), (7.0, 8.25))]
    assert a.extra["pregnancy"] == {}  # other features' entries are kept
    assert CALIPERS_KEY not in with_calipers(extra, [])


@pytest.mark.parametrize("raw", [None, "x", [], {"near": [1, 2]}, {"near": [1, 2], "far": [1]},
                                 {"near": [1, 2], "far": ["a", 2]},
                                 {"near": [1, 2], "far": [1e300, 2]},
                                 {"near": [True, 2], "far": [1, 2]}])
def test_a_damaged_saved_pair_is_ignored(raw):
    assert saved_bpd_pair({BPD_PAIR_KEY: raw}) is None


def test_damaged_distance_entries_are_dropped_and_good_ones_kept():
    extra = {CALIPERS_KEY: [{"ends": [[0, 0], [3, 4]]}, {"ends": [[0, 0]]}, "x", {"no": 1}]}
    assert [c.length for c in saved_calipers(extra)] == [5.0]
    assert saved_calipers({CALIPERS_KEY: "x"}) == []


def test_outer_inner_measurement_is_suggested_from_the_image_until_confirmed():
    image, e = synthetic_head(12.0)
    a = Annotation("x.png", ellipse=e, pixel_size=PixelSize(0.1, "test"))
    outer = build_result("x.png", a, image, OUTER_OUTER).measurement
    assert outer.bpd == pytest.approx(30.0) and outer.bpd_convention == OUTER_OUTER
    suggested = build_result("x.png", a, image, OUTER_INNER)
    assert suggested.measurement.bpd == pytest.approx(28.8, abs=0.15)
    assert not suggested.measurement.bpd_confirmed
    assert "BPD suggested" in [label for label, *_ in suggested.marks]
    assert suggested.ellipse_measurement.bpd == pytest.approx(30.0)  # the ellipse's own
    placed = Calipers((400.0, 120.0), (400.0, 400.0))
    a2 = Annotation("x.png", ellipse=e, pixel_size=PixelSize(0.1, "test"),
                    extra=with_bpd_pair({}, placed, confirmed=True))
    confirmed = build_result("x.png", a2, image, OUTER_INNER)
    assert confirmed.measurement.bpd == pytest.approx(28.0) and confirmed.measurement.bpd_confirmed
    assert confirmed.marks[0] == ("BPD", placed.p, placed.q)
