"""Localization CNN and the Tobin et al. experiment at a tiny budget (smoke test, a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from simreal.data import experiment_localization
from simreal.data.experiment_localization import (
    EVAL_DOMAINS,
    MODELS_FILE,
    PIPELINES,
    evaluate_saved_models,
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
    assert errors == {"median_cm": 2.5, "p90_cm": pytest.approx(4.5), "mean_cm": 2.5, "tail_5cm": 0.0}
    gross = localization_errors_cm(np.array([[0.0, 0.0], [0.0, 0.06], [0.1, 0.0]]), np.zeros((3, 2)))
    assert gross["tail_5cm"] == pytest.approx(2 / 3)
    kept = localization_errors_cm(
        np.array([[0.0, 0.0], [0.0, 0.06], [0.1, 0.0]]), np.zeros((3, 2)), found=np.array([True, True, False])
    )
    assert kept["not_found"] == pytest.approx(1 / 3) and kept["tail_5cm_found"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="found"):
        localization_errors_cm(np.zeros((3, 2)), np.zeros((3, 2)), found=np.ones(2, dtype=bool))
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


def test_experiment_smoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    domains = ("canonical", "test", "real:0")
    results = run_localization_experiment(
        tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, image_size=32, detector_epochs=1, domains=domains
    )
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(results))
    assert set(results["pipelines"]) == set(PIPELINES)
    assert {"test", "real:0", "real:4"} <= set(EVAL_DOMAINS)
    for pipeline, models in results["pipelines"].items():
        assert set(models) == {"randomized", "canonical"}
        for name, entry in models.items():
            assert set(entry["eval"]) == set(domains)
            for errors in entry["eval"].values():
                assert 0.0 <= errors["median_cm"] <= errors["p90_cm"] < np.inf and errors["missed_table"] >= 0
                assert 0.0 <= errors["tail_5cm"] <= 1.0
                assert ("not_found" in errors) == (pipeline == "detector")
            proxies = entry["reality_proxies"]
            assert proxies["domains"] == ["test", "real:0"]
            assert proxies["worst"]["p90_cm"] == max(entry["eval"][d]["p90_cm"] for d in proxies["domains"])
            model_class = LocalizationCNN if pipeline == "regression" else PointDetector
            model = load_model(tmp_path / entry["model"], model_class)
            assert model(torch.zeros(2, 3, 32, 32)).shape[0] == 2, name
    manifest = json.loads((tmp_path / MODELS_FILE).read_text())
    assert 0.0 <= manifest["models"]["detector"]["randomized"]["threshold"] <= 1.0
    assert results["nominal_camera_floor"]["canonical"]["median_cm"] < 1e-6
    assert (tmp_path / "errors.png").stat().st_size > 1000
    assert "| detector trained on train |" in results["table"]
    assert results["target"]["met_every_proxy"] in (True, False)
    # a rerun with the same settings resumes from the saved models instead of training again
    monkeypatch.setattr(experiment_localization, "_train", lambda *args: pytest.fail("retrained a saved model"))
    resumed = run_localization_experiment(
        tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, image_size=32, detector_epochs=1, domains=domains
    )
    assert resumed["pipelines"] == results["pipelines"]
    # an interrupted run (one model lost) retrains only that one and keeps the others listed
    (tmp_path / "regression_randomized.pt").unlink()
    monkeypatch.undo()
    partial = run_localization_experiment(
        tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, image_size=32, detector_epochs=1, domains=domains
    )
    assert set(json.loads((tmp_path / MODELS_FILE).read_text())["models"]["detector"]) == {"randomized", "canonical"}
    assert partial["pipelines"] == results["pipelines"]
    # saved models evaluated later on a subset and a user's spec file: the same frames give the same numbers
    lab = tmp_path / "my_lab.yaml"
    lab.write_text((Path(__file__).parents[1] / "randomization/presets/arm_test.yaml").read_text())
    again = evaluate_saved_models(tmp_path, ["test", str(lab)], n_eval=8, seed=0, out_dir=tmp_path / "later")
    for pipeline, models in again["pipelines"].items():
        for name, entry in models.items():
            assert entry["eval"]["test"] == results["pipelines"][pipeline][name]["eval"]["test"]
            assert set(entry["eval"]) == {"test", str(lab)}
    assert (tmp_path / "later" / "eval_results.json").is_file()
    with pytest.raises(ValueError, match=r"models\.json"):
        evaluate_saved_models(tmp_path / "later", ["test"], n_eval=8, seed=0)
    with pytest.raises(ValueError, match="domains: 'nowhere'"):
        run_localization_experiment(tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, domains=["nowhere"])
    with pytest.raises(ValueError, match="does not exist"):
        run_localization_experiment(tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, domains=["missing.yaml"])
    with pytest.raises(ValueError, match="pipelines"):
        run_localization_experiment(tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, pipelines=["tobin"])
    with pytest.raises(ValueError, match="n_train"):
        run_localization_experiment(tmp_path, n_train=0, n_eval=8, epochs=1, seed=0)
    with pytest.raises(ValueError, match="detector_epochs"):
        run_localization_experiment(tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, detector_epochs=0)
    with pytest.raises(ValueError, match="canonical_fraction"):
        run_localization_experiment(tmp_path, n_train=48, n_eval=8, epochs=1, seed=0, canonical_fraction=1.0)
    assert results["settings"]["canonical_fraction"] == 0.25
