"""Locate, then delineate: the head found on the whole image area, then segmented again in a
crop around it, so that a small head gets more of the model's grid.

Both passes only need "logits for a letterboxed grid" from the network (``GridLogits``), so this
works with any inference backend. Each pass sees a ``Window``: a rectangle of the scan's own
pixels (it may reach past the image area, where it is blank) letterboxed into the grid. The
window is placed at whole pixels and resized by one scale factor, so every result maps back to
the scan's pixels exactly, and the pixel size never changes.

With the bundled weights (trained on whole scans only) the second pass lost on validation: a
head zoomed to fill the grid looks unlike anything they were trained on, and they draw it
about 1 mm small. The app therefore runs one pass until weights trained on these crops
(``python -m training train --screens``) win with two.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.model.imagearea import Box
from fetalview.core.model.postprocess import head_region
from fetalview.core.model.preprocess import Letterbox

#: uint8 grid image (the model's grid shape) -> float32 logits on that grid, positive inside.
GridLogits = Callable[[np.ndarray], np.ndarray]

#: Logit given to scan pixels no pass looked at (outside the image area): surely not head.
OUTSIDE_LOGIT = -20.0
#: Margin around the located head, as a share of its extent on each side: room for a first-pass
#: outline that was too small, and context for the skull's outer edge.
MARGIN = 0.25
#: The second pass never enlarges the scan more than this (grid pixels per scan pixel): beyond
#: it there is nothing new to see, only interpolation, and heads grow far past the sizes the
#: model was trained on.
MAX_SCALE = 1.0
#: The second pass runs only when it gives the head at least this many times the first pass's
#: grid pixels per scan pixel; a head that already fills the image gains nothing from it.
MIN_GAIN = 1.2


@dataclass(frozen=True)
class Window:
    """``box`` of scan pixels letterboxed into a grid of ``grid_shape``; only the pixels inside
    ``area`` are shown to the model, the rest is blank."""

    box: Box
    area: Box
    grid_shape: tuple[int, int]

    @property
    def letterbox(self) -> Letterbox:
        return Letterbox((self.box.height, self.box.width), self.grid_shape)

    @property
    def scale(self) -> float:
        """Grid pixels per scan pixel."""
        return self.letterbox.scale

    def _overlap(self, shape: tuple[int, int]) -> Box:
        """The part of the box that holds image pixels (inside the area and the scan)."""
        a = self.area.clipped(shape)
        return Box(max(self.box.x0, a.x0), max(self.box.y0, a.y0),
                   min(self.box.x1, a.x1), min(self.box.y1, a.y1))

    def to_grid(self, pixels: np.ndarray) -> np.ndarray:
        """The grid image the model sees: the window's pixels, blank outside the area."""
        o = self._overlap(pixels.shape)
        if o == self.box:  # all image (the first pass): no blank to add, no copy
            return self.letterbox.to_grid(pixels[o.y0:o.y1, o.x0:o.x1])
        crop = np.zeros((self.box.height, self.box.width), pixels.dtype)
        if o.width > 0 and o.height > 0:
            crop[o.y0 - self.box.y0:o.y1 - self.box.y0, o.x0 - self.box.x0:o.x1 - self.box.x0] = \
                pixels[o.y0:o.y1, o.x0:o.x1]
        return self.letterbox.to_grid(crop)

    def paste(self, grid_logits: np.ndarray, scan_logits: np.ndarray) -> None:
        """Write the grid's logits back over the window's image pixels of ``scan_logits``."""
        o = self._overlap(scan_logits.shape)
        if o.width <= 0 or o.height <= 0:
            return
        if o == self.box:  # all image (the first pass): resized straight into place
            self.letterbox.to_scan(grid_logits, out=scan_logits[o.y0:o.y1, o.x0:o.x1])
            return
        back = self.letterbox.to_scan(grid_logits)
        scan_logits[o.y0:o.y1, o.x0:o.x1] = \
            back[o.y0 - self.box.y0:o.y1 - self.box.y0, o.x0 - self.box.x0:o.x1 - self.box.x0]

    def to_scan_ellipse(self, e: Ellipse) -> Ellipse:
        """An ellipse on the grid, in scan pixels."""
        s = self.scale
        return Ellipse(self.box.x0 + (e.cx + 0.5) / s - 0.5, self.box.y0 + (e.cy + 0.5) / s - 0.5,
                       e.a / s, e.b / s, e.angle_deg)


def head_window(head: Ellipse, area: Box, grid_shape: tuple[int, int],
                margin: float = MARGIN, max_scale: float = MAX_SCALE) -> Window:
    """The second pass's window: the head's bounding box plus ``margin`` on every side, widened
    to the grid's aspect ratio around the head's centre, never enlarged past ``max_scale``."""
    t = math.radians(head.angle_deg)
    half_w = math.hypot(head.a * math.cos(t), head.b * math.sin(t)) * (1.0 + margin)
    half_h = math.hypot(head.a * math.sin(t), head.b * math.cos(t)) * (1.0 + margin)
    rows, cols = grid_shape
    half_w = max(half_w, half_h * cols / rows, 0.5 * cols / max_scale)
    half_h = half_w * rows / cols
    x0, y0 = math.floor(head.cx - half_w), math.floor(head.cy - half_h)
    return Window(Box(x0, y0, x0 + math.ceil(2 * half_w), y0 + math.ceil(2 * half_h)), area,
                  grid_shape)


def scan_logits(grid_logits: GridLogits, pixels: np.ndarray, area: Box,
                grid_shape: tuple[int, int], passes: int = 2) -> np.ndarray:
    """Scan-sized float32 logits of uint8 ``pixels``: the first pass over the image ``area``,
    then (``passes`` 2) a second over the located head, pasted over the first."""
    whole = Window(area, area, grid_shape)
    first = grid_logits(whole.to_grid(pixels))
    logits = np.full(pixels.shape, OUTSIDE_LOGIT, np.float32)
    whole.paste(first, logits)
    if passes < 2:
        return logits
    located = head_region(first)
    if located is None:
        return logits
    window = head_window(whole.to_scan_ellipse(located.ellipse), area, grid_shape)
    if window.scale < MIN_GAIN * whole.scale:
        return logits
    window.paste(grid_logits(window.to_grid(pixels)), logits)
    return logits
