"""Where the ultrasound image lies in a file: the part the model segments.

A clinic's export or screenshot holds the ultrasound image at its own pixel scale inside a
larger frame: a flat UI background, burned-in text (settings, dates, MI/TI), a grey-scale bar,
depth-scale ticks and caliper marks. Letterboxing the whole frame into the model's grid would
give the head fewer pixels and let the UI compete with it, so the model sees only the image
area; everything outside it is blanked. Nothing is resized here: the area is a rectangle of the
scan's own pixels, so results map back to them exactly.

- The area is found from the pixels. Speckle is texture everywhere; a UI is flat colour with
  thin things drawn on it (text strokes, bars, ticks, lines). So the area is the bounding
  rectangle of the largest region that stays textured after thin things are removed.
- DICOM: the Sequence of Ultrasound Regions says where calibration holds; scanners write the
  sector's bounding box or the whole frame, black margins included. So the regions' bounding
  rectangle (both halves of a split screen) only bounds the search: the area is still found in
  the pixels inside it, and the same pixels give the same area, and the same head, whether
  they come as a PNG, as a DICOM with a whole-frame region or with a tight one.
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
_SQUARE_5 = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))


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


def find_image_area(pixels: np.ndarray, within: Box | None = None) -> Box:
    """The ultrasound image's rectangle in a uint8 grayscale frame, searched for inside
    ``within`` when given (all of it when no clear image area stands out, e.g. a bare scan
    that is speckle up to its edges).

    Only the pixels inside ``within`` are looked at, in a margin of black: so a rectangle that
    cuts only black margins off (a scanner's region around its sector, or the scan's own
    rectangle inside a screen) finds the very area the whole frame finds. A screenshot's
    flat grey UI around the scan is one such margin: once the first look finds its rim, the
    area is looked for again inside the rim, as in the bare scan.
    """
    given = within or Box.whole(pixels.shape[:2])
    box = _textured_area(pixels, within)
    if box is None:
        return given
    trimmed = _without_flat_rim(pixels, box)
    return box if trimmed == box else _textured_area(pixels, trimmed) or trimmed


def _textured_area(pixels: np.ndarray, within: Box | None) -> Box | None:
    """The bounding rectangle of the thick textured parts inside ``within`` (see
    ``find_image_area``); None when no clear area stands out."""
    given = within or Box.whole(pixels.shape[:2])
    bound = given if within is None else _grown_into_black(pixels, within)
    inside = pixels[bound.y0:bound.y1, bound.x0:bound.x1]
    rows, cols = inside.shape[:2]
    pad = THIN_PX
    framed = cv2.copyMakeBorder(inside, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    mask = cv2.morphologyEx(textured(framed), cv2.MORPH_CLOSE, _SQUARE_5)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (THIN_PX, THIN_PX)))
    mask = np.ascontiguousarray(mask[pad:pad + rows, pad:pad + cols])
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    parts = stats[1:][areas >= PART_SHARE * areas.max()]
    box = Box(bound.x0 + int(parts[:, 0].min()), bound.y0 + int(parts[:, 1].min()),
              bound.x0 + int((parts[:, 0] + parts[:, 2]).max()),
              bound.y0 + int((parts[:, 1] + parts[:, 3]).max()))
    if box.width * box.height < MIN_AREA_SHARE * pixels.shape[0] * pixels.shape[1]:
        return None
    return box


def _flat_grey(line: np.ndarray) -> bool:
    """A line of pixels of one grey that is not black: a screen's UI, never a scan's speckle
    (black is a scan's own margin, part of what the model was trained to see)."""
    return line.size > 0 and int(line.max()) - int(line.min()) <= 2 and int(line.max()) > 2


def _without_flat_rim(pixels: np.ndarray, box: Box) -> Box:
    """``box`` less the rim of flat grey that the 5x5 texture window spills into around a
    scan pasted on a screen's UI (up to two pixels a side): the area a PNG screenshot gives is
    then the scan's own, as in the bare scan and the screen's DICOM."""
    x0, y0, x1, y1 = box.x0, box.y0, box.x1, box.y1
    for _ in range(2):
        if x1 - x0 > 2 and _flat_grey(pixels[y0:y1, x0]):
            x0 += 1
        if x1 - x0 > 2 and _flat_grey(pixels[y0:y1, x1 - 1]):
            x1 -= 1
        if y1 - y0 > 2 and _flat_grey(pixels[y0, x0:x1]):
            y0 += 1
        if y1 - y0 > 2 and _flat_grey(pixels[y1 - 1, x0:x1]):
            y1 -= 1
    return Box(x0, y0, x1, y1)


def _grown_into_black(pixels: np.ndarray, box: Box, reach: int = THIN_PX) -> Box:
    """``box`` grown, by up to ``reach`` pixels a side, over rows and columns of the frame that
    are wholly black: a scanner's region drawn tight around its sector then leaves the search
    the same black margin that the whole frame has, and so the same area."""
    rows, cols = pixels.shape[:2]
    x0, y0, x1, y1 = box.x0, box.y0, box.x1, box.y1
    for _ in range(reach):
        grew = False
        if x0 > 0 and not pixels[y0:y1, x0 - 1].any():
            x0, grew = x0 - 1, True
        if x1 < cols and not pixels[y0:y1, x1].any():
            x1, grew = x1 + 1, True
        if y0 > 0 and not pixels[y0 - 1, x0:x1].any():
            y0, grew = y0 - 1, True
        if y1 < rows and not pixels[y1, x0:x1].any():
            y1, grew = y1 + 1, True
        if not grew:
            break
    return Box(x0, y0, x1, y1)


def image_area(pixels: np.ndarray,
               regions: tuple[CalibratedRegion, ...] | list[CalibratedRegion] = ()) -> Box:
    """The image area found in the pixels, inside the DICOM regions' rectangle when the file
    gives one."""
    return find_image_area(pixels, regions_area(regions, pixels.shape[:2]))
