"""The training module on a tiny synthetic set: it learns, and it resumes where it stopped."""

import json

import numpy as np
import pytest
import torch

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.model.weights import load_model
from training.dataset import split_by_subject
from training.train import CHECKPOINT, TrainPlan, train

GRID = (48, 64)


@pytest.fixture
def phantom_cache(tmp_path):
    """Bright elliptical 'skulls' on speckle, with filled-ellipse targets."""
    rng = np.random.default_rng(0)
    images, masks = [], []
    for _ in range(24):
        e = Ellipse(rng.uniform(24, 40), rng.uniform(18, 30), rng.uniform(10, 18),
                    rng.uniform(7, 12), rng.uniform(0, 180))
        ring = cv2_ring(e)
        img = np.clip(rng.normal(40, 15, GRID) + ring * 160, 0, 255).astype(np.uint8)
        images.append(img)
        masks.append(e.filled_mask(GRID, supersample=4))
    path = tmp_path / "cache.npz"
    np.savez_compressed(path, images=np.stack(images), masks=np.stack(masks),
                        names=np.array([f"{i:03d}_HC.png" for i in range(24)]),
                        subjects=np.array([f"{i // 2:03d}" for i in range(24)]))
    return path


def cv2_ring(e: Ellipse) -> np.ndarray:
    outer = e.filled_mask(GRID) > 0
    inner = Ellipse(e.cx, e.cy, e.a - 2, e.b - 2, e.angle_deg).filled_mask(GRID) > 0
    return (outer & ~inner).astype(np.float32)


def _plan(cache, epochs):
    return TrainPlan(cache=str(cache), epochs=epochs, batch_size=6, lr=1e-2, base_width=4,
                     depth=3, seed=1)


def test_a_few_epochs_lower_the_loss(phantom_cache, tmp_path):
    torch.set_num_threads(2)
    weights = train(_plan(phantom_cache, 6), tmp_path / "run", device="cpu", log=lambda m: None)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history[-1]["loss"] < 0.8 * history[0]["loss"]
    assert load_model(weights).config.base_width == 4


def test_resume_continues_from_the_checkpoint(phantom_cache, tmp_path):
    run = tmp_path / "run"

    def stop_after_epoch_2(message):
        if message.startswith("epoch 2/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(_plan(phantom_cache, 4), run, device="cpu", log=stop_after_epoch_2)
    # The epoch-2 log line comes before its checkpoint: an interrupted save leaves epoch 1.
    saved = torch.load(run / CHECKPOINT, weights_only=True)
    assert saved["epoch"] == 1
    messages = []
    train(None, run, device="cpu", resume=True, log=messages.append)
    assert messages[0].startswith("resuming") and "epoch 1/4" in messages[0]
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]


def test_split_keeps_every_subject_on_one_side():
    subjects = [f"{i // 3:03d}" for i in range(300)]
    train_idx, val_idx = split_by_subject(subjects, 0.2, seed=0)
    assert {subjects[i] for i in train_idx}.isdisjoint({subjects[i] for i in val_idx})
    assert len(train_idx) + len(val_idx) == 300
    assert 0.15 < len(val_idx) / 300 < 0.25
    again, _ = split_by_subject(subjects, 0.2, seed=0)
    assert (again == train_idx).all()


def test_a_tiny_screen_augmented_fold_trains(phantom_cache, tmp_path):
    """Scanner-screen and JPEG augmentation and a cross-validation fold, end to end on the CPU."""
    torch.set_num_threads(2)
    plan = TrainPlan(cache=str(phantom_cache), epochs=2, batch_size=6, lr=1e-2, base_width=4,
                     depth=3, seed=1, folds=3, fold=2, screens=True, jpeg=True)
    messages = []
    train(plan, tmp_path / "run", device="cpu", log=messages.append)
    subjects = [f"{i // 2:03d}" for i in range(24)]
    n_val = len(split_by_subject(subjects, seed=1, folds=3, fold=2)[1])
    assert f"validating on {n_val} " in messages[0]
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history) == 2 and all(np.isfinite(h["loss"]) for h in history)
