"""The JSON sidecar beside a scan: what a person saw and corrected, kept so nothing is lost.

``<scan name>.fetalview.json`` holds the head ellipse on screen, the model's own result (for
"reset"), whether a person edited it, the pixel size with its source, and a free ``extra`` dict
for other features (e.g. gestational age). The app saves it after every change, atomically, so
killing the app at any moment leaves either the previous or the new file, never half of one.
When the scan's folder cannot be written (a read-only share, a CD) the sidecar goes to an
application-data folder instead, under a short hash of the scan's absolute path.

Reading validates every field and raises one error type, ``SidecarError``; nothing is returned
until the whole file parsed, so a damaged sidecar can never half-apply.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .geometry import Ellipse
from .pixelsize import PixelSize

FORMAT = "fetalview-sidecar"
VERSION = 1
SUFFIX = ".fetalview.json"
_ELLIPSE_KEYS = ("cx", "cy", "a", "b", "angle_deg")
FIT_MARGIN = 100  # see check_fits_scan


class SidecarError(Exception):
    """A sidecar could not be read or written; the message says which file and why."""


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


def sidecar_path(scan_path: Path) -> Path:
    """The sidecar's place beside the scan."""
    scan_path = Path(scan_path)
    return scan_path.with_name(scan_path.name + SUFFIX)


def fallback_path(scan_path: Path, fallback_root: Path) -> Path:
    """The sidecar's place under the app-data folder, one sub-folder per scan location.

    Hashing the absolute path keeps two scans with the same name in different folders apart.
    """
    scan_path = Path(scan_path)
    key = hashlib.sha256(str(scan_path.resolve()).encode("utf-8")).hexdigest()[:16]
    return Path(fallback_root) / key / (scan_path.name + SUFFIX)


# --- writing -------------------------------------------------------------------------------

def _ellipse_json(e: Ellipse | None) -> dict | None:
    return None if e is None else {k: float(getattr(e, k)) for k in _ELLIPSE_KEYS}


def to_json(annotation: Annotation) -> dict:
    ps = annotation.pixel_size
    return {
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
    }


def _file_mode(path: Path) -> int:
    """The replaced file's permissions, or what a plain ``open`` would give a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new, never a mix.

    The temporary file lives in the target folder (``os.replace`` is only atomic within one
    file system) and is flushed to disk before the rename.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; others may need to read it
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_annotation(scan_path: Path, annotation: Annotation, fallback_root: Path) -> Path:
    """Save beside the scan, else under ``fallback_root``; returns where it went.

    ``saved_at`` is stamped now, which is how ``load_annotation`` picks the newer of two copies.
    Raises SidecarError when neither place can be written.
    """
    stamp = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    payload = to_json(annotation)
    payload["saved_at"] = stamp
    try:
        data = json.dumps(payload, indent=2, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:  # a non-JSON value in ``extra``, or NaN
        raise SidecarError(f"cannot save the measurement of {annotation.scan}: {exc}") from None
    beside = sidecar_path(scan_path)
    try:
        write_atomic(beside, data)
        return beside
    except OSError as first:
        fallback = fallback_path(scan_path, fallback_root)
        try:
            fallback.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(fallback, data)
            return fallback
        except OSError as second:
            raise SidecarError(
                f"cannot save the measurement of {Path(scan_path).name}: beside the scan "
                f"({first.strerror or first}) nor in {fallback.parent} "
                f"({second.strerror or second})") from None


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


def from_json(data) -> Annotation:
    """The Annotation in parsed JSON ``data``; ValueError says what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a fetalview sidecar (no 'format': 'fetalview-sidecar')")
    version = data.get("version")
    if version != VERSION:
        raise ValueError(f"sidecar version {version!r} is not supported (this fetalview reads "
                         f"version {VERSION}); it may come from a newer fetalview")
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
    )


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


def read_sidecar(path: Path) -> Annotation:
    """One sidecar file; SidecarError (naming the file) for anything unreadable or invalid."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SidecarError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, a 5000-digit number,
        # brackets nested thousands deep: all a damaged (or hostile) file, never a crash
        raise SidecarError(f"{path}: damaged, not valid JSON ({str(exc)[:200]})") from None
    try:
        return from_json(data)
    except ValueError as exc:
        raise SidecarError(f"{path}: {exc}") from None


def _saved_time(annotation: Annotation) -> datetime:
    if annotation.saved_at is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    t = datetime.fromisoformat(annotation.saved_at)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def load_annotation(scan_path: Path, fallback_root: Path) -> Annotation | None:
    """The newest saved annotation of a scan from either place, or None if there is none.

    A damaged copy raises SidecarError, unless the other place holds a valid one (then the
    valid one wins: the damaged file is most likely an old one from an earlier crash).
    """
    found: list[Annotation] = []
    errors: list[SidecarError] = []
    for path in (sidecar_path(scan_path), fallback_path(scan_path, fallback_root)):
        if path.is_file():
            try:
                found.append(read_sidecar(path))
            except SidecarError as exc:
                errors.append(exc)
    if not found:
        if errors:
            raise errors[0]
        return None
    return max(found, key=_saved_time)  # max keeps the first (beside the scan) on a tie
