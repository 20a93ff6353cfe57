"""Draws the application icon, resources/icons/fetalview.png: a head ellipse over a dark scan.

Generated rather than hand-drawn so it can be remade at any size; the PNG is committed so the
build needs no extra step. ``python packaging/make_icon.py [SIZE]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "fetalview.png"


def draw_icon(size: int = 256) -> np.ndarray:
    """BGRA image: an ultrasound fan, a gray skull ring and the measured ellipse in amber."""
    s = size / 256
    img = np.zeros((size, size, 4), np.uint8)
    c = (size // 2, size // 2)
    cv2.rectangle(img, (0, 0), (size - 1, size - 1), (40, 30, 30, 255), -1)
    cv2.ellipse(img, (c[0], int(-40 * s)), (int(290 * s),) * 2, 90, -35, 35, (70, 62, 60, 255), -1,
                cv2.LINE_AA)
    axes = (int(78 * s), int(58 * s))
    cv2.ellipse(img, c, axes, -20, 0, 360, (185, 185, 185, 255), max(1, int(14 * s)), cv2.LINE_AA)
    cv2.ellipse(img, c, axes, -20, 0, 360, (40, 170, 255, 255), max(1, int(5 * s)), cv2.LINE_AA)
    return img


if __name__ == "__main__":
    ICON.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(ICON), draw_icon(int(sys.argv[1]) if len(sys.argv) > 1 else 256))
    print(ICON)
