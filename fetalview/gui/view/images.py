"""numpy arrays to QImages, copied so the QImage never points into freed numpy memory."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def gray_qimage(pixels: np.ndarray) -> QImage:
    a = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = a.shape
    return QImage(a.data, w, h, a.strides[0], QImage.Format_Grayscale8).copy()


def bgr_qimage(image: np.ndarray) -> QImage:
    """An OpenCV-style BGR image (e.g. the core's overlay) as a QImage."""
    rgb = np.ascontiguousarray(image[..., ::-1], dtype=np.uint8)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format_RGB888).copy()
