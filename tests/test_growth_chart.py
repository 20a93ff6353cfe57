"""The HC growth chart's centile lines and the point a scan puts on it (core, no Qt).

The lines are checked against INTERGROWTH-21st's published head-circumference centile table
(Papageorghiou AT et al., Lancet 2014;384:869-79; the table "International standards for
fetal growth: head circumference (mm) centiles", intergrowth21.tghn.org, which the gigs R
package keeps as data-raw/tables/ig_fet/ig_fet_hcfga_centiles.pdf). The rows below were taken
from a public transcription of that table (GitHub code search); they are the table's printed
one-decimal values, so the tolerance is the brief's 0.5 mm.
"""

import pytest

from fetalview.core.measure.growth import (CHART_CENTILES, CHART_DAYS, GestationalAge,
                                           chart_point, hc_at_centile, hc_centile_curve)

#: week -> (3rd, 10th, 50th, 90th, 97th) centile of HC in mm, as published.
PUBLISHED_HC = {
    14: (87.1, 90.7, 97.9, 105.0, 108.4),
    20: (158.5, 163.0, 172.5, 182.0, 186.5),
    28: (243.6, 248.9, 260.4, 271.8, 277.2),
    36: (299.2, 305.6, 319.4, 333.2, 339.6),
    40: (309.6, 317.4, 333.9, 350.5, 358.3),
}


@pytest.mark.parametrize("week", sorted(PUBLISHED_HC))
def test_centile_lines_equal_the_published_table(week):
    curves = {c: dict(hc_centile_curve(c)) for c in CHART_CENTILES}
    for centile, published in zip(CHART_CENTILES, PUBLISHED_HC[week]):
        plotted = curves[centile][week * 7]
        assert plotted == pytest.approx(published, abs=0.5), (week, centile)
        assert hc_at_centile(GestationalAge(week * 7), centile) == plotted


def test_the_lines_span_the_standard_and_nothing_beyond():
    assert CHART_DAYS == (98, 280)
    curve = hc_centile_curve(50)
    assert (curve[0][0], curve[-1][0]) == CHART_DAYS and len(curve) == 183


def test_a_point_at_a_known_age_says_its_percentile_and_z():
    point, note = chart_point(172.5, GestationalAge(140), confirmed=True)
    assert (point.ga_days, point.value_mm, point.confirmed, point.latest) == (140, 172.5, True,
                                                                              True)
    assert "50th percentile" in note and "z +0.00" in note


@pytest.mark.parametrize("hc, ga, review_first, why", [
    (None, GestationalAge(140), False, "no HC in mm"),
    (172.5, GestationalAge(140), True, "review the contour first"),
    (172.5, None, False, "no gestational age given"),
    (90.0, GestationalAge(13 * 7), False, "outside the INTERGROWTH-21st HC standard"),
])
def test_no_point_says_why(hc, ga, review_first, why):
    point, note = chart_point(hc, ga, confirmed=False, review_first=review_first)
    assert point is None and note.startswith("No point on the chart:") and why in note
