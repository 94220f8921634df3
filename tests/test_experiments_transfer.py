"""The transfer experiment: gap-closed arithmetic and a tiny-budget end-to-end run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from simreal.experiments import transfer as experiment
from simreal.experiments.transfer import METHODS, evaluate_saved_translators, gap_closed, run_transfer_experiment


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


def test_bad_budget_is_rejected(tmp_path) -> None:
    with pytest.raises(ValueError, match="gan_steps"):
        run_transfer_experiment(tmp_path, n_train=16, n_eval=8, epochs=1, gan_steps=0)
    with pytest.raises(ValueError, match="lambda_semantic"):
        run_transfer_experiment(tmp_path, n_train=16, n_eval=8, epochs=1, gan_steps=1, lambda_semantic=-1.0)
    with pytest.raises(ValueError, match="gan_domains"):
        run_transfer_experiment(tmp_path, n_train=16, n_eval=8, domains=["test"], gan_domains=["real:0"])
    with pytest.raises(ValueError, match="domains"):
        run_transfer_experiment(tmp_path, n_train=16, n_eval=8, domains=["lab.yaml"])


@pytest.fixture
def one_thread():
    """One torch thread: on a busy 2-core machine two threads stall at barriers (25x slower CycleGAN steps)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
def test_tiny_run_writes_complete_report_resumes_and_evaluates_saved_models(tmp_path, monkeypatch) -> None:
    kwargs = dict(n_train=16, n_eval=8, epochs=1, gan_steps=1, rcan_steps=2, seed=3, image_size=32, guard_frames=8)
    results = run_transfer_experiment(tmp_path, domains=["test", "real:0"], gan_domains=["real:0"], **kwargs)
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
    monkeypatch.setattr(experiment, "train_rcan", lambda *a, **k: pytest.fail("RCAN retrained"))
    monkeypatch.setattr(experiment, "train_cyclegan", lambda *a, **k: pytest.fail("CycleGAN retrained"))
    again = run_transfer_experiment(tmp_path, domains=["test", "real:0"], gan_domains=["real:0"], **kwargs)
    assert again["domains"] == results["domains"]
    # saved models on a new domain without retraining: RCAN applies, no CycleGAN exists for it
    later = evaluate_saved_translators(tmp_path, ["real:1"], n_eval=8, seed=3, guard_frames=8)
    assert set(later["domains"]["real:1"]) == {"no_adaptation", "rcan"}
    assert (tmp_path / "eval" / "results.json").is_file()
    with pytest.raises(ValueError, match="models_dir"):
        evaluate_saved_translators(tmp_path / "eval", ["real:1"])


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
    a, b = experiment.HeatmapTask(Fixed(peak_a))(image), experiment.HeatmapTask(Fixed(peak_b))(image)
    assert torch.nn.functional.mse_loss(a, b).item() == pytest.approx(2.0, abs=1e-4)  # disjoint heatmaps
    assert torch.nn.functional.mse_loss(a, a).item() == pytest.approx(0.0, abs=1e-9)
