import math

import pytest

from fetalview.core.geometry import Ellipse
from fetalview.core.measurement import measure
from fetalview.core.pixelsize import PixelSize


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
