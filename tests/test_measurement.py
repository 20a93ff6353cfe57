import math

import pytest

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.biometry import measure
from fetalview.core.measure.pixelsize import PixelSize


def test_circle_measures_in_mm_with_known_pixel_size():
    m = measure(Ellipse(0, 0, 100, 100, 0), PixelSize(0.2, "test"))
    assert m.unit == "mm"
    assert m.hc == pytest.approx(2 * math.pi * 100 * 0.2)
    assert m.bpd == pytest.approx(40.0) and m.ofd == pytest.approx(40.0)


def test_bpd_is_minor_and_ofd_major_axis():
    m = measure(Ellipse(0, 0, 50, 80, 0), PixelSize(0.1, "test"))
    assert m.bpd == pytest.approx(10.0) and m.ofd == pytest.approx(16.0)


def test_without_pixel_size_values_stay_in_pixels_and_say_so():
    m = measure(Ellipse(0, 0, 100, 100, 0), None)
    assert m.unit == "px" and not m.in_mm
    assert m.hc == pytest.approx(2 * math.pi * 100)
    assert all("mm" not in line for line in m.lines())
    assert "no pixel size" in m.lines()[0]


@pytest.mark.parametrize("bad", [0, -0.1, float("nan"), 1000])
def test_implausible_pixel_sizes_are_refused(bad):
    with pytest.raises(ValueError):
        PixelSize(bad, "test")


def test_every_diameter_names_its_convention():
    m = measure(Ellipse(0, 0, 50, 80, 0), PixelSize(0.1, "test"))
    hc, bpd, ofd, ci = m.lines()
    assert "(outer-outer)" in bpd and "(outer-outer)" in ofd and "outer" not in hc


def test_outer_inner_bpd_comes_from_the_caliper_pair_and_says_if_unconfirmed():
    e = Ellipse(0, 0, 50, 80, 0)
    m = measure(e, PixelSize(0.1, "test"), ((0, -50), (0, 45)), bpd_confirmed=False)
    assert m.bpd == pytest.approx(9.5) and m.ofd == pytest.approx(16.0)
    assert "outer-inner, suggested" in m.lines()[1]
    confirmed = measure(e, PixelSize(0.1, "test"), ((0, -50), (0, 45)), bpd_confirmed=True)
    assert confirmed.lines()[1] == "BPD 9.5 mm (outer-inner)"


def test_cephalic_index_is_shown_and_flagged_outside_70_to_86():
    usual = measure(Ellipse(0, 0, 100, 78, 0), None)
    assert usual.cephalic_index == pytest.approx(78.0)
    assert "CI  78" in usual.lines()[3] and "outside" not in usual.lines()[3]
    assert usual.warnings() == []
    long_head = measure(Ellipse(0, 0, 100, 66, 0), None)
    assert "outside 70-86" in long_head.lines()[3]
    assert "outside 70-86" in long_head.warnings()[0]



def test_a_flagged_cephalic_index_is_never_rounded_onto_its_bounds():
    """CI 86.3 read "Cephalic index 86 is outside 70-86" on the exported image of a real scan:
    a flagged index keeps the decimal that puts it outside."""
    just_over = measure(Ellipse(0, 0, 100, 86.3, 0), None)
    assert "CI  86.3 (" in just_over.lines()[3] and "outside 70-86" in just_over.lines()[3]
    assert just_over.warnings()[0].startswith("Cephalic index 86.3 is outside 70-86")
    just_under = measure(Ellipse(0, 0, 100, 69.8, 0), None)
    assert just_under.warnings()[0].startswith("Cephalic index 69.8 is outside 70-86")
    assert measure(Ellipse(0, 0, 100, 85.8, 0), None).lines()[3].startswith("CI  86 (")

def test_a_bpd_ofd_ratio_far_from_any_head_warns_about_the_contour():
    m = measure(Ellipse(0, 0, 100, 47, 0), PixelSize(0.1, "test"))
    (warning,) = m.warnings()
    assert "ratio 0.47" in warning and "check the contour" in warning


def test_distance_calipers_are_listed_in_the_same_unit():
    m = measure(Ellipse(0, 0, 100, 80, 0), PixelSize(0.2, "test"), distances=(50.0, 10.0))
    assert m.lines()[4:] == ["D1 10.0 mm (caliper)", "D2 2.0 mm (caliper)"]
    assert measure(Ellipse(0, 0, 100, 80, 0), None, distances=(50.0,)).lines()[4] == \
        "D1 50 px (caliper)"
