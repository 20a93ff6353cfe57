"""The JSON sidecar beside a scan: its file format, what it may hold, and where it lies.

``<scan name>.fetalview.json`` holds the head ellipse on screen, the model's own result (for
"reset"), whether a person edited it, the pixel size with its source, and a free ``extra`` dict
for other features (e.g. gestational age). This module is the format alone: ``Annotation`` and
``Identity``, ``to_json``/``from_json``, the strict reading of one file, the checks that an
annotation belongs to a scan, and the paths a sidecar may have. Reading and saving a scan's
sidecar across those paths (fallbacks, merges, files kept aside) is
``fetalview.core.record.sidecar_store``, kept apart so the format can be read and tested
without any of the store's file-system rules.

Reading validates every field and raises one error type, ``SidecarError``; nothing is returned
until the whole file parsed, so a damaged sidecar can never half-apply. What is read is capped
(``MAX_BYTES``, ``MAX_ITEMS``): a huge file is refused as damaged before it is parsed.

- Fields this version does not know, in a version it reads, are kept and written back
  (``Annotation.unknown``). So a new field that older versions may carry along untouched needs
  no new version; bump ``VERSION`` only when older versions must not edit the file any more.
- Version 2 records the identity of the pixels annotated (``Identity``: a hash of the decoded
  frame, its size, the frame number). ``mismatch`` and ``check_belongs`` say when an
  annotation's identity differs from the scan's (the scan was replaced, or the sidecar copied
  beside another scan). A version-1 sidecar (no identity) is accepted when it names this
  scan's file and fits it; it gains the identity at its next save.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.review import SignOff, signoff_from_json, signoff_json

FORMAT = "fetalview-sidecar"
VERSION = 2  # 2 added "identity" and "confirmed"; version 1 files are still read
READABLE_VERSIONS = (1, 2)
SUFFIX = ".fetalview.json"
#: Larger files are refused as damaged before parsing. A whole-scan outline of 20000 points
#: is under 0.5 MB; nothing fetalview writes comes near this.
MAX_BYTES = 4 * 1024 * 1024
MAX_ITEMS = 50_000  # the longest list or object anywhere in a sidecar
_ELLIPSE_KEYS = ("cx", "cy", "a", "b", "angle_deg")
FIT_MARGIN = 100  # see check_fits_scan


class SidecarError(Exception):
    """A sidecar could not be read or written; the message says which file and why."""


class SidecarMismatch(SidecarError):
    """A readable annotation belongs to other pixels than the scan's; the message says how."""


@dataclass(frozen=True)
class Identity:
    """The pixels an annotation was made on: a change of scan file, frame or decoding shows."""

    sha256: str  # of the decoded 8-bit frame, row by row
    width: int
    height: int
    frame: int  # 0 for a still image


def identity_of(pixels: np.ndarray, frame: int = 0) -> Identity:
    """The identity of a decoded frame (``Scan.pixels``)."""
    rows, cols = pixels.shape[:2]
    digest = hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()
    return Identity(digest, int(cols), int(rows), int(frame))


@dataclass(frozen=True)
class Annotation:
    """One scan's measurement state, exactly as the sidecar stores it."""

    scan: str  # the scan's file name (not its path: folders get moved)
    ellipse: Ellipse | None = None  # what is on screen and measured
    auto_ellipse: Ellipse | None = None  # the model's result, for "reset to model"
    edited: bool = False  # a person changed the contour
    model_version: str | None = None
    confidence: float | None = None
    pixel_size: PixelSize | None = None
    frame: int | None = None  # which frame of a multi-frame (cine) scan; None for a still
    extra: dict = field(default_factory=dict)
    saved_at: str | None = None  # ISO 8601, UTC; set by save_annotation
    identity: Identity | None = None  # the pixels annotated; None in a version-1 sidecar
    unknown: dict = field(default_factory=dict)  # fields of the file this version does not know
    confirmed: SignOff | None = None  # the last sign-off (see core.review for when it stands)


def sidecar_path(scan_path: Path) -> Path:
    """The sidecar's place beside the scan."""
    scan_path = Path(scan_path)
    return scan_path.with_name(scan_path.name + SUFFIX)


def alternate_path(scan_path: Path) -> Path:
    """Where this version saves beside the scan when the usual sidecar is one it must keep
    (damaged, or written by a newer fetalview)."""
    scan_path = Path(scan_path)
    return scan_path.with_name(f"{scan_path.name}.fetalview.v{VERSION}.json")


def fallback_path(scan_path: Path, fallback_root: Path) -> Path:
    """The sidecar's place under the app-data folder, one sub-folder per scan location.

    Hashing the absolute path keeps two scans with the same name in different folders apart;
    the path's bytes are hashed, so a name that is not UTF-8 works too.
    """
    scan_path = Path(scan_path)
    key = hashlib.sha256(os.fsencode(scan_path.resolve())).hexdigest()[:16]
    return Path(fallback_root) / key / (scan_path.name + SUFFIX)


# --- writing -------------------------------------------------------------------------------

def _ellipse_json(e: Ellipse | None) -> dict | None:
    return None if e is None else {k: float(getattr(e, k)) for k in _ELLIPSE_KEYS}


def to_json(annotation: Annotation) -> dict:
    ps = annotation.pixel_size
    ident = annotation.identity
    return {
        **annotation.unknown,
        "format": FORMAT,
        "version": VERSION,
        "scan": annotation.scan,
        "frame": annotation.frame,
        "ellipse": _ellipse_json(annotation.ellipse),
        "auto_ellipse": _ellipse_json(annotation.auto_ellipse),
        "edited": annotation.edited,
        "model_version": annotation.model_version,
        "confidence": annotation.confidence,
        "pixel_size": None if ps is None else {"mm_per_pixel": ps.mm_per_pixel,
                                               "source": ps.source},
        "extra": annotation.extra,
        "saved_at": annotation.saved_at,
        "identity": None if ident is None else {"sha256": ident.sha256, "width": ident.width,
                                                "height": ident.height, "frame": ident.frame},
        "confirmed": signoff_json(annotation.confirmed),
    }


#: The fields this version reads; any other field of a readable file is kept as it is.
KNOWN_FIELDS = frozenset(to_json(Annotation(scan="")))


def encode(annotation: Annotation, stamp: str) -> bytes:
    """The bytes of a sidecar file holding ``annotation``, saved at ``stamp``."""
    payload = to_json(annotation)
    payload["saved_at"] = stamp
    try:
        return json.dumps(payload, indent=2, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:  # a non-JSON value in ``extra``, or NaN
        raise SidecarError(f"cannot save the measurement of {annotation.scan}: {exc}") from None


# --- reading -------------------------------------------------------------------------------

def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _optional(value, parse, what: str):
    return None if value is None else parse(value, what)


def _string(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {value!r}")
    return value


def _ellipse(value, what: str) -> Ellipse:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object with {', '.join(_ELLIPSE_KEYS)}")
    missing = [k for k in _ELLIPSE_KEYS if k not in value]
    if missing:
        raise ValueError(f"{what} lacks {', '.join(missing)}")
    cx, cy, a, b, angle = (_number(value[k], f"{what}.{k}") for k in _ELLIPSE_KEYS)
    if a <= 0 or b <= 0:
        raise ValueError(f"{what} has a non-positive semi-axis")
    return Ellipse(cx, cy, a, b, angle)


def _pixel_size(value, what: str) -> PixelSize:
    if not isinstance(value, dict) or "mm_per_pixel" not in value or "source" not in value:
        raise ValueError(f"{what} must be an object with mm_per_pixel and source")
    return PixelSize(_number(value["mm_per_pixel"], f"{what}.mm_per_pixel"),
                     _string(value["source"], f"{what}.source"))


def _confidence(value, what: str) -> float:
    c = _number(value, what)
    if not 0.0 <= c <= 1.0:
        raise ValueError(f"{what} must lie between 0 and 1, not {c}")
    return c


def _frame(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a frame number (0 or more), not {value!r}")
    return value


def _timestamp(value, what: str) -> str:
    text = _string(value, what)
    datetime.fromisoformat(text)  # ValueError names the bad text
    return text


def _identity(value, what: str) -> Identity:
    if not isinstance(value, dict) or set(value) != {"sha256", "width", "height", "frame"}:
        raise ValueError(f"{what} must be an object with sha256, width, height and frame")
    digest = _string(value["sha256"], f"{what}.sha256")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{what}.sha256 must be 64 hexadecimal digits")
    sizes = [value[k] for k in ("width", "height")]
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sizes):
        raise ValueError(f"{what} must give a width and height of at least 1 pixel")
    return Identity(digest, sizes[0], sizes[1], _frame(value["frame"], f"{what}.frame"))


def from_json(data) -> Annotation:
    """The Annotation in parsed JSON ``data``; ValueError says what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a fetalview sidecar (no 'format': 'fetalview-sidecar')")
    version = data.get("version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise ValueError(f"sidecar version {version!r} is not supported (this fetalview reads "
                         f"versions {', '.join(map(str, READABLE_VERSIONS))}); it may come "
                         "from a newer fetalview")
    required = ("scan", "ellipse", "auto_ellipse", "edited")
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    if not isinstance(data["edited"], bool):
        raise ValueError(f"edited must be true or false, not {data['edited']!r}")
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise ValueError(f"extra must be an object, not {extra!r}")
    return Annotation(
        scan=_string(data["scan"], "scan"),
        ellipse=_optional(data["ellipse"], _ellipse, "ellipse"),
        auto_ellipse=_optional(data["auto_ellipse"], _ellipse, "auto_ellipse"),
        edited=data["edited"],
        model_version=_optional(data.get("model_version"), _string, "model_version"),
        confidence=_optional(data.get("confidence"), _confidence, "confidence"),
        pixel_size=_optional(data.get("pixel_size"), _pixel_size, "pixel_size"),
        frame=_optional(data.get("frame"), _frame, "frame"),
        extra=extra,
        saved_at=_optional(data.get("saved_at"), _timestamp, "saved_at"),
        identity=_optional(data.get("identity"), _identity, "identity"),
        unknown={k: v for k, v in data.items() if k not in KNOWN_FIELDS},
        confirmed=_optional(data.get("confirmed"), signoff_from_json, "confirmed"),
    )


def mismatch(annotation: Annotation, identity: Identity, scan_name: str) -> str | None:
    """Why ``annotation`` cannot belong to the scan ``scan_name`` whose frame has ``identity``;
    None when it does. The one check every annotation passes before it is shown."""
    frame = annotation.frame or 0
    if frame != identity.frame:
        return f"it is of frame {frame}, not of frame {identity.frame}"
    saved = annotation.identity
    if saved is None:  # version 1: only the name tells
        if annotation.scan != scan_name:
            return f"it was saved for {annotation.scan!r}"
    elif (saved.width, saved.height) != (identity.width, identity.height):
        return (f"it was made on a {saved.width}x{saved.height} image, this scan is "
                f"{identity.width}x{identity.height}")
    elif saved != identity:
        return ("it was made on other pixels: the scan was replaced, the sidecar copied, or "
                "this version reads the file differently")
    try:
        check_fits_scan(annotation, identity.width, identity.height)
    except SidecarError as exc:
        return str(exc)
    return None


def check_belongs(annotation: Annotation, scan_name: str, pixels: np.ndarray,
                  frame: int = 0) -> None:
    """Raise SidecarMismatch when ``annotation`` was not made on these pixels (``frame`` of
    the scan ``scan_name``): for whatever uses a saved measurement without opening the scan
    in the app (a report sent to the PACS), so a stale one is never passed on."""
    why = mismatch(annotation, identity_of(pixels, frame), scan_name)
    if why is not None:
        raise SidecarMismatch(f"the saved measurement does not belong to {scan_name} ({why}); "
                              "open it in fetalview to measure it afresh")


def check_fits_scan(annotation: Annotation, width: int, height: int) -> None:
    """Raise SidecarError when a saved contour cannot belong to a ``width`` x ``height`` scan.

    The bounds are loose on purpose (centre within ``FIT_MARGIN`` image sizes of the scan,
    semi-axes under ``FIT_MARGIN`` diagonals), far beyond anything a handle drag reaches, so a
    person's edit is never refused; what lies outside them comes from a damaged or foreign file
    and would break drawing (pixel coordinates overflow).
    """
    reach = FIT_MARGIN * math.hypot(width, height)
    for what, e in (("ellipse", annotation.ellipse), ("auto_ellipse", annotation.auto_ellipse)):
        if e is not None and not (abs(e.cx - width / 2) <= FIT_MARGIN * width
                                  and abs(e.cy - height / 2) <= FIT_MARGIN * height
                                  and e.a <= reach and e.b <= reach):
            raise SidecarError(f"the saved {what} lies far outside this {width}x{height} scan")


def _check_sizes(data) -> None:
    """Refuse a list or object longer than ``MAX_ITEMS`` anywhere in ``data`` (no recursion:
    the JSON parser already refused deeper nesting than Python's recursion allows)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, (list, dict)):
            if len(value) > MAX_ITEMS:
                raise ValueError(f"damaged: a list of {len(value)} items (at most {MAX_ITEMS})")
            stack.extend(value.values() if isinstance(value, dict) else value)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing (without reading on) a file over ``MAX_BYTES``."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SidecarError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise SidecarError(f"{path}: damaged, larger than {MAX_BYTES // 2**20} MB (a "
                           "measurement takes a few kB)")
    return data


def parse_sidecar(path: Path, raw: bytes) -> Annotation:
    """The annotation in ``raw``, the bytes of the file ``path`` (named in errors)."""
    try:
        data = json.loads(raw.decode("utf-8"))
        _check_sizes(data)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, a 5000-digit number,
        # brackets nested thousands deep, a list of millions: a damaged (or hostile) file
        raise SidecarError(f"{path}: damaged, not a valid sidecar ({str(exc)[:200]})") from None
    try:
        return from_json(data)
    except ValueError as exc:
        raise SidecarError(f"{path}: {exc}") from None


def read_sidecar(path: Path) -> Annotation:
    """One sidecar file; SidecarError (naming the file) for anything unreadable or invalid."""
    path = Path(path)
    return parse_sidecar(path, _read_bytes(path))
