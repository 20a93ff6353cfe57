"""Bundle a run's weights into resources/ with the model card that makes them trustworthy."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from fetalview.core.model import parameter_count
from fetalview.core.weights import load_model, read_header, sha256_of

from .evaluate import LARGE_ERROR_MM, evaluate
from .train import WEIGHTS

BUNDLED_NAME = "resunet.safetensors"


def export(run_dir: Path, data_dir: Path, train_command: str, dest: Path,
           device: str = "auto") -> Path:
    """Evaluate ``run_dir``'s weights through the app's pipeline and write weights + card."""
    source = run_dir / WEIGHTS
    meta = read_header(source)
    plan = json.loads(meta.get("plan", "{}"))
    history_file = run_dir / "history.json"
    history = json.loads(history_file.read_text()) if history_file.exists() else []
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / BUNDLED_NAME
    shutil.copyfile(source, target)
    target.chmod(0o644)
    split = dict(val_fraction=plan.get("val_fraction", 0.2), seed=plan.get("seed", 0),
                 device=device)
    summary = evaluate(data_dir, target, csv_path=dest / "validation_per_scan.csv", **split)
    with_tta = evaluate(data_dir, target, tta=True, **split)
    model = load_model(target)
    card = {
        "weights": BUNDLED_NAME,
        "sha256": sha256_of(target),
        "architecture": "ResidualUNet",
        "config": model.config.as_dict(),
        "parameters": parameter_count(model),
        "epochs": int(meta.get("epochs", len(history))),
        "plan": plan,
        "train_command": train_command,
        "data": f"HC18 training subset in {data_dir} "
                f"(van den Heuvel et al. 2018, CC BY 4.0)",
        "validation": summary,
        "validation_tta": with_tta,
        "exported": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    (dest / "model_card.json").write_text(json.dumps(card, indent=2))
    (dest / "MODEL_CARD.md").write_text(render_card(card, history))
    return target


def render_card(card: dict, history: list[dict]) -> str:
    v, t = card["validation"], card["validation_tta"]
    last = history[-1] if history else {}
    c = card["config"]
    return f"""# Model card: fetalview Residual UNet ({card['weights']})

- sha256: `{card['sha256']}`
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
Measured by `python -m training evaluate --data DATA --weights resources/weights/{card['weights']}`
(the app's default, one forward pass) and the same with `--tta` (the scan and its mirror image
averaged, 1.8 times the forward time):

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

## Limits
Trained on one public data set (HC18: two Dutch hospitals' scanners, all trimesters, standard
transthalamic plane). Other scanners, planes or pathologies may do worse; every automatic
contour is decision support to be confirmed by a clinician.
"""
