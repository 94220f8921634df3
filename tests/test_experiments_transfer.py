"""The transfer experiment: gap-closed arithmetic and a tiny-budget end-to-end run."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from simreal.experiments import transfer_training
from simreal.experiments.config import TransferConfig
from simreal.experiments.transfer import evaluate_saved_translators, run_transfer_experiment
from simreal.experiments.transfer_evaluation import METHODS, gap_closed


def test_gap_closed_hand_computed() -> None:
    assert gap_closed(10.0, 4.0, 2.0) == pytest.approx(0.75)  # (10 - 4) / (10 - 2)
    assert gap_closed(10.0, 10.0, 2.0) == 0.0
    assert gap_closed(10.0, 2.0, 2.0) == pytest.approx(1.0)
    assert gap_closed(6.0, 8.0, 2.0) == pytest.approx(-0.5)  # worse than no adaptation
    assert gap_closed(3.0, 1.0, 3.0) is None  # no gap to close
    assert gap_closed(2.0, 1.0, 3.0) is None


@pytest.mark.parametrize("bad", [float("nan"), -1.0, float("inf")])
def test_gap_closed_rejects_bad_errors(bad: float) -> None:
    with pytest.raises(ValueError, match="err_method"):
        gap_closed(5.0, bad, 1.0)


def test_bad_budget_is_rejected() -> None:
    with pytest.raises(ValueError, match="gan_steps"):
        TransferConfig(gan_steps=0)
    with pytest.raises(ValueError, match="lambda_semantic"):
        TransferConfig(lambda_semantic=-1.0)
    with pytest.raises(ValueError, match="gan_domains"):
        TransferConfig(domains=("test",), gan_domains=("real:0",))
    with pytest.raises(ValueError, match="domains"):
        TransferConfig(domains=("lab.yaml",))


def test_cyclegan_domains_default_to_test_and_real0_among_the_domains() -> None:
    assert TransferConfig().cyclegan_domains == ("test", "real:0")
    assert TransferConfig(domains=("real:2", "real:0")).cyclegan_domains == ("real:0",)
    assert TransferConfig(domains=("real:3", "real:1")).cyclegan_domains == ("real:3",)
    assert TransferConfig(domains=("test", "real:1"), gan_domains=("real:1",)).cyclegan_domains == ("real:1",)


@pytest.fixture
def one_thread():
    """One torch thread: on a busy 2-core machine two threads stall at barriers (25x slower CycleGAN steps)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
def test_tiny_run_writes_complete_report_resumes_and_evaluates_saved_models(tmp_path: Path, monkeypatch) -> None:
    config = TransferConfig(
        out_dir=str(tmp_path), n_train=16, n_eval=8, epochs=1, gan_steps=1, rcan_steps=2, seed=3, image_size=32,
        guard_frames=8, domains=("test", "real:0"), gan_domains=("real:0",),
    )  # fmt: skip
    results = run_transfer_experiment(config)
    stored = json.loads((tmp_path / "results.json").read_text())
    assert stored == json.loads(json.dumps(results))
    assert set(stored["domains"]) == {"test", "real:0"}
    assert set(stored["domains"]["real:0"]) == set(METHODS)
    assert set(stored["domains"]["test"]) == {"no_adaptation", "rcan"}  # no CycleGAN trained for test
    canonical = stored["canonical"]["error"]
    for domain, per_method in stored["domains"].items():
        raw = per_method["no_adaptation"]["error"]
        for method, entry in per_method.items():
            error = entry["error"]
            assert all(math.isfinite(error[m]) and error[m] >= 0 for m in ("median_cm", "p90_cm"))
            assert 0.0 <= error["tail_5cm"] <= 1.0
            if method == "no_adaptation":
                continue
            assert entry["guard"]["verdict"] in ("ok", "warn", "fail") and entry["guard"]["domain"] == domain
            assert 0.0 <= entry["guard"]["detector_agreement"] <= 1.0
            expected = gap_closed(raw["median_cm"], error["median_cm"], canonical["median_cm"])
            assert entry["gap_closed"]["median_cm"] == expected
            assert entry["guarded_error"] == (raw if entry["guard"]["verdict"] == "fail" else error)
    assert set(stored["summary"]["per_method"]) == {"cyclegan", "semantic_cyclegan", "rcan"}
    assert (tmp_path / "gap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| no adaptation |" in (tmp_path / "summary.md").read_text()
    manifest = json.loads((tmp_path / "models.json").read_text())
    models = (manifest["detector"], manifest["probe"], manifest["rcan"], *manifest["semantic_cyclegan"].values())
    for path in models:
        assert (tmp_path / path).is_file()
    assert not list(tmp_path.glob(".*"))  # no leftover temporary files
    # a rerun with the same settings trains nothing again
    for name in ("train_rcan", "train_cyclegan", "train_point_detector"):
        monkeypatch.setattr(transfer_training, name, lambda *a, name=name, **k: pytest.fail(f"{name} retrained"))
    again = run_transfer_experiment(config)
    assert again["domains"] == results["domains"]
    # saved models on a new domain without retraining: RCAN applies, no CycleGAN exists for it; the run's own
    # results.json is kept (evaluations into the models folder go to its eval/)
    later = evaluate_saved_translators(tmp_path, dataclasses.replace(config, domains=("real:1",), gan_domains=None))
    assert set(later["domains"]["real:1"]) == {"no_adaptation", "rcan"}
    assert set(json.loads((tmp_path / "eval" / "results.json").read_text())["domains"]) == {"real:1"}
    assert set(json.loads((tmp_path / "results.json").read_text())["domains"]) == {"test", "real:0"}
    with pytest.raises(ValueError, match="models_dir"):
        evaluate_saved_translators(tmp_path / "eval", config)


def test_heatmap_task_distance_is_twice_the_squared_hellinger_distance() -> None:
    class Fixed(torch.nn.Module):
        def __init__(self, logits: torch.Tensor) -> None:
            super().__init__()
            self.logits = logits

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.logits

    peak_a = torch.full((1, 4, 4), -30.0)
    peak_a[0, 1, 1] = 0.0
    peak_b = torch.full((1, 4, 4), -30.0)
    peak_b[0, 2, 3] = 0.0
    image = torch.zeros(1, 3, 8, 8)
    a, b = transfer_training.HeatmapTask(Fixed(peak_a))(image), transfer_training.HeatmapTask(Fixed(peak_b))(image)
    assert torch.nn.functional.mse_loss(a, b).item() == pytest.approx(2.0, abs=1e-4)  # disjoint heatmaps
    assert torch.nn.functional.mse_loss(a, a).item() == pytest.approx(0.0, abs=1e-9)
