"""Brightness and contrast as a display look-up table: the scan's data is never changed.

Qt-free so the mapping is tested on its own; the scan view only applies the table.
"""

from __future__ import annotations

import numpy as np


def display_lut(brightness: int = 0, contrast: int = 0) -> np.ndarray:
    """A 256-entry uint8 table for ``brightness`` and ``contrast`` in -100..100 (0: identity).

    Contrast scales grey values about mid-grey by 10**(contrast/100) (x0.1 .. x10), brightness
    then shifts them by up to half the range; the result is clipped to 0..255.
    """
    v = np.arange(256, dtype=np.float32)
    gain = 10.0 ** (float(contrast) / 100.0)
    out = (v - 127.5) * gain + 127.5 + float(brightness) * 1.275
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
