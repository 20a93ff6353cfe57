"""Bundle a run's weights and their ONNX graph into resources/ with the model card that makes
them trustworthy."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from fetalview.core.model import parameter_count
from fetalview.core.modelcard import MODEL_CARD, sha256_of
from fetalview.core.weights import load_model, read_header

from .evaluate import AGREEMENT_MM, LARGE_ERROR_MM, evaluate
from .onnx_export import export_onnx
from .train import WEIGHTS

BUNDLED_NAME = "resunet.safetensors"
#: Per-scan HC of the ONNX and PyTorch paths on the validation split, beside the card.
AGREEMENT_CSV = "onnx_torch_agreement.csv"


def export(run_dir: Path, data_dir: Path, train_command: str, dest: Path) -> Path:
    """Bundle ``run_dir``'s weights and their ONNX graph into ``dest`` with a model card whose
    figures are measured through the app's pipeline."""
    source = run_dir / WEIGHTS
    meta = read_header(source)
    plan = json.loads(meta.get("plan", "{}"))
    history_file = run_dir / "history.json"
    history = json.loads(history_file.read_text()) if history_file.exists() else []
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / BUNDLED_NAME
    shutil.copyfile(source, target)
    target.chmod(0o644)
    record = {
        "epochs": int(meta.get("epochs", len(history))),
        "plan": plan,
        "train_command": train_command,
        "data": f"HC18 training subset in {data_dir} (van den Heuvel et al. 2018, CC BY 4.0)",
        "last_epoch": history[-1] if history else {},
    }
    return _bundle(target, data_dir, record)


def refresh(dest: Path, data_dir: Path) -> Path:
    """Export the ONNX graph of the weights already bundled in ``dest`` again and re-measure
    their card, keeping its training record: after a change of runtime or pipeline."""
    card = json.loads((dest / MODEL_CARD).read_text())
    record = {key: card[key] for key in ("epochs", "plan", "train_command", "data", "last_epoch")}
    return _bundle(dest / card["weights"], data_dir, record)


def _bundle(target: Path, data_dir: Path, record: dict) -> Path:
    """Write the graph beside ``target``, measure both through the app's pipeline (ONNX Runtime
    on the CPU, as the app runs it; PyTorch for the agreement), then the card."""
    dest = target.parent
    graph = export_onnx(target)
    plan = record["plan"]
    split = dict(val_fraction=plan.get("val_fraction", 0.2), seed=plan.get("seed", 0),
                 device="cpu", backend="onnxruntime")
    summary = evaluate(data_dir, target, csv_path=dest / "validation_per_scan.csv",
                       agreement_csv=dest / AGREEMENT_CSV, **split)
    worst = summary["agreement"]["hc_abs_diff_mm_max"]
    if not worst <= AGREEMENT_MM:
        raise RuntimeError(f"the ONNX graph and the weights measure up to {worst:.3f} mm of HC "
                           f"apart on a validation scan (limit {AGREEMENT_MM} mm): not bundled")
    with_tta = evaluate(data_dir, target, tta=True, **split)
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
        "exported": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    (dest / MODEL_CARD).write_text(json.dumps(card, indent=2))
    (dest / "MODEL_CARD.md").write_text(render_card(card))
    return target


def render_card(card: dict) -> str:
    v, t, a = card["validation"], card["validation_tta"], card["validation"]["agreement"]
    last = card["last_epoch"]
    c = card["config"]
    return f"""# Model card: fetalview Residual UNet ({card['weights']}, {card['onnx']})

- {card['weights']}, the weights (PyTorch: training, CUDA), sha256:
  `{card['sha256']}`
- {card['onnx']}, the same network as an ONNX graph (ONNX Runtime: the app and `fetalview
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
(the app's default, one forward pass of {card['onnx']}) and the same with `--tta` (the scan
and its mirror image averaged, 1.8 times the forward time):

| figure | default | with --tta |
| --- | --- | --- |
| Dice, mean / median | {v['dice_mean']:.4f} / {v['dice_median']:.4f} | {t['dice_mean']:.4f} / {t['dice_median']:.4f} |
| HC absolute difference, mean | {v['hc_abs_diff_mm_mean']:.2f} mm | {t['hc_abs_diff_mm_mean']:.2f} mm |
| HC absolute difference, median | {v['hc_abs_diff_mm_median']:.2f} mm | {t['hc_abs_diff_mm_median']:.2f} mm |
| HC absolute difference, 95th percentile | {v['hc_abs_diff_mm_p95']:.2f} mm | {t['hc_abs_diff_mm_p95']:.2f} mm |
| Hausdorff distance, mean | {v['hausdorff_mm_mean']:.2f} mm | {t['hausdorff_mm_mean']:.2f} mm |
| scans more than {LARGE_ERROR_MM:.0f} mm off | {v['scans_over_10mm']} of {v['scans']} ({100 * v['share_over_10mm']:.1f}%) | {t['scans_over_10mm']} of {t['scans']} ({100 * t['share_over_10mm']:.1f}%) |
| flagged for review (low confidence, uncertain HC, no head) | {v['low_confidence_flags']} | {t['low_confidence_flags']} |

Per-scan figures: `validation_per_scan.csv` beside this card.

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
