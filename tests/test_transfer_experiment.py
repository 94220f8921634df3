"""The transfer experiment: gap-closed arithmetic and a tiny-budget end-to-end run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from simreal.transfer.experiment import METHODS, gap_closed, run_transfer_experiment


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
    with pytest.raises(ValueError, match="lambda_task"):
        run_transfer_experiment(tmp_path, n_train=16, n_eval=8, epochs=1, gan_steps=1, lambda_task=-1.0)


@pytest.fixture
def one_thread():
    """One torch thread: on a busy 2-core machine two threads stall at barriers (25x slower CycleGAN steps)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
def test_tiny_run_writes_complete_report(tmp_path) -> None:
    results = run_transfer_experiment(
        tmp_path, n_train=16, n_eval=8, epochs=1, gan_steps=1, seed=3, image_size=32, domain_test_steps=3
    )
    stored = json.loads((tmp_path / "results.json").read_text())
    assert stored == json.loads(json.dumps(results))
    assert set(stored) == {"env_id", "camera", "settings", "canonical", "methods", "timings_s"}
    assert set(stored["methods"]) == set(METHODS)
    canonical = stored["canonical"]["error"]
    for method in METHODS:
        entry = stored["methods"][method]
        assert set(entry) == {"error", "gap_closed", "domain_accuracy", "domain_p_value"}
        assert all(math.isfinite(entry["error"][m]) and entry["error"][m] >= 0 for m in ("median_cm", "p90_cm"))
        assert 0.0 <= entry["domain_accuracy"] <= 1.0
        for metric in ("median_cm", "p90_cm"):
            expected = gap_closed(
                stored["methods"]["no_adaptation"]["error"][metric], entry["error"][metric], canonical[metric]
            )
            assert entry["gap_closed"][metric] == expected
    assert stored["methods"]["no_adaptation"]["gap_closed"]["median_cm"] in (0.0, None)
    assert (tmp_path / "gap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| real, no adaptation |" in (tmp_path / "summary.md").read_text()
    for method in ("cyclegan", "task_cyclegan"):
        assert (tmp_path / method / "checkpoint.pt").is_file()
    assert (tmp_path / "localization_canonical.pt").is_file()
    assert not list(tmp_path.glob(".*"))  # no leftover temporary files
