"""``evaluate`` on a run stored under an fsspec URL gives the bytes of a local evaluation and writes back there."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from simreal.agents.evaluate import evaluate
from simreal.agents.run_config import EvalConfig
from simreal.parallel import storage


def test_evaluate_a_run_under_a_url_matches_local(tmp_path: Path, tiny_ppo_run: Callable[[str], Path]) -> None:
    fsspec = pytest.importorskip("fsspec")
    run = tiny_ppo_run("Pendulum-v1")
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
