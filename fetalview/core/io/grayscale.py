"""Any image array to the 8-bit grayscale every other part of fetalview works on.

8-bit data is kept as it is (the model was trained on 8-bit scans). Wider data has no fixed
scale: a 16-bit file may hold 12-bit values, a float TIFF 0..1 or 0..255. It is scaled so that
black stays at zero and the brightest tissue, not the brightest single pixel, becomes white.
"""

from __future__ import annotations

import numpy as np

#: Wider-than-8-bit data is scaled by this percentile of its values rather than by its maximum.
#: One hot pixel, a dead-pixel map or a full-scale marker (a 16-bit PNG with one 65535 pixel)
#: would otherwise darken the whole scan to a few grey levels. At most one pixel in a thousand
#: is clipped to white, far fewer than the skull's bright rim holds (several thousand pixels on
#: an 800x540 scan), so the head keeps its contrast.
WHITE_PERCENTILE = 99.9


class ImageShapeError(ValueError):
    """The array is not an image fetalview can show (channels, dimensions)."""


def to_gray_uint8(array: np.ndarray) -> np.ndarray:
    """A 2-D or colour image array -> uint8 grayscale, keeping black at zero.

    Colour is weighted as ITU-R BT.601 luma. Integer data wider than 8 bits whose values
    already fit 0..255 is kept; otherwise, and always for floats (their scale is whatever the
    writer chose), values are scaled so that ``WHITE_PERCENTILE`` becomes 255. NaN and
    infinities become black.
    """
    a = np.asarray(array)
    floating = a.dtype.kind == "f"
    if a.ndim == 3:
        if a.shape[2] == 1:
            a = a[..., 0]
        elif a.shape[2] in (3, 4):
            rgb = a[..., :3].astype(np.float32)
            a = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        else:
            raise ImageShapeError(f"images with {a.shape[2]} channels are not supported")
    if a.ndim != 2:
        raise ImageShapeError(f"expected a 2-D image, got an array of shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    a = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    a -= min(float(a.min()), 0.0)
    white = float(np.percentile(a, WHITE_PERCENTILE))
    if white <= 0.0:  # nearly all black: a few bright pixels are all there is to show
        white = float(a.max())
    scale = 255.0 / white if white > 0.0 and (floating or white > 255.0) else 1.0
    return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
