"""From the model's logit map to one head region and its ellipse.

The network can leave clutter (a bright placenta edge, a second blob) or holes (a dark brain
region); the head is the largest foreground component, filled. When that component is far from
an ellipse, it is usually the head joined to a neighbour (the body, a limb) by a narrow bridge;
the bridge is cut and the part around the widest point kept. The ellipse is fitted on the
sub-pixel boundary of the region, not on pixel centres, so HC carries no half-pixel bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fetalview.core.measure.geometry import Ellipse, fit_ellipse_robust, mask_boundary_points

#: A head smaller than this share of the scan is treated as no head at all.
MIN_HEAD_FRACTION = 0.005
#: |logit| below this is a head probability between 0.1 and 0.9: the model is unsure there.
UNSURE_LOGIT = float(np.log(9.0))
#: A region agreeing less than this with its own ellipse (IoU) is taken for the head joined to a
#: neighbour. A head segmented on its own agrees far better: 0.936 at worst over the 801 HC18
#: training-set scans (validation included), 0.945 over the 335 test-set scans but one (0.669:
#: head and body joined, scan 126).
JOINED_AGREEMENT = 0.9


@dataclass(frozen=True)
class HeadRegion:
    mask: np.ndarray  # uint8 0/255, holes filled
    outline: np.ndarray  # (N, 2) float32 closed polygon, pixel centres, for display
    ellipse: Ellipse
    shape_agreement: float  # IoU of the region with its fitted ellipse
    mass_share: float  # share of all foreground pixels that belong to the chosen region
    unsure_band_px: float  # unsure pixels per pixel of ellipse perimeter: the band's mean width


def largest_component(foreground: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The largest 8-connected component and its share of all foreground pixels.

    Labelled inside the foreground's bounding rectangle only (the head and whatever the model
    marked near it, a fraction of the scan): labelling was most of the post-processing time.
    The rectangle starts at even rows and columns: OpenCV labels 2x2 blocks in raster order,
    so on that grid every component keeps its label, and of equal largest components the same
    one wins, as over the whole scan. 16-bit labels are faster still, where they cannot run
    out (OpenCV may use one label per 2x2 block while labelling)."""
    fg = foreground.view(np.uint8) if foreground.dtype == bool else foreground.astype(np.uint8)
    x, y, w, h = cv2.boundingRect(fg)
    if w == 0:
        return None
    x0, y0 = x & ~1, y & ~1
    crop = fg[y0:y + h, x0:x + w]
    blocks = ((crop.shape[0] + 1) // 2) * ((crop.shape[1] + 1) // 2)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(
        crop, connectivity=8, ltype=cv2.CV_16U if blocks < 65535 else cv2.CV_32S)
    areas = stats[1:, cv2.CC_STAT_AREA]
    best = int(np.argmax(areas)) + 1
    region = np.zeros(fg.shape, bool)
    region[y0:y + h, x0:x + w] = labels == best
    return region, float(areas.max() / areas.sum())


def fill_holes(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The region with its holes filled, and its outer outline as an (N, 2) polygon."""
    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    outer = max(contours, key=cv2.contourArea)
    filled = np.zeros(region.shape, np.uint8)
    cv2.drawContours(filled, [outer], -1, 255, thickness=cv2.FILLED)
    return filled, outer.reshape(-1, 2).astype(np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two uint8 masks (nonzero inside)."""
    union = cv2.countNonZero(cv2.max(a, b))
    return float(cv2.countNonZero(cv2.min(a, b)) / union) if union else 0.0


def cut_bridges(region: np.ndarray) -> np.ndarray:
    """The part of ``region`` around its widest point, with every bridge narrower than half
    the radius of that point's inscribed circle cut (a morphological opening)."""
    inside = (region > 0).astype(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    size = 2 * int(round(0.5 * float(depth.max()))) + 1
    opened = cv2.morphologyEx(inside, cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    _, labels = cv2.connectedComponents(opened, connectivity=8)
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return labels == labels[y, x]


def _fitted(region: np.ndarray, logits: np.ndarray):
    """The filled region, its outline, its robust ellipse and their agreement (IoU)."""
    mask, outline = fill_holes(region)
    ellipse = fit_ellipse_robust(mask_boundary_points(mask, logits))
    return mask, outline, ellipse, iou(mask, ellipse.filled_mask(mask.shape))


def head_region(logits: np.ndarray) -> HeadRegion | None:
    """The head in a scan-sized logit map (positive inside), or None when there is none."""
    found = largest_component(logits > 0)
    if found is None:
        return None
    region, share = found
    if np.count_nonzero(region) / region.size < MIN_HEAD_FRACTION:
        return None
    try:
        mask, outline, ellipse, agreement = _fitted(region, logits)
        if agreement < JOINED_AGREEMENT:
            core_mask, core_outline, core_ellipse, core_agreement = _fitted(cut_bridges(mask),
                                                                            logits)
            if core_agreement > agreement:  # what was cut off counts against the confidence
                share *= np.count_nonzero(core_mask) / np.count_nonzero(mask)
                mask, outline, ellipse, agreement = (core_mask, core_outline, core_ellipse,
                                                     core_agreement)
    except ValueError:
        return None
    band = np.count_nonzero(np.abs(logits) < UNSURE_LOGIT) / max(ellipse.perimeter(), 1.0)
    return HeadRegion(mask, outline, ellipse, agreement, share, float(band))
