"""Training for scanner output: screen clutter augmentation, and cross-validation by subject."""

import numpy as np
import torch

from training.augment import ScreenClutter, augment, jpeg_compress, random_jpeg
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



def _speckled_scan(shape=(100, 150)) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (100 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
            + rng.normal(0, 12, shape)).clip(0, 255).astype(np.uint8)


def steps(img: np.ndarray, at_block_edge: bool) -> float:
    """Mean jump between horizontal neighbours across 8x8 block edges, or inside blocks."""
    cols = np.arange(1, img.shape[1])
    cols = cols[(cols % 8 == 0) == at_block_edge]
    return float(np.abs(img[:, cols].astype(np.float32) - img[:, cols - 1]).mean())


def test_jpeg_compression_loses_what_a_real_jpeg_file_loses():
    """Against libjpeg (OpenCV's encoder) at the same quality, on a scan whose sides are not
    multiples of 8: the pixels the augmentation gives are those of a real file, within
    libjpeg's integer rounding, and they show the 8x8 block edges."""
    import cv2

    scan = _speckled_scan()
    images = torch.from_numpy(scan).float().div(255).view(1, 1, *scan.shape)
    for quality in (30, 60):
        out = jpeg_compress(images, torch.tensor([quality]))
        assert out.shape == images.shape and out.dtype == images.dtype
        ours = out[0, 0].numpy() * 255
        assert np.allclose(ours, ours.round(), atol=1e-3)  # 8-bit levels, as a decoded file
        _, encoded = cv2.imencode(".jpg", scan, [cv2.IMWRITE_JPEG_QUALITY, quality])
        libjpeg = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE).astype(np.float32)
        lost = np.abs(libjpeg - scan).mean()
        assert lost > 5  # the file lost several grey levels per pixel ...
        assert np.abs(ours - libjpeg).mean() < 0.05 * lost  # ... and ours lost the same

        if quality == 30:
            assert steps(scan, True) < 1.1 * steps(scan, False)  # no blocks before
            assert steps(ours, True) > 1.5 * steps(ours, False)  # blocks after


def test_random_jpeg_is_seeded_keeps_shape_and_leaves_the_rest():
    scan = torch.from_numpy(_speckled_scan((64, 96))).float().div(255)
    images = scan.expand(8, 1, 64, 96).clone()
    out = random_jpeg(images, torch.Generator().manual_seed(1))
    assert out.shape == images.shape and out.dtype == images.dtype
    assert out.min() >= 0 and out.max() <= 1
    changed = (out != images).flatten(1).any(dim=1)
    assert 1 <= changed.sum() <= 7  # about half re-encoded, the others untouched
    assert (out[changed] - images[changed]).abs().mean() > 1 / 255
    assert torch.equal(out, random_jpeg(images, torch.Generator().manual_seed(1)))
    assert torch.equal(random_jpeg(images, torch.Generator().manual_seed(1), probability=0.0),
                       images)
    masks = torch.zeros((8, 1, 64, 96))
    plain, _ = augment(images, masks, torch.Generator().manual_seed(2))
    with_jpeg, _ = augment(images, masks, torch.Generator().manual_seed(2), jpeg=True)
    assert not torch.equal(plain, with_jpeg)  # the same warp and intensity, then re-encoded
