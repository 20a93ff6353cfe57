"""The batch's own overheads over many small files: ``fetalview measure`` on N generated scans
with an HC18-style pixel-size CSV beside them, timed whole and profiled, and the part spent
outside the network (``Segmenter.segment``) reported per scan.

    python -m benchmarks.batch_files [--count 500] [--top 12]

A small scan costs the network about the same as a large one (it is letterboxed to the model's
grid), so what this shows beyond the segmenter's time is what each file costs the batch itself:
listing, pixel-size lookup, loading, writing the row.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import cv2
import numpy as np

from fetalview.cli import main as fetalview

#: The batch's own per-file work, by where it is done, for the table printed after the run.
PARTS = (("batch.py", "expand_paths"), ("batch.py", "plan_batch"), ("batch.py", "lookup"),
         ("imageio.py", "load_scan"), ("postprocess.py", "head_region"),
         ("outputs.py", "write"), ("std.py", "update"))


def make_scans(folder: Path, count: int) -> None:
    """``count`` 120x90 PNGs, a bright ring on speckle, and their pixel sizes in a CSV."""
    rng = np.random.default_rng(0)
    lines = ["filename,pixel size(mm)"]
    for i in range(count):
        image = (rng.random((90, 120)) * 60).astype(np.uint8)
        cv2.ellipse(image, (60, 45), (35 + i % 5, 25), 10, 0, 360, 220, 3)
        cv2.imwrite(str(folder / f"{i:04d}_HC.png"), image)
        lines.append(f"{i:04d}_HC.png,{0.1 + (i % 50) / 1000:.3f}")
    (folder / "test_pixel_size.csv").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--top", type=int, default=0, help="also print this many profile lines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scans = Path(tmp) / "scans"
        scans.mkdir()
        make_scans(scans, args.count)
        profile = cProfile.Profile()
        start = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            profile.runcall(fetalview, ["measure", str(scans), "--out", str(Path(tmp) / "r.csv"),
                                        "--device", "cpu"])
        total = time.perf_counter() - start
    stats = pstats.Stats(profile)

    def cumulative(module: str, function: str) -> float:
        return sum(v[3] for k, v in stats.stats.items()
                   if k[2] == function and k[0].endswith(module))

    segment, start = cumulative("segmenter.py", "segment"), cumulative("segmenter.py", "__init__")
    rest = total - segment - start
    print(f"{args.count} scans: {total:.1f} s in all; the network {segment:.1f} s "
          f"(Segmenter.segment), loading it {start:.1f} s; the rest {rest:.1f} s, "
          f"{rest / args.count * 1000:.1f} ms per scan")
    for module, function in PARTS:
        print(f"  {function:<16} {cumulative(module, function):7.2f} s")
    if args.top:
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
