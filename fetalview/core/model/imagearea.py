"""Where the ultrasound image lies in a file: the part the model segments.

A clinic's export or screenshot holds the ultrasound image at its own pixel scale inside a
larger frame: a flat UI background, burned-in text (settings, dates, MI/TI), a grey-scale bar,
depth-scale ticks and caliper marks. Letterboxing the whole frame into the model's grid would
give the head fewer pixels and let the UI compete with it, so the model sees only the image
area; everything outside it is blanked. Nothing is resized here: the area is a rectangle of the
scan's own pixels, so results map back to them exactly.

- DICOM: the file says where the image is (the Sequence of Ultrasound Regions' calibrated 2-D
  regions); their bounding rectangle is the area (both halves of a split screen).
- Anything else: the area is found from the pixels. Speckle is texture everywhere; a UI is flat
  colour with thin things drawn on it (text strokes, bars, ticks, lines). So the area is the
  bounding rectangle of the largest region that stays textured after thin things are removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fetalview.core.measure.pixelsize import CalibratedRegion

#: Local standard deviation (grey levels, 5x5 window) up to which a pixel counts as flat: a UI
#: background and JPEG blocks in it. Even the darkest, lowest-gain stretch of a scan lies above
#: it (a threshold of 3 lost parts of 312 of the 801 HC18 training scans).
FLAT_STD = 1.0
#: Textured structures thinner than this many pixels are removed: text (up to about 20 px high),
#: tick marks, grey-scale bars, frame edges and caliper crosses, but never a scan's speckle area.
#: In pixels, not as a share of the frame: the scan's own scale is the same in any frame, so a
#: scan finds the same area bare and inside a screen.
THIN_PX = 21
#: An area smaller than this share of the image is not trusted: the whole image is used.
MIN_AREA_SHARE = 0.05
#: Every thick textured region of at least this share of the largest one belongs to the image:
#: smooth dark stretches (fluid, a low-gain scan) cut a scan's texture into parts, and a split
#: screen has two images. A body-mark pictogram (about 40x40 px) stays below it.
PART_SHARE = 0.02


@dataclass(frozen=True)
class Box:
    """A rectangle of scan pixels: columns x0..x1-1, rows y0..y1-1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @classmethod
    def whole(cls, shape: tuple[int, int]) -> Box:
        return cls(0, 0, shape[1], shape[0])

    def clipped(self, shape: tuple[int, int]) -> Box:
        return Box(max(self.x0, 0), max(self.y0, 0), min(self.x1, shape[1]),
                   min(self.y1, shape[0]))


def regions_area(regions: tuple[CalibratedRegion, ...] | list[CalibratedRegion],
                 shape: tuple[int, int]) -> Box | None:
    """The bounding rectangle of a DICOM's calibrated 2-D regions (inclusive boxes), within the
    image; None when there are none."""
    if not regions:
        return None
    x0 = min(r.box[0] for r in regions)
    y0 = min(r.box[1] for r in regions)
    x1 = max(r.box[2] for r in regions) + 1
    y1 = max(r.box[3] for r in regions) + 1
    box = Box(x0, y0, x1, y1).clipped(shape)
    return box if box.width > 0 and box.height > 0 else None


def textured(pixels: np.ndarray) -> np.ndarray:
    """uint8 0/1: pixels whose 5x5 neighbourhood is not flat."""
    f = pixels.astype(np.float32)
    mean = cv2.blur(f, (5, 5))
    var = cv2.blur(f * f, (5, 5), dst=f)  # in the memory of ``f``, done with: fewer allocations
    var -= np.multiply(mean, mean, out=mean)
    return (var > FLAT_STD * FLAT_STD).view(np.uint8)


def find_image_area(pixels: np.ndarray) -> Box:
    """The ultrasound image's rectangle in a uint8 grayscale frame (the whole frame when no
    clear image area stands out, e.g. a bare scan that is speckle up to its edges)."""
    shape = pixels.shape[:2]
    mask = cv2.morphologyEx(textured(pixels), cv2.MORPH_CLOSE,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (THIN_PX, THIN_PX)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return Box.whole(shape)
    areas = stats[1:, cv2.CC_STAT_AREA]
    parts = stats[1:][areas >= PART_SHARE * areas.max()]
    box = Box(int(parts[:, 0].min()), int(parts[:, 1].min()),
              int((parts[:, 0] + parts[:, 2]).max()), int((parts[:, 1] + parts[:, 3]).max()))
    if box.width * box.height < MIN_AREA_SHARE * shape[0] * shape[1]:
        return Box.whole(shape)
    return box


def image_area(pixels: np.ndarray,
               regions: tuple[CalibratedRegion, ...] | list[CalibratedRegion] = ()) -> Box:
    """The DICOM regions' rectangle when the file gives one, else the one found in the pixels."""
    return regions_area(regions, pixels.shape[:2]) or find_image_area(pixels)
