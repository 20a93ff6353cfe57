"""Per-scan CPU time of fetalview's pipeline, stage by stage, against the same network on
PyTorch and a ResNet-34 U-Net peer.

    python -m benchmarks.pipeline [FOLDER] [--limit N] [--threads N] [--tta] [--passes 1|2]
                                  [--no-peer]

Stages: load (read + convert the file), image area (the DICOM regions' rectangle or the one
found in the pixels), pass 1 and pass 2 (each: letterbox, normalise and the network on
OpenVINO, as the app and the batch command run it, with the mirror image when TTA is on; pass 2
is 0 where it is skipped or with ``--passes 1``), windows (cropping, locating the head on the
first pass's grid, pasting logits back to scan pixels), post-process (head region, ellipse
fit, review inputs), measure (HC/BPD/OFD). End to end is their sum per scan; medians over the
folder are printed. In the same run, scan by scan, the same graph on ONNX Runtime (when
installed), the same weights on PyTorch (the torch path, channels-last) and the peer get the
very grid images fetalview's passes got; their end to end reuses fetalview's other stages (the
peer's random weights would give post-processing a meaningless map). PyTorch and the peer need
torch (``pip install -e ".[train]"``).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import numpy as np

from fetalview.bundled import sample_scans_dir
from fetalview.core.model.imagearea import image_area
from fetalview.core.io.scans import list_scans, load_scan
from fetalview.core.measure.biometry import measure
from fetalview.core.model.postprocess import head_region
from fetalview.core.model.preprocess import normalise
from fetalview.core.model.segmenter import Segmenter, torch_installed
from fetalview.core.model.twopass import scan_logits

from .runtimes import onnxruntime_runs

STAGES = ("load", "image area", "pass 1", "pass 2", "windows", "post-process", "measure")
PASSES = ("pass 1", "pass 2")


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def time_scan(segmenter: Segmenter, path: Path) -> tuple[dict[str, float], list[np.ndarray]]:
    """Stage times of one scan, and the grid images its passes gave the network."""
    grids, forwards = [], []

    def backend(grid_image: np.ndarray) -> np.ndarray:
        grids.append(grid_image)
        out, t = _timed(segmenter.grid_logits, grid_image)
        forwards.append(t)
        return out

    scan, t_load = _timed(load_scan, path)
    area, t_area = _timed(image_area, scan.pixels, scan.regions)
    logits, t_passes = _timed(scan_logits, backend, scan.pixels, area, segmenter.grid_shape,
                              segmenter.passes)
    region, t_post = _timed(head_region, logits)
    _, t_meas = _timed(lambda: region and measure(region.ellipse, None))
    windows = t_passes - sum(forwards)
    forwards += [0.0] * (2 - len(forwards))
    return dict(zip(STAGES, (t_load, t_area, *forwards, windows, t_post, t_meas))), grids


def time_forwards(forward, grids: list[np.ndarray], tta: bool) -> float:
    """Another network's time on the grids of one scan, prepared as fetalview's passes are."""
    t = time.perf_counter()
    for grid in grids:
        batch = normalise(grid)[None, None]
        forward(np.concatenate([batch, batch[..., ::-1]]) if tta else batch)
    return time.perf_counter() - t


def _report(name: str, forwards: list[float], rows: list[dict[str, float]], e2e: float,
            fetalview_forward: float) -> None:
    """A second network's passes, and its end to end with fetalview's other stages."""
    fwd = statistics.median(forwards)
    other = statistics.median(sum(r.values()) - r["pass 1"] - r["pass 2"] + f
                              for r, f in zip(rows, forwards))
    print(name)
    print(f"  passes        {1000 * fwd:7.1f} ms  ({fwd / fetalview_forward:.2f}x fetalview)")
    print(f"  end to end    {1000 * other:7.1f} ms  ({other / e2e:.2f}x fetalview)")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", type=Path, default=sample_scans_dir())
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--threads", type=int, default=0,
                   help="threads of each runtime (0: each runtime's default)")
    p.add_argument("--tta", action="store_true", help="flip test-time augmentation, as --tta")
    p.add_argument("--passes", type=int, choices=[1, 2], default=1,
                   help="1 (the app's default) or 2: locate, then delineate")
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--repeats", type=int, default=1, help="passes over the folder")
    args = p.parse_args(argv)
    tta, threads = args.tta, args.threads or None
    segmenter = Segmenter(device="cpu", tta=tta, backend="openvino", threads=threads,
                          passes=args.passes)
    # Other networks, given the batches fetalview's backend got (the mirror image included)
    others = onnxruntime_runs(threads) if importlib.util.find_spec("onnxruntime") else {}
    on_torch = peer = None
    if torch_installed():
        import torch

        from fetalview.core.model.network import parameter_count

        from .peer import ResNet34UNet
        on_torch = Segmenter(device="cpu", backend="torch", threads=threads)
        others[f"the same network on {on_torch.device_label} (channels-last)"] = \
            on_torch.backend.run
        if not args.no_peer:
            peer = ResNet34UNet().eval()

            def on_peer(batch: np.ndarray):
                with torch.inference_mode():
                    return peer(torch.from_numpy(batch))
            others["peer U-Net/ResNet-34 on PyTorch"] = on_peer
    paths = list_scans(args.folder)[:args.limit]
    _, warm = time_scan(segmenter, paths[0])  # warm-up: allocator, kernels
    for run in others.values():
        time_forwards(run, warm, tta)
    rows, other_fwd = [], {name: [] for name in others}
    for _ in range(args.repeats):
        for path in paths:
            times, grids = time_scan(segmenter, path)
            rows.append(times)
            for name, run in others.items():
                other_fwd[name].append(time_forwards(run, grids, tta))
    med = {s: statistics.median(r[s] for r in rows) for s in STAGES}
    e2e = statistics.median(sum(r.values()) for r in rows)
    own = statistics.median(r["pass 1"] + r["pass 2"] for r in rows)
    print(f"{len(rows)} scan timings from {args.folder}, TTA {'on' if tta else 'off'}, "
          f"{args.passes} pass(es) (the second run on {sum(r['pass 2'] > 0 for r in rows)} of "
          f"{len(rows)}), grid {segmenter.grid_shape[0]}x{segmenter.grid_shape[1]}, threads "
          f"{threads or 'default'}")
    print(f"fetalview Residual UNet on {segmenter.device_label}")
    for s in STAGES:
        print(f"  {s:<13} {1000 * med[s]:7.1f} ms")
    print(f"  {'end to end':<13} {1000 * e2e:7.1f} ms (median of per-scan sums)")
    both = [sum(r.values()) for r in rows if r["pass 2"] > 0]
    if both:
        print(f"  {'':<13} {1000 * statistics.median(both):7.1f} ms on the scans that took both "
              f"passes (pass 2 alone {1000 * statistics.median(r['pass 2'] for r in rows if r['pass 2'] > 0):.1f} ms)")
    if on_torch is not None:
        print(f"parameters: fetalview {parameter_count(on_torch.backend.model):,}"
              + (f", peer {parameter_count(peer):,}" if peer is not None else "")
              + f"; torch threads {torch.get_num_threads()}")
    for name, forwards in other_fwd.items():
        _report(name, forwards, rows, e2e, own)


if __name__ == "__main__":
    main()
