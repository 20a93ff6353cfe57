import cv2
import numpy as np
import pytest

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.model.postprocess import head_region, largest_component


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


def test_a_head_joined_to_the_body_by_a_narrow_bridge_is_cut_free():
    head, body = Ellipse(280, 150, 80, 65, 10), Ellipse(110, 160, 60, 55, 0)
    logits = _logits(head, body, Ellipse(195, 155, 40, 8, 0))  # the bridge: 16 px wide
    region = head_region(logits)
    assert region.ellipse.perimeter() == pytest.approx(head.perimeter(), rel=0.02)
    assert (region.ellipse.cx, region.ellipse.cy) == pytest.approx((280, 150), abs=2)
    assert region.mask[160, 110] == 0  # the body is not part of the head
    assert region.shape_agreement > 0.95
    assert region.shape_agreement * region.mass_share < 0.9  # still sent for review


def test_a_head_on_its_own_is_not_cut():
    head = Ellipse(200, 150, 120, 90, 30)
    region = head_region(_logits(head))
    assert np.count_nonzero(region.mask) == np.count_nonzero(head.filled_mask((300, 400)))


@pytest.mark.parametrize("y,x", [(41, 33), (40, 33), (41, 32), (40, 32)])
def test_of_equal_largest_components_the_one_opencv_numbers_first_over_the_scan_wins(y, x):
    """Labelling only the foreground's rectangle must not change which of two equal heads wins.
    OpenCV numbers 2x2 blocks in raster order: the square starting a row higher but further
    right comes first over the whole scan, yet would come second in a rectangle starting on
    its odd row."""
    foreground = np.zeros((200, 300), bool)
    foreground[y:y + 40, x + 60:x + 100] = True
    foreground[y + 1:y + 41, x:x + 40] = True
    _, labels, stats, _ = cv2.connectedComponentsWithStats(foreground.view(np.uint8), 8)
    first = labels == 1 + np.argmax(stats[1:, cv2.CC_STAT_AREA])
    region, share = largest_component(foreground)
    assert np.array_equal(region, first) and share == 0.5
