"""Bundle a run's weights and their ONNX graph into resources/ with the model card that makes
them trustworthy."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from fetalview.core.model.network import parameter_count
from fetalview.core.model.card import MODEL_CARD, sha256_of
from fetalview.core.io.outputs import write_atomic
from fetalview.core.model.weights import load_model, read_header

from .dataset import find_labelled_scans, split_by_subject
from .evaluate import AGREEMENT_MM, LARGE_ERROR_MM, evaluate, read_rows
from .onnx_export import export_onnx
from .train import WEIGHTS

BUNDLED_NAME = "resunet.safetensors"
#: Per-scan HC of the ONNX and PyTorch paths on the validation split, beside the card.
AGREEMENT_CSV = "onnx_torch_agreement.csv"
PER_SCAN = "validation_per_scan.csv"
PER_SCAN_TWO_PASS = "validation_two_pass_per_scan.csv"
GALLERY = "worst_validation_scans.png"


def export(run_dir: Path, data_dir: Path, train_command: str, dest: Path,
           screens_json: Path | None = None) -> Path:
    """Bundle ``run_dir``'s weights and their ONNX graph into ``dest`` with a model card whose
    figures are measured through the app's pipeline (``screens_json``: the summary of
    ``benchmarks.screens`` for these weights, shown on the card)."""
    source = run_dir / WEIGHTS
    meta = read_header(source)
    plan = json.loads(meta.get("plan", "{}"))
    history_file = run_dir / "history.json"
    history = json.loads(history_file.read_text()) if history_file.exists() else []
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / BUNDLED_NAME
    write_atomic(target, source.read_bytes())
    target.chmod(0o644)
    record = {
        "epochs": int(meta.get("epochs", len(history))),
        "plan": plan,
        "train_command": train_command,
        "data": f"HC18 training subset in {data_dir} (van den Heuvel et al. 2018, CC BY 4.0)",
        "last_epoch": history[-1] if history else {},
    }
    return _bundle(target, data_dir, record, screens_json)


def refresh(dest: Path, data_dir: Path, screens_json: Path | None = None) -> Path:
    """Export the ONNX graph of the weights already bundled in ``dest`` again and re-measure
    their card, keeping its training record: after a change of runtime or pipeline."""
    card = json.loads((dest / MODEL_CARD).read_text())
    record = {key: card[key] for key in ("epochs", "plan", "train_command", "data", "last_epoch")}
    return _bundle(dest / card["weights"], data_dir, record, screens_json)


def _bundle(target: Path, data_dir: Path, record: dict, screens_json: Path | None) -> Path:
    """Write the graph beside ``target``, measure both through the app's pipeline (OpenVINO
    on the CPU, as the app runs it; PyTorch for the agreement), the same with two passes and
    with TTA, draw the worst-ten gallery, then the card."""
    from fetalview.core.model.segmenter import Segmenter

    from .gallery import worst_gallery

    dest = target.parent
    graph = export_onnx(target)
    plan = record["plan"]
    split = dict(val_fraction=plan.get("val_fraction", 0.2), seed=plan.get("seed", 0),
                 folds=plan.get("folds", 0), fold=plan.get("fold", 0), device="cpu",
                 backend="openvino")
    summary = evaluate(data_dir, target, csv_path=dest / PER_SCAN,
                       agreement_csv=dest / AGREEMENT_CSV, **split)
    worst = summary["agreement"]["hc_abs_diff_mm_max"]
    if not worst <= AGREEMENT_MM:
        raise RuntimeError(f"the ONNX graph and the weights measure up to {worst:.3f} mm of HC "
                           f"apart on a validation scan (limit {AGREEMENT_MM} mm): not bundled")
    with_tta = evaluate(data_dir, target, tta=True, **split)
    two_pass = evaluate(data_dir, target, passes=2, csv_path=dest / PER_SCAN_TWO_PASS, **split)
    for measured in (summary, with_tta, two_pass):  # the card's neighbour, not this checkout's path
        measured["weights"] = graph.name
    scans = find_labelled_scans(data_dir)
    _, val_idx = split_by_subject([s.subject for s in scans], split["val_fraction"],
                                  split["seed"], split["folds"], split["fold"])
    gallery = worst_gallery(list(read_rows(dest / PER_SCAN).values()),
                            [scans[i] for i in val_idx],
                            Segmenter(target, device="cpu", backend="openvino"),
                            dest / GALLERY)
    model = load_model(target)
    card = {
        "weights": target.name,
        "sha256": sha256_of(target),
        "onnx": graph.name,
        "onnx_sha256": sha256_of(graph),
        "architecture": "ResidualUNet",
        "config": model.config.as_dict(),
        "parameters": parameter_count(model),
        **record,
        "validation": summary,
        "validation_tta": with_tta,
        "validation_two_pass": two_pass,
        "gallery": gallery,
        **({"screens": json.loads(Path(screens_json).read_text())} if screens_json else {}),
        "exported": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    write_card(dest, card)
    return target


def write_card(dest: Path, card: dict) -> None:
    """The card as JSON and as Markdown, each written whole or not at all; both are rendered
    before either is written, so a card that cannot be rendered replaces neither."""
    text = render_card(card)
    write_atomic(dest / MODEL_CARD, json.dumps(card, indent=2).encode())
    write_atomic(dest / "MODEL_CARD.md", text.encode())


def validation_table(columns: list[tuple[str, dict]]) -> str:
    figures = [
        ("Dice, mean / median", lambda v: f"{v['dice_mean']:.4f} / {v['dice_median']:.4f}"),
        ("HC absolute difference, mean", lambda v: f"{v['hc_abs_diff_mm_mean']:.2f} mm"),
        ("HC absolute difference, median", lambda v: f"{v['hc_abs_diff_mm_median']:.2f} mm"),
        ("HC absolute difference, 95th percentile", lambda v: f"{v['hc_abs_diff_mm_p95']:.2f} mm"),
        ("Hausdorff distance, mean", lambda v: f"{v['hausdorff_mm_mean']:.2f} mm"),
        (f"scans more than {LARGE_ERROR_MM:.0f} mm off", lambda v: (
            f"{v['scans_over_10mm']} of {v['scans']} ({100 * v['share_over_10mm']:.1f}%)")),
        ("flagged for review (low confidence, uncertain HC, no head)", lambda v: (
            f"{v['low_confidence_flags']} ({100 * v['low_confidence_flags'] / v['scans']:.0f}%)")),
    ]
    lines = ["| figure | " + " | ".join(name for name, _ in columns) + " |",
             "| --- |" + " --- |" * len(columns)]
    lines += [f"| {label} | " + " | ".join(fmt(v) for _, v in columns) + " |"
              for label, fmt in figures]
    return "\n".join(lines)


def band_table(columns: list[tuple[str, dict]]) -> str:
    lines = ["| reference HC | scans | " + " | ".join(
        f"{name}: mean abs / bias / > {LARGE_ERROR_MM:.0f} mm / flagged" for name, _ in columns)
        + " |", "| --- | --- |" + " --- |" * len(columns)]
    for bands in zip(*(v["bands"] for _, v in columns)):
        lines.append(f"| {bands[0]['band']} | {bands[0]['scans']} | " + " | ".join(
            f"{b['hc_abs_diff_mm_mean']:.2f} mm / {b['hc_bias_mm']:+.2f} mm / "
            f"{b['scans_over_10mm']} / {100 * b['flagged_share']:.0f}%" for b in bands) + " |")
    return "\n".join(lines)


def screens_section(screens: dict | None) -> str:
    """Bare scans against the same scans drawn into scanner screens (benchmarks/screens.py)."""
    if not screens:
        return ""
    lines = ["", "### Scanner screens", "The same validation scans bare and drawn into "
             "scanner screens (1280x960, grey UI, burned-in text, grey-scale bar, depth ticks, a "
             "stray caliper mark), through `fetalview measure`'s pipeline, measured by",
             f"`{screens['command']}`:", "",
             "| set | scans | mean abs HC error | median | 95th pct | > 10 mm off (not flagged) "
             "| flagged | mean / max HC change vs bare |", "| --- |" + " --- |" * 7]
    for name, s in screens["sets"].items():
        change = (f"{s['vs_bare_mm_mean']:.2f} / {s['vs_bare_mm_max']:.2f} mm"
                  if "vs_bare_mm_mean" in s else "")
        lines.append(f"| {name} | {s['scans']} | {s['hc_abs_mm_mean']:.2f} mm | "
                     f"{s['hc_abs_mm_median']:.2f} mm | {s['hc_abs_mm_p95']:.2f} mm | "
                     f"{s['over_10mm']} ({s['over_10mm_unflagged']}) | {s['flagged']} | {change} |")
    return "\n".join(lines) + "\n"


def render_card(card: dict) -> str:
    v, t, a = card["validation"], card["validation_tta"], card["validation"]["agreement"]
    columns = [("one pass (default)", v), ("two passes", card["validation_two_pass"]),
               ("one pass with --tta", t)]
    last = card["last_epoch"]
    c = card["config"]
    return f"""# Model card: fetalview Residual UNet ({card['weights']}, {card['onnx']})

- {card['weights']}, the weights (PyTorch: training, CUDA), sha256:
  `{card['sha256']}`
- {card['onnx']}, the same network as an ONNX graph (OpenVINO: the app and `fetalview
  measure` on the CPU), sha256: `{card['onnx_sha256']}`
- Architecture: Residual UNet, base width {c['base_width']}, depth {c['depth']},
  {card['parameters']:,} parameters, input grid {c['input_height']}x{c['input_width']}
  (scans letterboxed, aspect ratio kept), one logit per pixel (inside the fetal head).
- Exported: {card['exported']}

## Data and split
{card['data']}. Targets: the filled ellipse fitted through every pixel of the sonographer's
outline (boundary on the ring's centre line). Split **by subject** (all frames of one
examination on one side), validation fraction {card['plan'].get('val_fraction')},
seed {card['plan'].get('seed')}: {v['scans']} validation scans of {v['subjects']} subjects;
the rest trained.

## Training
- Command: `{card['train_command']}`
- Epochs: {card['epochs']}; batch {card['plan'].get('batch_size')}; AdamW lr
  {card['plan'].get('lr')} (1 warm-up epoch, cosine decay), weight decay
  {card['plan'].get('weight_decay')}; Dice + BCE; flips, rotation, scale, shift, gamma, contrast,
  speckle-like noise, all on the training device.
- Last epoch: loss {last.get('loss', float('nan')):.4f}, validation Dice on the model grid
  {last.get('val_dice_grid', float('nan')):.4f}.

## Validation (scan resolution, through the app's own loader, segmenter, ellipse fit and HC)
Measured on {v['runtime']} by `python -m training evaluate --data DATA --device cpu`
(the app's default: one forward pass of {card['onnx']} over the image area), the same with
`--passes 2` (the head located first, then a crop around it segmented again) and with `--tta`
(the scan and its mirror image averaged, 1.8 times the forward time):

{validation_table(columns)}

Per-scan figures: `{PER_SCAN}` and `{PER_SCAN_TWO_PASS}` beside this card.

### By reference HC
Signed bias is model minus reference; "flagged" counts scans flagged for review or with no
head found.

{band_table(columns[:2])}
{screens_section(card.get('screens'))}
### The ten worst validation scans (one pass, the default)
![worst ten]({GALLERY})

Green: the sonographer's ellipse; orange: the model's outline (before the ellipse fit). Worst
first: {', '.join(card.get('gallery', []))}.

The two files measure alike: on each of the {a['scans']} validation scans, HC through
{card['onnx']} and through {card['weights']} ({a['reference']}) differ by at most
{a['hc_abs_diff_mm_max']:.2g} mm (limit {a['within_mm']} mm; smallest Dice between their head
regions {a['dice_min']:.4f}). Per scan: `{AGREEMENT_CSV}`, written by
`python -m training evaluate --data DATA --device cpu --agreement {AGREEMENT_CSV}`.

## Limits
Trained on one public data set (HC18: two Dutch hospitals' scanners, all trimesters, standard
transthalamic plane). Other scanners, planes or pathologies may do worse; every automatic
contour is decision support to be confirmed by a clinician.
"""
