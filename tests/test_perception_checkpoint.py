"""The one perception checkpoint format: round trips, clear errors, and the files written before it still load."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from simreal.perception.checkpoint import load_model, load_weights, save_model
from simreal.perception.detector import PointDetector
from simreal.perception.goal_perception import GoalTriangulator
from simreal.perception.localization import LocalizationCNN


def _space() -> gym.spaces.Dict:
    image = gym.spaces.Box(0, 255, (16, 16, 3), np.uint8)
    projection = gym.spaces.Box(-np.inf, np.inf, (3, 4), np.float32)
    state = gym.spaces.Box(-np.inf, np.inf, (7,), np.float32)
    return gym.spaces.Dict(
        {"front": image, "side": image, "front_projection": projection, "side_projection": projection, "state": state}
    )


def _randomized(model: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    for parameter in model.parameters():
        parameter.data.normal_()
    return model


def test_models_rebuild_from_their_settings(tmp_path: Path) -> None:
    images = torch.rand(3, 3, 64, 64) * 2 - 1
    for model in (LocalizationCNN(target_mean=(0.1, -0.2), target_scale=(2.0, 3.0)), PointDetector(64, 8, 1)):
        model = _randomized(model).eval()
        path = save_model(model, tmp_path / f"{type(model).__name__}.pt", {"epochs": 3})
        loaded = load_model(path, type(model))
        torch.testing.assert_close(loaded(images), model(images))
        assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
        assert torch.load(path, weights_only=True)["info"] == {"epochs": 3}


def test_weights_load_into_a_built_triangulator(tmp_path: Path) -> None:
    triangulator = _randomized(GoalTriangulator(_space(), channels=4, layers=1))
    path = save_model(triangulator, tmp_path / "encoder.pt", {"median_error_m": 0.01})
    fresh = GoalTriangulator(_space(), channels=4, layers=1)
    assert load_weights(fresh, path) == {"median_error_m": 0.01}
    assert not fresh.training and not any(p.requires_grad for p in fresh.parameters())
    for key, value in triangulator.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[key], value)
    with pytest.raises(ValueError, match="no constructor settings"):
        load_model(path, GoalTriangulator)


def test_bad_files_raise_naming_the_file_and_the_problem(tmp_path: Path) -> None:
    detector = save_model(PointDetector(32, 8, 1), tmp_path / "detector.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    torch.save({"version": 7}, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="path: no checkpoint"):
        load_model(tmp_path / "missing.pt", PointDetector)
    with pytest.raises(ValueError, match=r"bad\.pt: not a readable checkpoint"):
        load_model(tmp_path / "bad.pt", PointDetector)
    with pytest.raises(ValueError, match=r"future\.pt: not a perception checkpoint of version 1"):
        load_weights(PointDetector(32, 8, 1), tmp_path / "future.pt")
    with pytest.raises(ValueError, match="holds a PointDetector, expected a LocalizationCNN"):
        load_model(detector, LocalizationCNN)
    with pytest.raises(ValueError, match="another architecture"):
        load_weights(PointDetector(32, 16, 1), detector)
    torch.save({"version": 1, "info": {}}, tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="holds no weights"):
        load_weights(PointDetector(32, 8, 1), tmp_path / "empty.pt")


def test_files_written_before_the_one_format_still_load(tmp_path: Path) -> None:
    """The checkpoints under runs/: localization/detector files without ``info`` (the oldest also without
    ``kind``) and a policy's ``encoder.pt`` with ``weights`` and ``info`` only."""
    cnn = _randomized(LocalizationCNN(image_size=32)).eval()
    torch.save({"version": 1, "config": cnn.config, "state_dict": cnn.state_dict()}, tmp_path / "oldest.pt")
    detector = _randomized(PointDetector(32, 8, 1)).eval()
    legacy = {"version": 1, "kind": "PointDetector", "config": detector.config, "state_dict": detector.state_dict()}
    torch.save(legacy, tmp_path / "detector.pt")
    triangulator = _randomized(GoalTriangulator(_space(), channels=4, layers=1))
    torch.save({"version": 1, "weights": triangulator.state_dict(), "info": {"frames": 64}}, tmp_path / "encoder.pt")
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(load_model(tmp_path / "oldest.pt", LocalizationCNN)(images), cnn(images))
    torch.testing.assert_close(load_model(tmp_path / "detector.pt", PointDetector)(images), detector(images))
    fresh = GoalTriangulator(_space(), channels=4, layers=1)
    assert load_weights(fresh, tmp_path / "encoder.pt") == {"frames": 64}
    torch.testing.assert_close(fresh.state_dict(), triangulator.state_dict())
