"""The mapping between a scan and the model's fixed input grid, used by training and inference.

Scans are resized keeping their aspect ratio and padded at the bottom and right (a letterbox),
so the head is never distorted and the mapping back to scan pixels is a single scale factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: A scan whose 1st to 99th percentile grey levels lie closer than this holds nothing to
#: segment (a blank or uniform frame, a lost signal): the network, asked anyway, draws a head
#: out of noise. Every HC18 scan spans 83 levels or more (1136 scans, training and test set),
#: ten times this.
MIN_CONTRAST = 8


def has_contrast(pixels: np.ndarray) -> bool:
    """Whether the uint8 scan ``pixels`` shows anything (see ``MIN_CONTRAST``). Percentiles, so
    that a few bright pixels (a text overlay on a blank frame) do not count as an image."""
    lo, hi = np.percentile(pixels, (1, 99))
    return hi - lo >= MIN_CONTRAST


@dataclass(frozen=True)
class Letterbox:
    """Where a scan of ``scan_shape`` sits inside the model grid of ``grid_shape``."""

    scan_shape: tuple[int, int]
    grid_shape: tuple[int, int]

    @property
    def scale(self) -> float:
        """Grid pixels per scan pixel."""
        return min(self.grid_shape[0] / self.scan_shape[0], self.grid_shape[1] / self.scan_shape[1])

    @property
    def content_shape(self) -> tuple[int, int]:
        """Rows and columns of the grid the scan occupies (the rest is padding)."""
        return (min(self.grid_shape[0], max(1, round(self.scan_shape[0] * self.scale))),
                min(self.grid_shape[1], max(1, round(self.scan_shape[1] * self.scale))))

    def to_grid(self, image: np.ndarray, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
        """``image`` (scan-sized) resized into the grid, zero padded."""
        h, w = self.content_shape
        out = np.zeros(self.grid_shape + image.shape[2:], image.dtype)
        out[:h, :w] = cv2.resize(image, (w, h), interpolation=interpolation)
        return out

    def to_scan(self, grid_map: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """A float map on the grid, cropped to the scan and resized back to scan pixels (into
        ``out`` when given: a scan-sized array, e.g. a view of a larger one)."""
        h, w = self.content_shape
        back = cv2.resize(grid_map[:h, :w], (self.scan_shape[1], self.scan_shape[0]), dst=out,
                          interpolation=cv2.INTER_LINEAR)
        if out is not None and back is not out:  # OpenCV wrote elsewhere: ``out`` of another type
            out[...] = back
        return back if out is None else out


def normalise(grid_image: np.ndarray) -> np.ndarray:
    """uint8 grid image -> float32 model input in [0, 1].

    Plain scaling, no per-image statistics: gain and contrast changes are handled by training
    augmentation, and the padding stays exactly zero.
    """
    return grid_image.astype(np.float32) * (1.0 / 255.0)
