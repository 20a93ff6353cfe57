"""Learning from corrections: edited sidecars become training masks; fine-tuning starts from
given weights and trains on the corrections without touching the validation split."""

import json

import cv2
import numpy as np
import pytest
import torch

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.review import sign_off
from fetalview.core.record.sidecar import Annotation, identity_of, sidecar_path
from fetalview.core.record.sidecar_store import save_annotation
from fetalview.core.model.weights import load_model
from training.corrections import build_correction_cache, find_corrections
from training.dataset import Cache
from training.train import TrainPlan, train

GRID = (48, 64)
EDITED = Ellipse(50, 40, 30, 20, 15)
MODEL = Ellipse(50, 40, 27, 20, 15)  # the model's: 3 px short along the long axis
PS = PixelSize(0.2, "typed")


def _save(folder, appdata, name, **fields):
    save_annotation(folder / name, Annotation(name, **fields), appdata)


@pytest.fixture
def clinic(tmp_path):
    """Scans in every review state: corrected and confirmed, confirmed unchanged (after a nudge
    under the tolerance), confirmed then edited again, edited but never confirmed, auto only,
    no sidecar, damaged sidecar."""
    folder = tmp_path / "clinic"
    folder.mkdir()
    names = ("corrected.png", "unchanged.png", "reedited.png", "unconfirmed.png", "auto.png",
             "none.png", "damaged.png")
    for name in names:
        cv2.imwrite(str(folder / name), np.full((80, 100), 90, np.uint8))
    appdata = tmp_path / "appdata"
    corrected = sign_off("A. Jones", EDITED, MODEL, PS, "m1")
    nudged = Ellipse(50.2, 40, 27, 20, 15)
    _save(folder, appdata, "corrected.png", ellipse=EDITED, auto_ellipse=MODEL, edited=True,
          pixel_size=PS, confirmed=corrected)
    _save(folder, appdata, "unchanged.png", ellipse=nudged, auto_ellipse=MODEL, edited=True,
          pixel_size=PS, confirmed=sign_off("A. Jones", nudged, MODEL, PS, "m1"))
    _save(folder, appdata, "reedited.png", ellipse=Ellipse(50, 40, 32, 20, 15),
          auto_ellipse=MODEL, edited=True, pixel_size=PS, confirmed=corrected)
    _save(folder, appdata, "unconfirmed.png", ellipse=EDITED, auto_ellipse=MODEL, edited=True,
          pixel_size=PS)
    _save(folder, appdata, "auto.png", ellipse=MODEL, auto_ellipse=MODEL)
    sidecar_path(folder / "damaged.png").write_text("{not json")
    return folder


def test_only_corrected_and_confirmed_scans_become_training_data(clinic, tmp_path):
    skipped = []
    found = find_corrections(clinic, log=skipped.append)
    assert [c.scan.name for c in found] == ["corrected.png"]
    assert found[0].ellipse == EDITED and found[0].frame == 0
    assert found[0].pixel_size_mm == 0.2
    assert len(skipped) == 3 and "damaged.png" in skipped[0]
    assert [m.split()[1] for m in skipped[1:]] == ["reedited.png", "unconfirmed.png"]
    assert all("not confirmed" in m for m in skipped[1:])

    out = build_correction_cache(found, GRID, tmp_path / "c.npz", log=lambda m: None)
    cache = Cache.load(out)
    assert cache.images.shape == (1, *GRID)
    # The 100x80 scan is letterboxed by 0.6 into the 64x48 grid.
    expected = Ellipse(30, 24, 18, 12, 15).filled_mask(GRID, supersample=4)
    assert np.abs(cache.masks[0].astype(int) - expected).mean() < 8


def test_a_correction_saved_on_other_pixels_never_becomes_training_data(tmp_path):
    folder = tmp_path / "clinic"
    folder.mkdir()
    pixels = np.full((80, 100), 90, np.uint8)
    for name in ("kept.png", "replaced.png"):
        cv2.imwrite(str(folder / name), pixels)
        _save(folder, tmp_path / "appdata", name, ellipse=EDITED, auto_ellipse=MODEL,
              edited=True, pixel_size=PS, identity=identity_of(pixels),
              confirmed=sign_off("A. Jones", EDITED, MODEL, PS, "m1"))
    cv2.imwrite(str(folder / "replaced.png"), np.full((80, 100), 150, np.uint8))  # another scan
    found = find_corrections(folder, log=lambda m: None)
    assert sorted(c.scan.name for c in found) == ["kept.png", "replaced.png"]
    skipped = []
    out = build_correction_cache(found, GRID, tmp_path / "c.npz", log=skipped.append)
    assert list(Cache.load(out).names) == ["kept.png"]
    assert len(skipped) == 1 and skipped[0].startswith("skipped: replaced.png")


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
