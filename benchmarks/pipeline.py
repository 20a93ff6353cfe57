"""Per-scan CPU time of fetalview's pipeline, stage by stage, against a ResNet-34 U-Net peer.

    python -m benchmarks.pipeline [FOLDER] [--limit N] [--threads N] [--tta] [--no-peer]

Stages: load (read + convert the file), preprocess (letterbox, normalise), forward (the
network, with the mirror image when TTA is on), post-process (logits back to scan pixels,
head region, ellipse fit, review inputs), measure (HC/BPD/OFD). End to end is their sum per
scan; medians over the folder are printed. The peer gets the same scans, the same input grid
and the same pre- and post-processing (its random weights would give post-processing a
meaningless map, so the peer's end to end reuses fetalview's post-process time).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from fetalview.bundled import sample_scans_dir
from fetalview.core.imageio import list_scans, load_scan
from fetalview.core.measurement import measure
from fetalview.core.model import parameter_count
from fetalview.core.postprocess import head_region
from fetalview.core.segmenter import Segmenter

from .peer import ResNet34UNet

STAGES = ("load", "preprocess", "forward", "post-process", "measure")


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def time_scan(segmenter: Segmenter, path: Path) -> dict[str, float]:
    scan, t_load = _timed(load_scan, path)
    (box, batch), t_prep = _timed(segmenter.prepare, scan.pixels)
    grid_logits, t_fwd = _timed(segmenter.forward, batch)
    region, t_post = _timed(lambda: head_region(box.to_scan(grid_logits)))
    _, t_meas = _timed(lambda: region and measure(region.ellipse, None))
    return dict(zip(STAGES, (t_load, t_prep, t_fwd, t_post, t_meas)))


def time_peer_forward(peer: torch.nn.Module, batch: torch.Tensor, tta: bool) -> float:
    with torch.inference_mode():
        x = torch.cat([batch, torch.flip(batch, dims=[-1])]) if tta else batch
        _, t = _timed(peer, x)
    return t


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", type=Path, default=sample_scans_dir())
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--tta", action="store_true", help="flip test-time augmentation, as --tta")
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--repeats", type=int, default=1, help="passes over the folder")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    tta = args.tta
    segmenter = Segmenter(device="cpu", tta=tta)
    paths = list_scans(args.folder)[:args.limit]
    peer = None if args.no_peer else ResNet34UNet().eval()
    time_scan(segmenter, paths[0])  # warm-up: allocator, oneDNN kernels
    rows, peer_fwd = [], []
    for _ in range(args.repeats):
        for path in paths:
            rows.append(time_scan(segmenter, path))
            if peer is not None:
                _, batch = segmenter.prepare(load_scan(path).pixels)
                peer_fwd.append(time_peer_forward(peer, batch, tta))
    med = {s: statistics.median(r[s] for r in rows) for s in STAGES}
    e2e = statistics.median(sum(r.values()) for r in rows)
    print(f"{len(rows)} scan timings from {args.folder} on the CPU, torch threads "
          f"{torch.get_num_threads()}, TTA {'on' if tta else 'off'}, grid "
          f"{segmenter.grid_shape[0]}x{segmenter.grid_shape[1]}")
    print(f"fetalview Residual UNet: {parameter_count(segmenter.model):,} parameters")
    for s in STAGES:
        print(f"  {s:<13} {1000 * med[s]:7.1f} ms")
    print(f"  {'end to end':<13} {1000 * e2e:7.1f} ms (median of per-scan sums)")
    if peer is not None:
        fwd = statistics.median(peer_fwd)
        peer_e2e = statistics.median(
            r["load"] + r["preprocess"] + f + r["post-process"] + r["measure"]
            for r, f in zip(rows, peer_fwd))
        print(f"peer U-Net/ResNet-34: {parameter_count(peer):,} parameters")
        print(f"  forward       {1000 * fwd:7.1f} ms  ({fwd / med['forward']:.1f}x fetalview)")
        print(f"  end to end    {1000 * peer_e2e:7.1f} ms  ({peer_e2e / e2e:.1f}x fetalview)")


if __name__ == "__main__":
    main()
