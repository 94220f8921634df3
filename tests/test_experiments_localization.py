"""The Tobin et al. localization experiment: labelled frames, the nominal-camera floor and a tiny-budget run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from simreal.data.eval_domains import domain_seed
from simreal.experiments import localization_multiview, localization_training
from simreal.experiments.block_frames import (
    LocalizationFrames,
    localization_frames,
    search_cells,
    search_region,
    seeded_frames,
    view_frames,
)
from simreal.experiments.config import LocalizationConfig
from simreal.experiments.localization import evaluate_saved_models, run_localization_experiment
from simreal.experiments.localization_evaluation import nominal_camera_floor, visible_metrics
from simreal.experiments.localization_multiview import CAMERAS, multiview_positions
from simreal.experiments.localization_training import MODELS_FILE
from simreal.perception.checkpoint import load_model
from simreal.perception.detector import PointDetector, heatmap_cells
from simreal.perception.localization import LocalizationCNN
from simreal.perception.pretraining import CANONICAL_FRACTION


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


def test_the_search_region_covers_the_block_and_excludes_what_lies_off_the_reset_range() -> None:
    frames = localization_frames("train", 6, 64, np.random.SeedSequence(4))  # moved cameras
    allowed = search_cells(frames, search_region())
    assert allowed.shape == (6, 32, 32)
    cells = np.floor(frames.pixels / 2).astype(int)  # the block centre's heatmap cell (stride 2)
    assert all(allowed[i, v, u] for i, (u, v) in enumerate(cells))
    assert 0.05 < allowed.mean() < 0.8  # the sky, the far table and the arm base are outside
    assert not allowed[:, 0, :].any()  # the top row looks above the table
    wider = search_cells(frames, search_region(0.3))
    assert np.all(wider >= allowed) and wider.sum() > allowed.sum()
    with pytest.raises(ValueError, match="margin"):
        search_region(-0.01)


def test_visibility_measures_how_much_of_the_block_the_clutter_hides_without_changing_the_frames() -> None:
    seed = np.random.SeedSequence(7)
    plain = view_frames("train", 6, 32, seed, ("front",))
    measured = view_frames("train", 6, 32, np.random.SeedSequence(7), ("front",), visibility=True)
    np.testing.assert_array_equal(plain.images, measured.images)
    assert np.isnan(plain.visible).all() and measured.visible.shape == (6, 1)
    assert np.all((measured.visible >= 0.0) & (measured.visible <= 1.0))
    clean = view_frames("canonical", 2, 32, np.random.SeedSequence(7), ("front", "top"), visibility=True)
    np.testing.assert_array_equal(clean.visible, np.ones((2, 2)))  # no clutter: all of the block shows
    crowded = view_frames("real:1", 12, 32, np.random.SeedSequence(7), ("front",), visibility=True).visible
    assert (crowded < 0.5).sum() >= 2 and (crowded == 1.0).sum() >= 2  # real:1's large clutter hides it at times


def test_visible_metrics_split_the_errors_by_what_the_camera_could_see() -> None:
    errors = np.array([0.5, 0.7, 20.0, 30.0, 40.0])
    visible = np.array([1.0, 0.9, 0.6, 0.1, 0.0])  # the last two: the clutter hides most of the block
    found = np.array([True, True, True, False, True])
    split = visible_metrics(errors, found, visible)
    assert split["visible_share"] == pytest.approx(0.6)
    assert split["median_cm_visible"] == pytest.approx(0.7) and split["tail_5cm_visible"] == pytest.approx(1 / 3)
    assert split["not_found_visible"] == 0.0 and split["not_found_hidden"] == pytest.approx(0.5)
    assert "not_found_hidden" not in visible_metrics(errors, None, visible)
    assert visible_metrics(errors, found, np.full(5, np.nan)) == {}


def test_seeded_frames_key_is_tag_and_domain() -> None:
    tagged = seeded_frames("canonical", 2, 32, 5, "eval", 0, "local")
    expected = localization_frames("canonical", 2, 32, domain_seed(5, "eval:canonical"))
    np.testing.assert_array_equal(tagged.images, expected.images)
    plain = seeded_frames("canonical", 2, 32, 5, "", 0, "local")
    expected = localization_frames("canonical", 2, 32, domain_seed(5, "canonical"))
    np.testing.assert_array_equal(plain.positions, expected.positions)
    assert not np.array_equal(plain.positions, tagged.positions)


def test_the_clean_frame_curriculum_is_one_constant() -> None:
    """The localization experiment and a pixel policy's perception pre-training mix in the same fraction of clean
    frames (it was defined twice)."""
    assert LocalizationConfig().canonical_fraction == CANONICAL_FRACTION == 0.25


def _tiny(tmp_path: Path, **changes: object) -> LocalizationConfig:
    settings = {"out_dir": str(tmp_path), "n_train": 48, "n_eval": 8, "epochs": 1, "seed": 0, "image_size": 32,
                "detector_epochs": 1, "domains": ("canonical", "test", "real:0"), "workers": 0,
                "pipelines": ("regression", "detector", "multiview")}  # fmt: skip
    return LocalizationConfig(**{**settings, **changes})  # type: ignore[arg-type]


def test_a_changed_setting_retrains_only_the_pipelines_that_depend_on_it(tmp_path: Path) -> None:
    training = localization_training.training_settings(_tiny(tmp_path))
    models = {p: {"randomized": {"file": f"{p}.pt"}} for p in ("regression", "detector")}
    (tmp_path / MODELS_FILE).write_text(json.dumps({"training": training, "models": models}))
    for p in models:
        (tmp_path / f"{p}.pt").write_bytes(b"")
    assert localization_training._resumable(tmp_path, training) == models
    detector_only = {**training, "hard_negatives": 0.125, "search_margin": 0.5}
    assert localization_training._resumable(tmp_path, detector_only) == {"regression": models["regression"]}
    assert localization_training._resumable(tmp_path, {**training, "epochs": 99}) == {"detector": models["detector"]}
    assert localization_training._resumable(tmp_path, {**training, "seed": 1}) == {}
    (tmp_path / "detector.pt").unlink()  # a listed model whose file is gone is trained again
    assert localization_training._resumable(tmp_path, training) == {**models, "detector": {}}


def test_experiment_smoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    domains = ("canonical", "test", "real:0")
    results = run_localization_experiment(_tiny(tmp_path))
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(results))
    assert set(results["pipelines"]) == {"regression", "detector", "multiview"}
    assert {"test", "real:0", "real:4"} <= set(LocalizationConfig().domains)
    for pipeline, models in results["pipelines"].items():
        assert set(models) == {"randomized", "canonical"}
        for name, entry in models.items():
            assert set(entry["eval"]) == set(domains)
            for errors in entry["eval"].values():
                assert 0.0 <= errors["median_cm"] <= errors["p90_cm"] < np.inf and errors["missed_table"] >= 0
                assert 0.0 <= errors["tail_5cm"] <= 1.0
                assert ("not_found" in errors) == (pipeline != "regression")
                assert 0.0 <= errors["visible_share"] <= 1.0
                assert ("not_found_hidden" in errors) == ("not_found" in errors)
                if pipeline == "multiview":
                    assert len(errors["views_used"]) == 4 and abs(sum(errors["views_used"]) - 1.0) < 1e-9
            proxies = entry["reality_proxies"]
            assert proxies["domains"] == ["test", "real:0"]
            assert proxies["worst"]["p90_cm"] == max(entry["eval"][d]["p90_cm"] for d in proxies["domains"])
            model_class = LocalizationCNN if pipeline == "regression" else PointDetector
            model = load_model(tmp_path / entry["model"], model_class)
            assert model(torch.zeros(2, 3, 32, 32)).shape[0] == 2, name
    manifest = json.loads((tmp_path / MODELS_FILE).read_text())
    assert 0.0 <= manifest["models"]["detector"]["randomized"]["threshold"] <= 1.0
    multiview = manifest["models"]["multiview"]["randomized"]
    assert multiview["cameras"] == ["front", "side", "top"] and set(multiview["thresholds"]) == set(CAMERAS)
    assert multiview["search_region"] == manifest["models"]["detector"]["randomized"]["search_region"]
    assert all(0.0 <= t <= 1.0 for t in multiview["thresholds"].values())
    assert set(results["target"]["met_every_proxy_by_pipeline"]) == {"regression", "detector", "multiview"}
    assert results["nominal_camera_floor"]["canonical"]["median_cm"] < 1e-6
    assert (tmp_path / "errors.png").stat().st_size > 1000
    assert "| detector trained on train |" in results["table"]
    assert "| detector trained on train |" in results["table_visible"]
    assert results["target"]["met_every_proxy"] in (True, False)
    # a rerun with the same settings resumes from the saved models instead of training again
    monkeypatch.setattr(localization_training, "_train", lambda *args: pytest.fail("retrained a saved model"))
    resumed = run_localization_experiment(_tiny(tmp_path))
    assert resumed["pipelines"] == results["pipelines"]
    # an interrupted run (one model lost) retrains only that one and keeps the others listed
    (tmp_path / "regression_randomized.pt").unlink()
    monkeypatch.undo()
    partial = run_localization_experiment(_tiny(tmp_path))
    assert set(json.loads((tmp_path / MODELS_FILE).read_text())["models"]["detector"]) == {"randomized", "canonical"}
    assert partial["pipelines"] == results["pipelines"]
    # saved models evaluated later on a subset and a user's spec file: the same frames give the same numbers
    lab = tmp_path / "my_lab.yaml"
    lab.write_text((Path(__file__).parents[1] / "randomization/presets/arm_test.yaml").read_text())
    again = evaluate_saved_models(tmp_path, _tiny(tmp_path / "later", domains=("test", str(lab))))
    for pipeline, models in again["pipelines"].items():
        for name, entry in models.items():
            assert entry["eval"]["test"] == results["pipelines"][pipeline][name]["eval"]["test"]
            assert set(entry["eval"]) == {"test", str(lab)}
    assert (tmp_path / "later" / "eval_results.json").is_file()
    with pytest.raises(ValueError, match=r"models\.json"):
        evaluate_saved_models(tmp_path / "later", _tiny(tmp_path, domains=("test",)))
    assert results["settings"]["canonical_fraction"] == 0.25
    # the single-view rows do not depend on whether the multi-view pipeline (and its cameras' frames) is evaluated
    (tmp_path / "multiview_randomized.pt").unlink()
    (tmp_path / "multiview_canonical.pt").unlink()
    manifest["models"].pop("multiview")
    (tmp_path / MODELS_FILE).write_text(json.dumps(manifest))
    front_only = evaluate_saved_models(tmp_path, _tiny(tmp_path / "front"))
    assert set(front_only["pipelines"]) == {"regression", "detector"}
    assert front_only["pipelines"]["detector"] == results["pipelines"]["detector"]


def test_view_frames_share_the_scene_and_each_view_lifts_through_its_own_camera() -> None:
    views = view_frames("train", 6, 32, np.random.SeedSequence(4), CAMERAS)
    assert views.images.shape == (6, 3, 32, 32, 3) and views.pixels.shape == (6, 3, 2)
    assert views.intrinsics.shape == (6, 3, 3, 3) and views.world_to_camera.shape == (6, 3, 4, 4)
    front = localization_frames("train", 6, 32, np.random.SeedSequence(4))
    np.testing.assert_array_equal(views.view(0).images, front.images)  # the other cameras leave front's frames alone
    np.testing.assert_array_equal(views.positions, front.positions)
    for k in range(3):
        view = views.view(k)
        assert np.all((view.pixels > 0) & (view.pixels < 32))
        np.testing.assert_allclose(view.table_positions(view.pixels), views.positions, atol=1e-9)
        if k:  # another camera's calibration puts the same pixel elsewhere on the table (or off it)
            other = LocalizationFrames(view.images, view.positions, view.pixels, front.intrinsics,
                                       front.world_to_camera, view.visible)  # fmt: skip
            assert not np.allclose(other.table_positions(view.pixels), views.positions, atol=0.01, equal_nan=True)
    with pytest.raises(ValueError, match="distinct camera names"):
        view_frames("canonical", 2, 32, np.random.SeedSequence(0), ("front", "front"))


def test_multiview_positions_fuse_views_and_need_the_model_cameras(monkeypatch: pytest.MonkeyPatch) -> None:
    views = view_frames("canonical", 4, 32, np.random.SeedSequence(6), CAMERAS)
    outlier = np.array([[2.0, 2.0]] * 4)  # the top view's detector picks a corner: a gross error
    regions: list[np.ndarray | None] = []

    def heatmaps(pixels: np.ndarray, sharpness: float) -> torch.Tensor:  # log-probabilities peaked at ``pixels``
        centres = torch.from_numpy(heatmap_cells(32)).float()  # (16, 16, 2)
        distance = ((centres[None] - torch.from_numpy(pixels).float()[:, None, None]) ** 2).sum(-1)
        return torch.log_softmax((-distance / sharpness).flatten(1), 1).view(-1, 16, 16)

    def fake_detect(model: object, images: np.ndarray, allowed: np.ndarray | None = None) -> tuple[Any, ...]:
        regions.append(allowed)
        for k in range(3):
            if np.array_equal(images, views.view(k).images):
                pixels = outlier if k == 2 else views.pixels[:, k]
                confidence = np.full(len(images), 0.9 if k == 2 else 0.5)
                return pixels, confidence, heatmaps(pixels, 1.0 if k == 2 else 4.0)
        raise AssertionError("unknown images")

    monkeypatch.setattr(localization_multiview, "detect_heatmaps", fake_detect)
    entry = {"cameras": list(CAMERAS), "thresholds": dict.fromkeys(CAMERAS, 0.3), "fallback": [0.0, 0.0]}
    positions, fused, off_table = multiview_positions(PointDetector(32), entry, views, CAMERAS, 2.0)
    np.testing.assert_allclose(positions, views.positions, atol=1e-9)  # front and side outvote the top view
    assert fused.found.all() and (fused.views == 2).all() and off_table == 0
    assert regions == [None] * 3  # a model saved without a search region looks everywhere (and votes)
    regions.clear()
    # with a search region: each view's region seen through its own camera, the heatmaps fused on the table, the
    # answer the mean of the two views that back it (the confident corner of the top view does not)
    positions, fused, _ = multiview_positions(
        PointDetector(32), {**entry, "search_region": search_region()}, views, CAMERAS, 3.0
    )  # 3 cm, the default: a 32 px view's grid answer is 1-2 cm off before the views refine it
    for k, allowed in enumerate(regions):
        np.testing.assert_array_equal(allowed, search_cells(views.view(k), search_region()))
    assert not np.array_equal(regions[0], regions[2])
    np.testing.assert_allclose(positions, views.positions, atol=1e-9)
    assert fused.found.all() and (fused.views == 2).all()
    with pytest.raises(ValueError, match=r"lack \['side', 'top'\]"):
        multiview_positions(PointDetector(32), entry, views, ("front",), 2.0)
