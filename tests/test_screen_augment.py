"""Training for scanner output: screen clutter augmentation, and cross-validation by subject."""

import numpy as np
import torch

from training.augment import ScreenClutter, augment
from training.dataset import split_by_subject
from training.screens import clutter_stamps


def test_five_folds_validate_every_subject_exactly_once():
    subjects = [f"{i // 2:03d}" for i in range(101)]  # two frames per subject, one odd out
    seen = []
    for fold in range(5):
        train_idx, val_idx = split_by_subject(subjects, seed=3, folds=5, fold=fold)
        assert {subjects[i] for i in train_idx}.isdisjoint({subjects[i] for i in val_idx})
        assert len(train_idx) + len(val_idx) == len(subjects)
        seen += sorted({subjects[i] for i in val_idx})
    assert sorted(seen) == sorted(set(subjects))
    sizes = [len({subjects[i] for i in split_by_subject(subjects, seed=3, folds=5, fold=k)[1]})
             for k in range(5)]
    assert max(sizes) - min(sizes) <= 1


def test_stamps_hold_ink_of_every_kind():
    stamps = clutter_stamps(np.random.default_rng(0), 8)
    assert all(s.dtype == np.uint8 and s.max() == 255 for s in stamps)
    assert len({s.shape for s in stamps}) > 4


def test_screen_clutter_draws_on_images_and_leaves_targets():
    images = torch.full((8, 1, 64, 96), 0.3)
    masks = torch.zeros((8, 1, 64, 96))
    masks[:, :, 20:40, 30:60] = 1.0
    clutter = ScreenClutter(torch.device("cpu"), seed=0)
    out = clutter(images.clone(), torch.Generator().manual_seed(1))
    changed = (out != images).flatten(1).any(dim=1)
    assert changed.sum() >= 4  # sectors, stamps or strips on most images
    assert out.min() >= 0 and out.max() <= 1
    again = clutter(images.clone(), torch.Generator().manual_seed(1))
    assert torch.equal(out, again)  # seeded: a resumed run sees the same clutter
    _, warped = augment(images, masks, torch.Generator().manual_seed(2), clutter)
    assert warped.sum() > 0  # the targets went through the same warp, not the clutter

