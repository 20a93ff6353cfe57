"""The app segments a DICOM inside the ultrasound region its file names, as the batch does."""

import cv2
import numpy as np

from .conftest import SAMPLES, open_and_wait
from training.screens import draw_screen, write_dicom


def test_a_screen_dicom_reaches_the_segmenter_with_its_region(qtbot, window, fake, tmp_path):
    pixels = cv2.imread(str(SAMPLES / "050_HC.png"), cv2.IMREAD_GRAYSCALE)
    screen = draw_screen(pixels, 0.1, np.random.default_rng(0))
    open_and_wait(qtbot, window, write_dicom(tmp_path / "screen.dcm", screen))
    (region,) = fake.regions
    b = screen.image
    assert region.box == (b.x0, b.y0, b.x1 - 1, b.y1 - 1)


def test_a_png_has_no_regions_to_give(qtbot, window, fake, scans):
    open_and_wait(qtbot, window, scans / "050_HC.png")
    assert fake.regions == ()
