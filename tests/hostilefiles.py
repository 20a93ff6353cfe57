"""A corpus of bad inputs, generated (no downloads), for the hostile-input tests of the core
and of the app: unreadable and odd-but-valid scans (DICOM included), sidecars and weights files
that are not what they claim."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pydicom
import torch
from PIL import Image
from pydicom.fileset import FileSet
from pydicom.uid import DeflatedExplicitVRLittleEndian, generate_uid
from safetensors.torch import save_file

from dicomfiles import gradient, jpeg_dicom, make_dicom, region
from fetalview.bundled import default_weights, sample_scans_dir
from fetalview.core.io.scans import load_scan
from fetalview.core.model.network import ModelConfig, ResidualUNet
from fetalview.core.record.sidecar import MAX_ITEMS, identity_of, sidecar_path


def encoded(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (valid CRC) over a few bytes of data:
    what a decompression bomb looks like before anything is decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = b"IDAT" + zlib.compress(b"\0" * 64)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + struct.pack(">I", len(idat) - 4) + idat
            + struct.pack(">I", zlib.crc32(idat)) + b"\0\0\0\0IEND\xaeB`\x82")


def scan_like(mode: str = "L", size=(96, 64)) -> Image.Image:
    ramp = np.tile(np.linspace(0, 255, size[0], dtype=np.uint8), (size[1], 1))
    return Image.fromarray(ramp).convert(mode)


def unreadable_scans() -> dict[str, bytes]:
    """File name -> content, for files that must be refused with a ScanLoadError."""
    png = encoded(scan_like(), "PNG")
    jpg = encoded(scan_like(), "JPEG")
    tif = encoded(scan_like(), "TIFF")
    rng = np.random.default_rng(5)
    flipped = bytearray(png)
    flipped[60:80] = bytes(20)  # zeroed compressed data: the CRC no longer matches
    return {
        "empty.png": b"", "empty.jpg": b"", "empty.tif": b"", "empty.dcm": b"",
        "truncated.png": png[: len(png) // 2], "truncated.jpg": jpg[: len(jpg) // 2],
        "truncated.tif": tif[: len(tif) // 3], "signature_only.png": png[:8],
        "header_only.png": png[:33], "damaged_data.png": bytes(flipped),
        "one_pixel.png": encoded(Image.new("L", (1, 1)), "PNG"),
        "thin_strip.png": encoded(Image.new("L", (4000, 3)), "PNG"),
        "huge_header.png": png_with_size(30000, 30000),
        "text.png": b"this is not an image\n", "notes.jpg": b"Patient notes: ...\n" * 20,
        "page.tif": b"<html><body>Not found</body></html>",
        "random.png": rng.bytes(4096), "random.jpeg": rng.bytes(4096),
        "random.dcm": rng.bytes(4096), "archive.png": b"PK\x03\x04" + rng.bytes(200),
        "dicom_preamble_only.dcm": bytes(128) + b"DICM",
    }


def readable_oddities() -> dict[str, bytes]:
    """Odd but valid images: they load, as 8-bit grayscale, whatever their format or name."""
    deep = np.tile(np.linspace(0, 4095, 96).astype(np.uint16), (64, 1))
    hot = deep.copy()
    hot[0, 0] = 65535
    animation = [scan_like(), scan_like().transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                 Image.new("L", (96, 64), 40)]
    nan_float = np.full((64, 96), np.nan, np.float32)
    nan_float[:, :48] = 3.5
    return {
        "sixteen_bit.png": encoded(Image.fromarray(deep), "PNG"),
        "rgba.png": encoded(scan_like("RGBA"), "PNG"),
        "palette.png": encoded(scan_like("P"), "PNG"),
        "cmyk.jpg": encoded(scan_like("CMYK"), "JPEG"),
        "gray_alpha.png": encoded(scan_like("LA"), "PNG"),
        "bilevel.png": encoded(scan_like("1"), "PNG"),
        "float_nan.tif": encoded(Image.fromarray(nan_float), "TIFF"),
        "png_named.jpg": encoded(scan_like(), "PNG"),
        "jpeg_named.tif": encoded(scan_like(), "JPEG"),
        "png_as.tif": encoded(scan_like(), "PNG"),
        "gif_named.png": encoded(scan_like("P"), "GIF"),
        "black.png": encoded(Image.new("L", (96, 64)), "PNG"),
        "uniform_grey.png": encoded(Image.new("L", (96, 64), 128), "PNG"),
        "exif_rotated.jpg": exif_rotated(),
        "float_zero_to_one.tif": encoded(Image.fromarray(
            np.asarray(scan_like(), np.float32) / 255.0), "TIFF"),
        "sixteen_bit_hot_pixel.png": encoded(Image.fromarray(hot), "PNG"),
        "thumbnail_first.tif": pages([scan_like(size=(24, 16)), scan_like()], "TIFF"),
        "animated.png": pages(animation, "PNG"),
        "animation.gif": pages(animation, "GIF"),
    }


#: Words of the note (``Scan.notes``) each of these files must load with.
NOTED = {"thumbnail_first.tif": "picture 2, the largest (96x64), is measured",
         "animated.png": "animation of 3 frames: only the first",
         "animation.gif": "animation of 3 frames: only the first",
         "pixel_spacing_150.dcm": "DICOM Pixel Spacing gives 150 mm per pixel",
         "region_50cm.dcm": "ultrasound region 1 gives 500 mm per pixel",
         "broken_calibration.dcm": "ultrasound region 1 gives -0.1 mm per pixel"}


def pages(images: list[Image.Image], fmt: str) -> bytes:
    """A multi-page (TIFF) or animated (PNG, GIF) file of ``images``, in order."""
    return encoded(images[0], fmt, save_all=True, append_images=images[1:])


def exif_rotated() -> bytes:
    """``scan_like()`` stored lying on its side, with the EXIF orientation (6: turn 90 degrees
    clockwise to view) a phone or a scanner's camera export writes."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(scan_like().transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95,
                   exif=exif.tobytes())


def dicom_oddities(folder: Path) -> list[Path]:
    """DICOM files that load (96x64 like the other oddities): deflated, burned-in patient
    details, and calibrations outside the plausible range (measured in pixels, with a note)."""
    pixels = np.asarray(scan_like())
    return [make_dicom(folder / "deflated.dcm", pixels, syntax=DeflatedExplicitVRLittleEndian),
             make_dicom(folder / "burned_in.dcm", pixels, burned_in="YES"),
             make_dicom(folder / "pixel_spacing_150.dcm", pixels, pixel_spacing=[150, 150]),
             make_dicom(folder / "region_50cm.dcm", pixels, regions=[region(0, 0, 95, 63, 50)]),
             make_dicom(folder / "broken_calibration.dcm", pixels,
                        regions=[region(0, 0, 95, 63, delta_cm=-0.01)])]


def damaged_jpeg() -> bytes:
    """A JPEG cut short and closed with an end marker: pydicom's decoders fill the missing half
    with grey and say nothing."""
    whole = encoded(scan_like(size=(256, 192)), "JPEG", quality=90)
    return whole[: len(whole) // 2] + b"\xff\xd9"


def write_corpus(folder: Path) -> tuple[list[Path], list[Path]]:
    """The unreadable and the odd-but-readable scans, DICOM cases included, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    bad = [folder / name for name in unreadable_scans()]
    for path, data in zip(bad, unreadable_scans().values()):
        path.write_bytes(data)
    bad.append(make_dicom(folder / "no_pixels.dcm", gradient(), with_pixels=False))
    bad.append(make_dicom(folder / "palette_without_lut.dcm", gradient(), "PALETTE COLOR"))
    bad.append(jpeg_dicom(folder / "damaged_jpeg.dcm", damaged_jpeg(), (192, 256)))
    whole = make_dicom(folder / "whole.dcm", gradient()).read_bytes()
    (folder / "whole.dcm").unlink()
    bad.append(folder / "truncated.dcm")
    bad[-1].write_bytes(whole[: len(whole) - 1500])
    odd = [folder / name for name in readable_oddities()]
    for path, data in zip(odd, readable_oddities().values()):
        path.write_bytes(data)
    return bad, odd + dicom_oddities(folder)


def dicomdir_folder(folder: Path, pixels: list[np.ndarray]) -> list[Path]:
    """A DICOM export as a CD or PACS writes it: a DICOMDIR at ``folder``'s root naming one
    image per entry of ``pixels`` in sub-folders (file names without a suffix)."""
    staging = folder.parent / (folder.name + "_staging")
    staging.mkdir(parents=True)
    files, study = FileSet(), generate_uid()
    for i, frame in enumerate(pixels):
        ds = pydicom.dcmread(make_dicom(staging / f"{i}.dcm", frame))
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.StudyTime, ds.StudyID = \
            study, generate_uid(), "101500", "1"
        ds.SeriesNumber, ds.InstanceNumber = 1, i + 1
        files.add(ds)
    files.write(folder)
    shutil.rmtree(staging)
    return sorted(Path(folder, *instance.ReferencedFileID) for instance in files)


def bad_weights(folder: Path) -> dict[str, Path]:
    """Weights files that must be refused with a WeightsError, by what is wrong with them."""
    folder.mkdir(parents=True, exist_ok=True)
    good = default_weights().read_bytes()
    files = {
        "truncated": good[: len(good) // 2],
        "header_only": good[:200],
        "empty": b"",
        "random": np.random.default_rng(1).bytes(5000),
        "huge_header_length": struct.pack("<Q", 2**62) + b"{}",
        "json_not_header": struct.pack("<Q", 2) + b"[]",
        "json_nested_deep": struct.pack("<Q", 200_000) + b"[" * 100_000 + b"]" * 100_000,
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / f"{name}.safetensors"
        paths[name].write_bytes(data)
    paths["pickle"] = folder / "pickle.safetensors"
    torch.save(ResidualUNet(ModelConfig(base_width=4, depth=2)).state_dict(), paths["pickle"])
    paths["pickle_pt"] = folder / "model.pt"
    paths["pickle_pt"].write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    # A fetalview header over the tensors of another network.
    paths["other_architecture"] = folder / "other.safetensors"
    save_file({"conv.weight": torch.zeros(8, 1, 3, 3)}, str(paths["other_architecture"]),
              metadata={"format": "fetalview-resunet-1",
                        "config": json.dumps(ModelConfig(base_width=4, depth=2).as_dict())})
    for name, config in (("oversized", ModelConfig(base_width=1024, depth=8)),
                         ("absurd_depth", ModelConfig(depth=10**9))):
        paths[name] = folder / f"{name}.safetensors"
        save_file({"w": torch.zeros(2)}, str(paths[name]),
                  metadata={"format": "fetalview-resunet-1", "config": json.dumps(config.as_dict())})
    paths["foreign_safetensors"] = folder / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(paths["foreign_safetensors"]))
    paths["bad_config"] = folder / "bad_config.safetensors"
    save_file({"w": torch.zeros(2)}, str(paths["bad_config"]),
              metadata={"format": "fetalview-resunet-1", "config": '{"depth": "deep"}'})
    return paths


def bad_sidecars() -> dict[str, bytes]:
    good = {"format": "fetalview-sidecar", "version": 1, "scan": "a.png", "edited": True,
            "ellipse": {"cx": 50, "cy": 40, "a": 30, "b": 20, "angle_deg": 10},
            "auto_ellipse": None}
    def variant(**changes):
        d = {**good, **changes}
        return json.dumps({k: v for k, v in d.items() if v != "<drop>"}).encode()
    return {
        "invalid_json": b'{"format": "fetalview-sidecar", ', "empty": b"",
        "binary": bytes(range(256)), "a_list": b"[1, 2, 3]", "utf16": "{}".encode("utf-16"),
        "missing_ellipse": variant(ellipse="<drop>"), "missing_scan": variant(scan="<drop>"),
        "edited_as_text": variant(edited="yes"), "scan_as_number": variant(scan=7),
        "negative_axis": variant(ellipse={**good["ellipse"], "a": -3}),
        "ellipse_as_list": variant(ellipse=[1, 2, 3]),
        "confidence_too_high": variant(confidence=7.5),
        "nan_confidence": variant(confidence=float("nan")),
        "future_version": variant(version=99), "other_format": variant(format="labelme"),
        "bad_timestamp": variant(saved_at="yesterday"),
        "pixel_size_as_text": variant(pixel_size="0.1 mm"),
        "axis_beyond_float": variant(ellipse={**good["ellipse"], "a": 1.25}).replace(b"1.25",
                                                                                      b"1e999"),
        "frame_of_5000_digits": variant(frame=0).replace(b'"frame": 0', b'"frame": ' + b"9" * 5000),
        "nested_deep": b"[" * 100_000 + b"]" * 100_000,
    }


#: An edited contour as a clinician would have saved it, for the sidecar traps below.
EDITED = {"format": "fetalview-sidecar", "version": 2, "scan": "scan.png", "frame": None,
          "ellipse": {"cx": 380.0, "cy": 270.0, "a": 160.0, "b": 120.0, "angle_deg": 5.0},
          "auto_ellipse": {"cx": 378.0, "cy": 268.0, "a": 150.0, "b": 118.0, "angle_deg": 4.0},
          "edited": True, "model_version": "resunet-x", "confidence": 0.9,
          "pixel_size": {"mm_per_pixel": 0.15, "source": "typed by user"}, "extra": {},
          "saved_at": "2026-01-05T10:00:00+00:00"}


def _identity_json(scan: Path) -> dict:
    i = identity_of(load_scan(scan).pixels)
    return {"sha256": i.sha256, "width": i.width, "height": i.height, "frame": i.frame}


def sidecar_traps(folder: Path) -> dict[str, Path]:
    """Scans with a sidecar the app must neither trust nor overwrite, by what is wrong; each
    scan is a real sample, so it opens and measures. The sidecars hold a person's edit.

    - newer_version: written by a future fetalview (version 3): kept byte for byte.
    - unknown_fields: a readable version with fields this version does not know: they
      survive the next save.
    - replaced_scan: edited, then another scan copied over the file: set aside, measured afresh.
    - copied_sidecar: a version-1 sidecar of a.png copied beside this scan: the same.
    - missing_frame: names frame 7 of a still image: the scan still opens, the sidecar aside.
    - huge: 200 MB (100 M numbers would follow): refused before parsing, kept.
    - long_list: under the size cap, a list over the item cap: refused as damaged, kept.
    - linked_to_scan: the sidecar's name is a link to the scan itself: the scan is never
      written over.
    - pipe: a named pipe (POSIX only): opening it would wait for ever; left alone.
    """
    folder.mkdir(parents=True, exist_ok=True)
    samples = sample_scans_dir()
    traps = {}
    names = ["newer_version", "unknown_fields", "replaced_scan", "copied_sidecar",
             "missing_frame", "huge", "long_list", "linked_to_scan"]
    names += ["pipe"] if os.name == "posix" else []
    for name in names:
        traps[name] = folder / f"{name}.png"
        traps[name].write_bytes((samples / "050_HC.png").read_bytes())
    own = _identity_json(traps["newer_version"])

    def write(name: str, **fields) -> None:
        data = {**EDITED, "scan": traps[name].name, "identity": own, **fields}
        data = {k: v for k, v in data.items() if v != "<drop>"}
        sidecar_path(traps[name]).write_text(json.dumps(data, indent=2))

    write("newer_version", version=3, review={"state": "signed", "by": "Dr A"})
    write("unknown_fields", review={"state": "signed", "by": "Dr A"}, site="ward 4")
    write("replaced_scan", identity=_identity_json(samples / "249_HC.png"))
    write("copied_sidecar", version=1, identity="<drop>", scan="a.png")
    write("missing_frame", frame=7, identity={**own, "frame": 7})
    with open(sidecar_path(traps["huge"]), "wb") as f:
        f.write(b'{"format": "fetalview-sidecar", "version": 2, "extra": {"n": [0')
        f.truncate(200 * 2**20)  # sparse: the size is what must be refused, unread
    write("long_list", extra={"points": list(range(MAX_ITEMS + 1))})
    sidecar_path(traps["linked_to_scan"]).symlink_to(traps["linked_to_scan"].name)
    if "pipe" in traps:
        os.mkfifo(sidecar_path(traps["pipe"]))
    return traps


def app_enders(folder: Path) -> dict[str, Path]:
    """Files that ended the app (exit 134) when named on its command line, by what they hold:
    implausible calibrations, a palette image without its palette, a pixel-size CSV row of
    150 mm beside a good scan (that scan must open, without mm), and a good scan whose file
    name is Latin-1 bytes (not UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "spacing_150mm": make_dicom(folder / "spacing_150mm.dcm", gradient(),
                                    pixel_spacing=[150, 150]),
        "region_50cm_per_pixel": make_dicom(folder / "region_50cm.dcm", gradient(),
                                            regions=[region(0, 0, 63, 47, delta_cm=50)]),
        "palette_without_lut": make_dicom(folder / "palette_no_lut.dcm", gradient(),
                                          photometric="PALETTE COLOR"),
    }
    csv_folder = folder / "csv_row_150"
    csv_folder.mkdir()
    files["pixel_size_csv_row_150"] = csv_folder / "050_HC.png"
    files["pixel_size_csv_row_150"].write_bytes((sample_scans_dir() / "050_HC.png").read_bytes())
    (csv_folder / "exam_pixel_size.csv").write_text("filename,pixel size(mm)\n050_HC.png,150\n")
    latin1 = folder / "latin1"
    latin1.mkdir()
    files["latin1_name"] = latin1 / os.fsdecode(b"caf\xe9.png")
    files["latin1_name"].write_bytes((sample_scans_dir() / "249_HC.png").read_bytes())
    return files


#: File names a clinic's file system holds that are not plain text: a Latin-1 byte (not UTF-8),
#: and names a spreadsheet would run as a formula (OWASP's CSV injection).
LATIN1_NAME = os.fsdecode(b"caf\xe9_HC.png")
FORMULA_NAMES = ["=HYPERLINK(1).png", "+SUM(1).png", "-2+3.png", "@SUM(1).png", "\tTAB.png",
                 "\rCR.png"]


def hostile_names(folder: Path, scan: bytes) -> list[Path]:
    """``scan`` under each name of LATIN1_NAME and FORMULA_NAMES in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in [LATIN1_NAME] + FORMULA_NAMES]
    for path in paths:
        path.write_bytes(scan)
    return paths


def output_mistakes(scans: Path, elsewhere: Path) -> dict[str, list[str]]:
    """``fetalview measure`` options that point outputs at inputs or at each other, from issue
    9's red-team pass; ``scans`` holds 002_HC.png and test_pixel_size.csv (see
    ``scan_folder``). Each must be refused before any work, every file left as it was."""
    elsewhere.mkdir(parents=True, exist_ok=True)
    (elsewhere / "link_to_scan.csv").symlink_to(scans / "002_HC.png")
    (elsewhere / "002_HC_fetalview_mask.png").write_bytes(b"a file fetalview did not write")
    results = str(elsewhere / "results.csv")
    return {
        "out_over_a_scan": ["--out", str(scans / "002_HC.png")],
        "out_over_the_pixel_size_csv": ["--out", str(scans / "test_pixel_size.csv")],
        "out_over_the_given_pixel_size_csv": ["--pixel-size-csv", str(elsewhere / "sizes.csv"),
                                              "--out", str(elsewhere / "sizes.csv")],
        "out_named_like_a_scan": ["--out", str(elsewhere / "results.png")],
        "out_through_a_link_to_a_scan": ["--out", str(elsewhere / "link_to_scan.csv")],
        "out_is_a_folder": ["--out", str(scans)],
        "out_and_submission_one_file": ["--out", results, "--hc18-submission", results],
        "masks_folder_is_a_scan": ["--masks", str(scans / "002_HC.png")],
        "a_file_not_ours_at_a_mask_name": ["--masks", str(elsewhere)],
    }


def scan_folder(folder: Path, scan: bytes) -> Path:
    """A folder with one scan, 002_HC.png, and its pixel-size CSV, as in HC18."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "002_HC.png").write_bytes(scan)
    (folder / "test_pixel_size.csv").write_text("filename,pixel size(mm)\n002_HC.png,0.1\n")
    return folder
