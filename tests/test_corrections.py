"""Learning from corrections: edited sidecars become training masks; fine-tuning starts from
given weights and trains on the corrections without touching the validation split."""

import json

import cv2
import numpy as np
import pytest
import torch

from fetalview.core.geometry import Ellipse
from fetalview.core.pixelsize import PixelSize
from fetalview.core.sidecar import Annotation, save_annotation, sidecar_path
from fetalview.core.weights import load_model
from training.corrections import build_correction_cache, find_corrections
from training.dataset import Cache
from training.train import TrainPlan, train

GRID = (48, 64)
EDITED = Ellipse(50, 40, 30, 20, 15)


@pytest.fixture
def clinic(tmp_path):
    """Four scans: edited, auto only, no sidecar, damaged sidecar."""
    folder = tmp_path / "clinic"
    folder.mkdir()
    for name in ("edited.png", "auto.png", "none.png", "damaged.png"):
        cv2.imwrite(str(folder / name), np.full((80, 100), 90, np.uint8))
    appdata = tmp_path / "appdata"
    save_annotation(folder / "edited.png", Annotation("edited.png", EDITED, edited=True,
                                                      pixel_size=PixelSize(0.2, "typed")), appdata)
    save_annotation(folder / "auto.png", Annotation("auto.png", EDITED, edited=False), appdata)
    sidecar_path(folder / "damaged.png").write_text("{not json")
    return folder


def test_only_edited_sidecars_become_training_data(clinic, tmp_path):
    skipped = []
    found = find_corrections(clinic, log=skipped.append)
    assert [c.scan.name for c in found] == ["edited.png"]
    assert found[0].ellipse == EDITED and found[0].frame == 0
    assert len(skipped) == 1 and "damaged.png" in skipped[0]

    out = build_correction_cache(found, GRID, tmp_path / "c.npz", log=lambda m: None)
    cache = Cache.load(out)
    assert cache.images.shape == (1, *GRID)
    # The 100x80 scan is letterboxed by 0.6 into the 64x48 grid.
    expected = Ellipse(30, 24, 18, 12, 15).filled_mask(GRID, supersample=4)
    assert np.abs(cache.masks[0].astype(int) - expected).mean() < 8


def test_fine_tune_starts_from_weights_and_keeps_validation(tmp_path):
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (10, *GRID), dtype=np.uint8)
    masks = np.stack([EDITED.scaled(0.6).filled_mask(GRID)] * 10)
    base = tmp_path / "base.npz"
    np.savez_compressed(base, images=images, masks=masks, names=np.arange(10).astype(str),
                        subjects=np.arange(10).astype(str))
    extra = tmp_path / "extra.npz"
    np.savez_compressed(extra, images=images[:2], masks=masks[:2], names=np.array(["a", "b"]),
                        subjects=np.array(["x", "y"]))
    plan = TrainPlan(cache=str(base), epochs=1, batch_size=4, lr=1e-3, base_width=4, depth=3)
    start = train(plan, tmp_path / "start", device="cpu", log=lambda m: None)

    messages = []
    tuned = TrainPlan(**{**plan.__dict__, "init_weights": str(start), "extra_cache": str(extra),
                         "steps_per_epoch": 3})
    out = train(tuned, tmp_path / "tuned", device="cpu", log=messages.append)
    assert any(m.startswith("starting from") for m in messages)
    # 8 training scans + the 2 corrections repeated to make up a quarter: 8 + 2*2; validation 2.
    assert "12 scans, validating on 2" in next(m for m in messages if m.startswith("training"))
    assert load_model(out).config == load_model(start).config
    history = json.loads((tmp_path / "tuned" / "history.json").read_text())
    assert len(history) == 1

    wrong = TrainPlan(**{**tuned.__dict__, "base_width": 8})
    with pytest.raises(ValueError, match="init-weights"):
        train(wrong, tmp_path / "wrong", device="cpu", log=lambda m: None)
