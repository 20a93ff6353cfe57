import numpy as np
import pytest

from fetalview.core.geometry import Ellipse
from fetalview.core.postprocess import head_region


def _logits(*ellipses, shape=(300, 400)):
    inside = np.zeros(shape, bool)
    for e in ellipses:
        inside |= e.filled_mask(shape) > 0
    return np.where(inside, 5.0, -5.0).astype(np.float32)


def test_clutter_is_dropped_and_the_head_kept():
    head = Ellipse(150, 150, 100, 70, 20)
    logits = _logits(head, Ellipse(350, 40, 20, 15, 0))
    region = head_region(logits)
    assert region.ellipse.perimeter() == pytest.approx(head.perimeter(), rel=0.01)
    assert region.mask[40, 350] == 0
    assert region.mass_share < 1.0


def test_holes_are_filled():
    head = Ellipse(200, 150, 120, 90, 0)
    logits = _logits(head)
    logits[140:160, 190:210] = -5.0  # a dark ventricle the model missed
    region = head_region(logits)
    assert region.mask[150, 200] == 255
    assert region.shape_agreement > 0.97


def test_a_speck_is_not_a_head():
    assert head_region(_logits(Ellipse(50, 50, 3, 3, 0))) is None
    assert head_region(np.full((100, 100), -1.0, np.float32)) is None
