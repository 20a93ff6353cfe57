"""Per-scan CPU time of fetalview's pipeline, stage by stage, against the same network on
PyTorch and a ResNet-34 U-Net peer.

    python -m benchmarks.pipeline [FOLDER] [--limit N] [--threads N] [--tta] [--no-peer]

Stages: load (read + convert the file), preprocess (letterbox, normalise), forward (the
network on ONNX Runtime, as the app and the batch command run it, with the mirror image when
TTA is on), post-process (logits back to scan pixels, head region, ellipse fit, review
inputs), measure (HC/BPD/OFD). End to end is their sum per scan; medians over the folder are
printed. In the same run, scan by scan, the same weights' forward pass on PyTorch (the torch
path, channels-last) and the peer's get the same input batch; their end to end reuses
fetalview's other stages (the peer's random weights would give post-processing a
meaningless map). Both need torch (``pip install -e ".[train]"``); without it only the ONNX
Runtime figures are printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from fetalview.bundled import sample_scans_dir
from fetalview.core.imageio import list_scans, load_scan
from fetalview.core.measurement import measure
from fetalview.core.postprocess import head_region
from fetalview.core.segmenter import Segmenter, torch_installed

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


def time_peer_forward(peer, batch: np.ndarray, tta: bool) -> float:
    import torch
    with torch.inference_mode():
        x = torch.from_numpy(np.concatenate([batch, batch[..., ::-1]]) if tta else batch)
        _, t = _timed(peer, x)
    return t


def _report(name: str, forwards: list[float], rows: list[dict[str, float]], e2e: float,
            fetalview_forward: float) -> None:
    """A second network's forward pass, and its end to end with fetalview's other stages."""
    fwd = statistics.median(forwards)
    other = statistics.median(
        r["load"] + r["preprocess"] + f + r["post-process"] + r["measure"]
        for r, f in zip(rows, forwards))
    print(name)
    print(f"  forward       {1000 * fwd:7.1f} ms  ({fwd / fetalview_forward:.2f}x fetalview)")
    print(f"  end to end    {1000 * other:7.1f} ms  ({other / e2e:.2f}x fetalview)")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", type=Path, default=sample_scans_dir())
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--threads", type=int, default=0,
                   help="threads of each runtime (0: each runtime's default)")
    p.add_argument("--tta", action="store_true", help="flip test-time augmentation, as --tta")
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--repeats", type=int, default=1, help="passes over the folder")
    args = p.parse_args(argv)
    tta, threads = args.tta, args.threads or None
    segmenter = Segmenter(device="cpu", tta=tta, backend="onnxruntime", threads=threads)
    on_torch = peer = None
    if torch_installed():
        import torch

        from fetalview.core.model import parameter_count

        from .peer import ResNet34UNet
        on_torch = Segmenter(device="cpu", tta=tta, backend="torch", threads=threads)
        peer = None if args.no_peer else ResNet34UNet().eval()
    paths = list_scans(args.folder)[:args.limit]
    time_scan(segmenter, paths[0])  # warm-up: allocator, kernels
    if on_torch is not None:
        on_torch.forward(segmenter.prepare(load_scan(paths[0]).pixels)[1])
    rows, torch_fwd, peer_fwd = [], [], []
    for _ in range(args.repeats):
        for path in paths:
            rows.append(time_scan(segmenter, path))
            _, batch = segmenter.prepare(load_scan(path).pixels)
            if on_torch is not None:
                torch_fwd.append(_timed(on_torch.forward, batch)[1])
            if peer is not None:
                peer_fwd.append(time_peer_forward(peer, batch, tta))
    med = {s: statistics.median(r[s] for r in rows) for s in STAGES}
    e2e = statistics.median(sum(r.values()) for r in rows)
    print(f"{len(rows)} scan timings from {args.folder}, TTA {'on' if tta else 'off'}, grid "
          f"{segmenter.grid_shape[0]}x{segmenter.grid_shape[1]}, threads "
          f"{threads or 'default'}")
    print(f"fetalview Residual UNet on {segmenter.device_label}")
    for s in STAGES:
        print(f"  {s:<13} {1000 * med[s]:7.1f} ms")
    print(f"  {'end to end':<13} {1000 * e2e:7.1f} ms (median of per-scan sums)")
    if on_torch is not None:
        print(f"parameters: fetalview {parameter_count(on_torch.backend.model):,}"
              + (f", peer {parameter_count(peer):,}" if peer is not None else "")
              + f"; torch threads {torch.get_num_threads()}")
        _report(f"the same network on {on_torch.device_label} (channels-last)", torch_fwd, rows,
                e2e, med["forward"])
    if peer is not None:
        _report("peer U-Net/ResNet-34 on PyTorch", peer_fwd, rows, e2e, med["forward"])

if __name__ == "__main__":
    main()
