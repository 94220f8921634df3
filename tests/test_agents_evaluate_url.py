"""``evaluate`` on a run stored under an fsspec URL gives the bytes of a local evaluation and writes back there."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from simreal.agents.evaluate import evaluate
from simreal.agents.run_config import EvalConfig, RunConfig
from simreal.agents.train import train
from simreal.parallel import storage


def test_evaluate_a_run_under_a_url_matches_local(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    zoo = tmp_path / "ppo.yml"
    zoo.write_text("Pendulum-v1:\n  policy: MlpPolicy\n  n_steps: 64\n  batch_size: 64\n  n_epochs: 1\n")
    run = train(RunConfig(
        env_id="Pendulum-v1", algo="ppo", timesteps=64, seed=0, out_dir=tmp_path / "run", config_path=zoo,
        eval_freq=0, progress_bar=False,
    ))  # fmt: skip
    url = f"memory://simreal-eval-{id(tmp_path)}/run"
    storage.upload_tree(run, url)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            local = evaluate(run, EvalConfig(domains=("canonical",), episodes=2, gif_frames=0), executor=pool)
            remote = evaluate(url, EvalConfig(domains=("canonical",), episodes=2, gif_frames=0), executor=pool)
        assert remote == f"{url}/results.json"
        assert storage.read_bytes(remote) == Path(local).read_bytes()
        with pytest.raises(ValueError, match="out_dir"):
            evaluate(url, EvalConfig(domains=("canonical",), episodes=2), out_dir=tmp_path / "elsewhere")
        with pytest.raises(ValueError, match="does not exist"):
            evaluate(f"{url}-missing", EvalConfig(domains=("canonical",), episodes=2))
    finally:
        fsspec.filesystem("memory").rm(url.split("://", 1)[1].rsplit("/", 1)[0], recursive=True)
