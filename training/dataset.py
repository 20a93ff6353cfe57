"""The HC18 folder layout, the subject-wise split, and the preprocessed training cache."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from fetalview.core.io.hc18 import annotation_ellipse, annotation_path, read_pixel_size_csv, subject_id
from fetalview.core.io.scans import load_scan
from fetalview.core.io.outputs import write_atomic
from fetalview.core.model.preprocess import Letterbox


@dataclass(frozen=True)
class LabelledScan:
    scan: Path
    annotation: Path
    pixel_size_mm: float
    hc_mm: float

    @property
    def subject(self) -> str:
        return subject_id(self.scan.name)


def find_labelled_scans(data_dir: Path) -> list[LabelledScan]:
    """Scans with an outline annotation and a pixel size, from an HC18-style folder.

    Accepts the challenge's root (``training_set/`` + ``training_set_pixel_size_and_HC.csv``) or
    a folder holding both scans and a CSV.
    """
    data_dir = Path(data_dir)
    scan_dir = data_dir / "training_set" if (data_dir / "training_set").is_dir() else data_dir
    # The challenge's test CSV reuses the training file names, so only a CSV that carries the
    # reference HC ("..._and_HC.csv") may label scans.
    csvs = sorted(data_dir.glob("*pixel_size*HC*.csv")) or sorted(scan_dir.glob("*pixel_size*HC*.csv"))
    if not csvs:
        raise FileNotFoundError(f"no HC18 '..._pixel_size_and_HC.csv' in {data_dir}")
    rows = read_pixel_size_csv(csvs[0])
    found = []
    for name, row in sorted(rows.items()):
        scan = scan_dir / name
        ann = annotation_path(scan)
        if scan.is_file() and ann.is_file():
            found.append(LabelledScan(scan, ann, row["pixel_size_mm"], row.get("hc_mm", float("nan"))))
    if not found:
        raise FileNotFoundError(f"no scan with an annotation found in {scan_dir}")
    return found


def split_by_subject(subjects: list[str], val_fraction: float = 0.2, seed: int = 0,
                     folds: int = 0, fold: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and validation scans; all frames of one subject fall on one side.

    Frames of one examination look alike, so an image-wise split would leak and inflate the
    validation figures. With ``folds`` > 1 (cross-validation), the subjects are cut into that
    many groups of (nearly) equal size and group ``fold`` validates; ``val_fraction`` is then
    unused. Every subject validates in exactly one fold.
    """
    unique = sorted(set(subjects))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(unique))
    if folds > 1:
        if not 0 <= fold < folds:
            raise ValueError(f"fold {fold} does not exist (folds 0 to {folds - 1})")
        chosen = np.array_split(order, folds)[fold]
    else:
        chosen = order[:max(1, round(len(unique) * val_fraction))]
    val_subjects = {unique[i] for i in chosen}
    is_val = np.array([s in val_subjects for s in subjects])
    return np.nonzero(~is_val)[0], np.nonzero(is_val)[0]


def target_mask(annotation_file: Path, shape: tuple[int, int]) -> np.ndarray:
    """The filled head ellipse (0/255) of an outline annotation, boundary on the ring's centre."""
    ring = cv2.imread(str(annotation_file), cv2.IMREAD_GRAYSCALE)
    if ring is None:
        raise ValueError(f"cannot read annotation {annotation_file}")
    return annotation_ellipse(ring).filled_mask(shape, supersample=4)


def build_cache(scans: list[LabelledScan], grid_shape: tuple[int, int], out: Path) -> Path:
    """Letterboxed scans and soft target masks at model resolution in one compact .npz.

    Computing this once keeps epochs fast and gives a compact file that can travel to a GPU box.
    """
    def records():
        for item in scans:
            scan = load_scan(item.scan)
            yield (item.scan.name, item.subject, scan.pixels,
                   target_mask(item.annotation, scan.pixels.shape), item.pixel_size_mm, item.hc_mm)

    return write_cache(records(), len(scans), grid_shape, out)


def write_cache(records, count: int, grid_shape: tuple[int, int], out: Path) -> Path:
    """The cache file from ``count`` records of (name, subject, pixels, mask 0/255, pixel size
    mm, reference HC mm), each scan and mask letterboxed into the model grid."""
    images = np.zeros((count, *grid_shape), np.uint8)
    masks = np.zeros((count, *grid_shape), np.uint8)
    names, subjects, pixel_sizes, hcs = [], [], [], []
    for i, (name, subject, pixels, mask, pixel_size_mm, hc_mm) in enumerate(
            tqdm(records, total=count, desc="preparing", unit="scan")):
        box = Letterbox(pixels.shape, grid_shape)
        images[i] = box.to_grid(pixels)
        masks[i] = box.to_grid(mask)
        names.append(name)
        subjects.append(subject)
        pixel_sizes.append(pixel_size_mm)
        hcs.append(hc_mm)
    out.parent.mkdir(parents=True, exist_ok=True)
    encoded, offsets = encode_images(images)
    data = io.BytesIO()  # written whole: a killed 'prepare' must not leave a cache 'train' loads
    np.savez_compressed(data, images_webp=encoded, images_offsets=offsets,
                        images_shape=np.array(images.shape), masks=masks, names=np.array(names),
                        subjects=np.array(subjects), pixel_size_mm=np.array(pixel_sizes),
                        hc_mm=np.array(hcs))
    write_atomic(out, data.getvalue())
    return out


def encode_images(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scans as lossless WebP, one after another, and where each ends.

    The cache travels to a GPU machine beside the repository under a 64 MiB limit. Ultrasound
    speckle defeats the .npz's zlib (801 scans at 256x384: 42 MB); lossless WebP predicts each
    pixel from its neighbours and takes 26 MB. Every scan is decoded back and compared here, so
    a cache never holds a pixel that differs from the letterboxed scan.
    """
    chunks = []
    for image in images:
        ok, chunk = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 101])  # > 100: lossless
        if not ok or not np.array_equal(_decode(chunk, image.shape), image):
            raise RuntimeError("this OpenCV cannot write lossless WebP: the cache needs it")
        chunks.append(chunk.ravel())
    return np.concatenate(chunks), np.cumsum([len(c) for c in chunks])


def _decode(chunk: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    image = cv2.imdecode(chunk, cv2.IMREAD_GRAYSCALE)
    if image is None or image.shape != tuple(shape):
        raise ValueError("a scan in the cache does not decode as a lossless WebP of its grid")
    return image


def decode_images(encoded: np.ndarray, offsets: np.ndarray, shape: np.ndarray) -> np.ndarray:
    images = np.empty(tuple(shape), np.uint8)
    starts = np.concatenate([[0], offsets[:-1]])
    for i, (start, end) in enumerate(zip(starts, offsets)):
        images[i] = _decode(encoded[start:end], images.shape[1:])
    return images


@dataclass(frozen=True)
class Cache:
    images: np.ndarray
    masks: np.ndarray
    names: np.ndarray
    subjects: np.ndarray

    @classmethod
    def load(cls, path: Path) -> Cache:
        """A cache written by ``write_cache`` (scans as WebP) or one holding the scans as a
        plain ``images`` array (caches written before, and the tests' phantoms)."""
        with np.load(path) as z:
            if "images" in z:
                images = z["images"]
            else:
                images = decode_images(z["images_webp"], z["images_offsets"], z["images_shape"])
            return cls(images, z["masks"], z["names"], z["subjects"])
