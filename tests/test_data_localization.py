"""Localization CNN and the Tobin et al. experiment at a tiny budget (smoke test, a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from simreal.data.experiment_localization import (
    EVAL_DOMAINS,
    PIPELINES,
    localization_frames,
    nominal_camera_floor,
    run_localization_experiment,
)
from simreal.data.localization import (
    LocalizationCNN,
    augment_images,
    load_localization_model,
    load_model,
    localization_errors_cm,
    save_localization_model,
    train_localization,
)
from simreal.data.point_detector import PointDetector


def test_model_shapes_and_checkpoint(tmp_path: Path) -> None:
    model = LocalizationCNN(target_mean=(0.1, -0.2), target_scale=(2.0, 3.0)).eval()
    images = torch.rand(5, 3, 64, 64) * 2 - 1
    out = model(images)
    assert out.shape == (5, 2) and out.dtype == torch.float32
    path = save_localization_model(model, tmp_path / "m.pt")
    loaded = load_localization_model(path)
    torch.testing.assert_close(loaded(images), out)
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"bad\.pt"):
        load_localization_model(tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="path"):
        load_localization_model(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="image_size"):
        LocalizationCNN(image_size=30)
    with pytest.raises(ValueError, match="image size"):
        model(torch.zeros(1, 3, 32, 32))


def test_augmentation_is_seeded_and_bounded() -> None:
    images = torch.rand(6, 3, 16, 16) * 2 - 1
    a = augment_images(images, torch.Generator().manual_seed(1))
    b = augment_images(images, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    assert a.shape == images.shape and a.min() >= -1.0 and a.max() <= 1.0
    assert not torch.equal(a, augment_images(images, torch.Generator().manual_seed(2)))


def test_training_is_seeded_and_errors_are_in_cm() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    targets = rng.uniform(-0.1, 0.1, size=(16, 2))
    a, b = (train_localization(images, targets, epochs=1, seed=3, batch_size=8) for _ in range(2))
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb)
    errors = localization_errors_cm(np.array([[0.0, 0.0], [0.03, 0.04]]), np.zeros((2, 2)))
    assert errors == {"median_cm": 2.5, "p90_cm": pytest.approx(4.5), "mean_cm": 2.5}
    with pytest.raises(ValueError, match="targets"):
        train_localization(images, targets[:3], epochs=1, seed=0)


def test_localization_frames_label_the_block() -> None:
    frames = localization_frames("canonical", 4, 32, np.random.SeedSequence(0))
    targets = frames.positions
    assert frames.images.shape == (4, 32, 32, 3) and targets.shape == (4, 2)
    assert np.all(targets[:, 0] >= -0.1) and np.all(targets[:, 0] <= 0.14) and np.all(np.abs(targets[:, 1]) <= 0.15)
    assert np.all((frames.pixels > 0) & (frames.pixels < 32))
    # the labelled pixel, lifted through the frame's own camera, lands back on the block's table position
    np.testing.assert_allclose(frames.table_positions(frames.pixels), targets, atol=1e-9)
    again = localization_frames("canonical", 4, 32, np.random.SeedSequence(0))
    np.testing.assert_array_equal(frames.images, again.images)


def test_nominal_camera_floor_is_zero_without_a_camera_shift_and_positive_with_one() -> None:
    canonical = localization_frames("canonical", 3, 32, np.random.SeedSequence(1))
    assert nominal_camera_floor(canonical, canonical)["median_cm"] < 1e-6
    real = localization_frames("real", 3, 32, np.random.SeedSequence(2))  # its camera is moved and zoomed
    assert nominal_camera_floor(real, canonical)["median_cm"] > 1.0


def test_experiment_smoke(tmp_path: Path) -> None:
    results = run_localization_experiment(
        tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, image_size=32, detector_epochs=1
    )
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(results))
    assert set(results["pipelines"]) == set(PIPELINES)
    for pipeline, models in results["pipelines"].items():
        assert set(models) == {"randomized", "canonical"}
        for name, entry in models.items():
            assert set(entry["eval"]) == set(EVAL_DOMAINS)
            for errors in entry["eval"].values():
                assert 0.0 <= errors["median_cm"] <= errors["p90_cm"] < np.inf and errors["missed_table"] >= 0
            model_class = LocalizationCNN if pipeline == "regression" else PointDetector
            model = load_model(tmp_path / entry["model"], model_class)
            assert model(torch.zeros(2, 3, 32, 32)).shape[0] == 2, name
    assert results["nominal_camera_floor"]["canonical"]["median_cm"] < 1e-6
    assert (tmp_path / "errors.png").stat().st_size > 1000
    assert results["target"]["real_median_cm_max"] == 1.5 and set(results["target"]["met"]) == set(PIPELINES)
    with pytest.raises(ValueError, match="n_train"):
        run_localization_experiment(tmp_path, n_train=0, n_eval=8, epochs=1, seed=0)
    with pytest.raises(ValueError, match="detector_epochs"):
        run_localization_experiment(tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, detector_epochs=0)
    with pytest.raises(ValueError, match="canonical_fraction"):
        run_localization_experiment(tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, canonical_fraction=1.0)
    assert results["settings"]["canonical_fraction"] == 0.25
