"""``python -m training {prepare,train,folds,evaluate,cv,calibrate,onnx,export}``: rebuild
fetalview's weights.

``training`` is not installed with fetalview (the app never imports it): run it from the
checkout's root as ``python -m training ...``, or from any folder as
``python /path/to/checkout/training ...``. Relative paths are taken from where it is run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]

if not __package__:  # ``python /path/to/checkout/training``: run it as the package it is
    import runpy

    sys.path[:] = [str(CHECKOUT)] + [p for p in sys.path
                                     if Path(p or ".").resolve() != CHECKOUT / "training"]
    runpy.run_module("training", run_name="__main__", alter_sys=True)
    raise SystemExit(0)

DEFAULT_GRID = "256x384"
GRID_HELP = "network input ROWSxCOLS, multiples of 16 (default %(default)s)"


def _grid(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected ROWSxCOLS, e.g. 256x384") from None
    if h % 16 or w % 16:
        raise argparse.ArgumentTypeError("rows and columns must be multiples of 16")
    return h, w


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    prep = sub.add_parser("prepare", help="letterbox scans and targets into a compact .npz cache")
    prep.add_argument("--data", type=Path, required=True, help="HC18-style folder")
    prep.add_argument("--out", type=Path, required=True, help="the .npz cache to write")
    prep.add_argument("--grid", type=_grid, default=DEFAULT_GRID, help=GRID_HELP)

    tr = sub.add_parser("train", help="train (or --resume) a Residual UNet")
    src = tr.add_mutually_exclusive_group()
    src.add_argument("--data", type=Path, help="HC18-style folder (cached into the run folder)")
    src.add_argument("--cache", type=Path, help="a cache written by 'prepare'")
    tr.add_argument("--run", type=Path, required=True, help="folder for checkpoints and weights")
    tr.add_argument("--grid", type=_grid, default=DEFAULT_GRID, help=GRID_HELP)
    tr.add_argument("--epochs", type=int, default=60, help="epochs (default %(default)s)")
    tr.add_argument("--batch-size", type=int, default=16,
                    help="scans per batch (default %(default)s)")
    tr.add_argument("--lr", type=float,
                    help="peak learning rate (default 2e-3; 1e-4 with --init-weights, where a "
                         "short fine-tune at 3e-4 made HC worse on validation)")
    tr.add_argument("--base-width", type=int, default=16,
                    help="channels of the first level, doubled at each level (default %(default)s)")
    tr.add_argument("--depth", type=int, default=5,
                    help="levels of the UNet (default %(default)s)")
    tr.add_argument("--val-fraction", type=float, default=0.2,
                    help="share of subjects held out for validation (default %(default)s)")
    tr.add_argument("--seed", type=int, default=0,
                    help="seed of the split and of training (default %(default)s)")
    tr.add_argument("--folds", type=int, default=0, metavar="K",
                    help="cross-validate by subject: K folds (e.g. 5); --val-fraction unused")
    tr.add_argument("--fold", type=int, default=0, help="the fold that validates (0..K-1)")
    tr.add_argument("--screens", action="store_true",
                    help="augment with scanner-screen clutter (sector masks, text, calipers, "
                         "ticks, grey-scale bars, UI strips) and the second pass's zoom")
    tr.add_argument("--jpeg", action="store_true",
                    help="augment with JPEG re-encoding, as scanners and PACS store scans: half "
                         "the training scans at quality 30-95 (validation scans untouched)")
    tr.add_argument("--time-budget", type=float, default=0.0, metavar="MIN",
                    help="from the second epoch on, lower --epochs to fit this many minutes")
    tr.add_argument("--device", default="auto", help="auto, cpu or cuda")
    tr.add_argument("--resume", action="store_true", help="continue the run in --run")
    tr.add_argument("--steps-per-epoch", type=int, default=0, metavar="N",
                    help="batches per epoch (default: one pass over the training scans)")
    tr.add_argument("--init-weights", type=Path, metavar="FILE",
                    help="fine-tune these fetalview weights (their architecture and grid are "
                         "used; e.g. resources/weights/resunet.safetensors)")
    tr.add_argument("--extra-sidecars", type=Path, metavar="DIR",
                    help="a folder of scans whose app sidecars hold corrected and confirmed "
                         "contours: added to training (never to validation)")
    tr.add_argument("--sidecar-fallback", type=Path, metavar="DIR",
                    help="the app's data folder, for sidecars it could not save beside scans")
    tr.add_argument("--extra-share", type=float, default=0.25,
                    help="share of training draws taken from the corrections (default 0.25)")

    fo = sub.add_parser("folds", help="train the K cross-validation folds side by side on one "
                                      "GPU inside a time limit (for a lent GPU machine)")
    fo.add_argument("--cache", type=Path, required=True, help="a cache written by 'prepare'")
    fo.add_argument("--out", type=Path, required=True,
                    help="where each fold's foldK.tar, device.json and folds.log go")
    fo.add_argument("--minutes", type=float, required=True,
                    help="the whole command's limit; each fold trains for 1.5 min less")
    fo.add_argument("--folds", type=int, default=5, help="K (default %(default)s)")
    fo.add_argument("--epochs", type=int, default=383,
                    help="epochs if time allows (default %(default)s)")
    fo.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    fo.add_argument("--runs", type=Path, default=Path("runs"),
                    help="folder of the run folders foldK (default %(default)s)")
    fo.add_argument("train_args", nargs=argparse.REMAINDER,
                    help="after --: more options for every 'train' (e.g. -- --batch-size 32)")

    ev = sub.add_parser("evaluate", help="validation figures through the app's own pipeline")
    ev.add_argument("--data", type=Path, required=True, help="HC18-style folder")
    ev.add_argument("--weights", type=Path, help="default: the bundled weights")
    ev.add_argument("--val-fraction", type=float, default=0.2,
                    help="the validation share the weights were trained with (default "
                         "%(default)s)")
    ev.add_argument("--seed", type=int, default=0,
                    help="the seed the weights were trained with (default %(default)s)")
    ev.add_argument("--folds", type=int, default=0, metavar="K",
                    help="the cross-validation split the weights were trained on (see train)")
    ev.add_argument("--fold", type=int, default=0, help="the fold that validates (0..K-1)")
    ev.add_argument("--passes", type=int, choices=[1, 2], default=1,
                    help="1 (the app's default): segment the image area once; 2: locate the "
                         "head, then segment a crop around it")
    ev.add_argument("--reuse", type=Path, metavar="CSV",
                    help="per-scan CSV of an earlier run with the same weights, pipeline and "
                         "options: its scans are not measured again")
    ev.add_argument("--csv", type=Path, help="per-scan results")
    ev.add_argument("--json", type=Path, help="summary figures")
    ev.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ev.add_argument("--backend", default="auto", choices=["auto", "openvino", "torch"],
                    help="runtime (default as in the app: OpenVINO on the CPU, torch on CUDA)")
    ev.add_argument("--tta", action="store_true",
                    help="flip test-time augmentation (off by default, as in the app)")
    ev.add_argument("--agreement", type=Path, metavar="FILE.csv",
                    help="also measure each scan on PyTorch (CPU) and write both HC per scan")

    cv = sub.add_parser("cv", help="each fold's figures and their mean +/- sd, from "
                                   "'evaluate --json' files")
    cv.add_argument("summaries", type=Path, nargs="+", help="one 'evaluate --json' file per fold")

    cal = sub.add_parser("calibrate", help="review-flag figures from an 'evaluate --csv' file")
    cal.add_argument("csv", type=Path, help="per-scan CSV written by 'evaluate --csv'")

    ox = sub.add_parser("onnx", help="write the ONNX graph of a weights file beside it")
    ox.add_argument("weights", type=Path, help="a fetalview .safetensors file")

    ex = sub.add_parser("export", help="evaluate a run and bundle its weights and ONNX graph "
                                       "with a model card")
    what = ex.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", type=Path, help="the training run to bundle")
    what.add_argument("--refresh", action="store_true",
                      help="re-export the graph of the weights already in --dest and re-measure "
                           "their card, keeping its training record")
    ex.add_argument("--data", type=Path, required=True, help="HC18-style folder, for the card")
    ex.add_argument("--command", dest="train_command",
                    help="the exact training command, for the model card (with --run)")
    ex.add_argument("--dest", type=Path, default=CHECKOUT / "resources" / "weights",
                    help="where the bundle goes (default: this checkout's resources/weights)")
    ex.add_argument("--screens", type=Path, metavar="JSON",
                    help="summary written by 'python -m benchmarks.screens', for the card")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "prepare":
        from .dataset import build_cache, find_labelled_scans
        print(build_cache(find_labelled_scans(args.data), args.grid, args.out))
    elif args.command == "train":
        from .dataset import build_cache, find_labelled_scans
        from .train import TrainPlan, train
        if args.resume:
            plan = None
        else:
            if args.cache is None and args.data is None:
                raise SystemExit("train: give --data or --cache (or --resume)")
            if args.init_weights:
                from fetalview.core.model.weights import load_model
                config = load_model(args.init_weights).config
                args.base_width, args.depth = config.base_width, config.depth
                args.grid = (config.input_height, config.input_width)
            cache = args.cache or args.run / f"cache_{args.grid[0]}x{args.grid[1]}.npz"
            if args.cache is None and not cache.exists():
                build_cache(find_labelled_scans(args.data), args.grid, cache)
            extra = ""
            if args.extra_sidecars:
                from .corrections import build_correction_cache, find_corrections
                corrections = find_corrections(args.extra_sidecars, args.sidecar_fallback)
                print(f"{len(corrections)} corrected and confirmed measurements in {args.extra_sidecars}")
                extra = str(build_correction_cache(
                    corrections, args.grid, args.run / f"corrections_{args.grid[0]}x{args.grid[1]}.npz"))
            lr = args.lr or (1e-4 if args.init_weights else 2e-3)
            plan = TrainPlan(cache=str(cache), epochs=args.epochs, batch_size=args.batch_size,
                             lr=lr, base_width=args.base_width, depth=args.depth,
                             val_fraction=args.val_fraction, seed=args.seed,
                             time_budget_min=args.time_budget,
                             steps_per_epoch=args.steps_per_epoch,
                             init_weights=str(args.init_weights or ""), extra_cache=extra,
                             extra_share=args.extra_share, folds=args.folds, fold=args.fold,
                             screens=args.screens, jpeg=args.jpeg)
        print(train(plan, args.run, device=args.device, resume=args.resume))
    elif args.command == "folds":
        from .folds import run_folds
        extra = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
        return run_folds(args.cache, args.out, args.minutes, args.folds, args.device,
                         args.epochs, args.runs, extra)
    elif args.command == "cv":
        from .folds import cv_table
        print(cv_table(args.summaries))
    elif args.command == "evaluate":
        from .evaluate import evaluate, print_summary
        summary = evaluate(args.data, args.weights, val_fraction=args.val_fraction,
                           seed=args.seed, folds=args.folds, fold=args.fold,
                           device=args.device, tta=args.tta, passes=args.passes,
                           csv_path=args.csv, json_path=args.json, backend=args.backend,
                           agreement_csv=args.agreement, reuse=args.reuse)
        print_summary(summary)
    elif args.command == "calibrate":
        from .calibrate import calibration_table
        for figures in calibration_table(args.csv):
            print(figures.line())
    elif args.command == "onnx":
        from .onnx_export import export_onnx
        print(export_onnx(args.weights))
    elif args.command == "export":
        from .export import export, refresh
        if args.refresh:
            print(refresh(args.dest, args.data, args.screens))
        elif not args.train_command:
            raise SystemExit("export: --run needs --command (the exact training command)")
        else:
            print(export(args.run, args.data, args.train_command, args.dest, args.screens))
    return 0


if __name__ == "__main__":
    sys.exit(main())
