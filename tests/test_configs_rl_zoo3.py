"""rl-zoo3 itself trains on every base config in configs/ but dagger.yml (64 steps of simreal/Reach-v0 each).
rl-zoo3 is not a simreal dependency: the test runs where it is importable (``pip install -e '.[zoo]'``) and is
skipped elsewhere."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SIMREAL_ONLY = {"dagger.yml"}  # simreal's DAgger: no rl-zoo3 algorithm
CONFIGS = sorted(
    p for p in (Path(__file__).resolve().parent.parent / "configs").glob("*.yml") if p.name not in SIMREAL_ONLY
)


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_rl_zoo3_trains_on_the_base_config(config: Path, tmp_path: Path) -> None:
    pytest.importorskip("rl_zoo3")
    algo = config.stem.split("_")[0]
    command = [sys.executable, "-m", "rl_zoo3.train", "--algo", algo, "--env", "simreal/Reach-v0"]
    command += ["--gym-packages", "simreal", "-conf", str(config), "-n", "64", "--eval-freq", "-1"]
    command += ["-f", str(tmp_path), "--vec-env", "dummy"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=os.environ)
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(tmp_path.glob(f"{algo}/simreal-Reach-v0_1/simreal-Reach-v0.zip")), result.stdout[-2000:]
