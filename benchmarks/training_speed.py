"""Wall time and env steps until the deterministic policy reaches >= 95% success on Reach.

Usage (from the repository root)::

    MUJOCO_GL=egl python benchmarks/training_speed.py --seeds 0 1 2 [--skip-pixels]

Each case trains with periodic evaluation (``eval_episodes`` seeded episodes every ``eval_freq`` steps) and
stops at the first evaluation with success >= the target. Wall time is training plus those evaluations, read
from the learning curve; ``total_s`` also counts the goal-perception case's detector pre-training (16k labelled
frames), which the learning curve does not. The state PPO case is the baseline for the state SAC case (ratio
printed); the target for state Reach is <= 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from simreal.agents.results import load_curve
from simreal.agents.run_config import RunConfig
from simreal.agents.train import train


@dataclass(frozen=True)
class Case:
    name: str
    algo: str
    config: str
    max_steps: int
    eval_freq: int
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)  # merged on config's entry, as an experiment's


@dataclass(frozen=True)
class Outcome:
    steps: int | None
    wall_s: float | None
    total_s: float
    final_success: float


def run_case(case: Case, seed: int, root: Path, target: float, eval_episodes: int) -> Outcome:
    out = root / f"{case.name}_seed{seed}"
    start = time.perf_counter()
    train(RunConfig(
        "simreal/Reach-v0", case.algo, None, case.max_steps, seed, str(out), config_path=case.config,
        eval_freq=case.eval_freq, eval_episodes=eval_episodes, resume=False, progress_bar=False,
        target_success=target, env_kwargs=case.env_kwargs, hyperparams_overrides=case.hyperparams,
    ))  # fmt: skip
    total = time.perf_counter() - start
    curve = load_curve(out)
    hits = [i for i, s in enumerate(curve.success_rate) if s >= target]
    if not hits:
        return Outcome(None, None, total, curve.success_rate[-1] if curve.success_rate else 0.0)
    i = hits[0]
    return Outcome(curve.timesteps[i], curve.wall_time[i], total, curve.success_rate[i])


def _median(values: list[float | int | None]) -> str:
    done = [v for v in values if v is not None]
    if len(done) < len(values):
        return f"{len(values) - len(done)}/{len(values)} not reached"
    return f"{statistics.median(done):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--state-max-steps", type=int, default=30_000)
    parser.add_argument("--ppo-max-steps", type=int, default=200_000)
    parser.add_argument("--pixels-max-steps", type=int, default=300_000)
    parser.add_argument("--perception-max-steps", type=int, default=100_000)
    parser.add_argument("--skip-ppo", action="store_true")
    parser.add_argument("--skip-pixels", action="store_true")
    parser.add_argument("--skip-pixels-cnn", action="store_true", help="skip the end-to-end NatureCNN pixel case")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = [Case("state_sac", "sac", "configs/sac.yml", args.state_max_steps, 1000)]
    if not args.skip_ppo:
        cases.append(Case("state_ppo_baseline", "ppo", "configs/ppo.yml", args.ppo_max_steps, 8192))
    if not args.skip_pixels:
        if not args.skip_pixels_cnn:
            cases.append(Case("pixels_ppo", "ppo", "configs/ppo_pixels.yml", args.pixels_max_steps, 16384))
        exp = yaml.safe_load(Path("configs/experiments/reach_pixels.yaml").read_text())  # its perception set-up
        cases.append(
            Case("pixels_goal_perception", "ppo", exp["config_path"], args.perception_max_steps, 8192,
                 exp["env_kwargs"], exp["hyperparams"])
        )  # fmt: skip
    medians: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            outcomes = [run_case(case, s, Path(tmp), args.target, args.eval_episodes) for s in args.seeds]
            for seed, o in zip(args.seeds, outcomes, strict=True):
                print(
                    f"{case.name:20s} seed={seed} steps_to_target={o.steps} wall_to_target_s="
                    f"{'n/a' if o.wall_s is None else f'{o.wall_s:.1f}'} total_s={o.total_s:.1f} "
                    f"success={o.final_success:.2f}",
                    flush=True,
                )
            walls = [o.wall_s for o in outcomes]
            print(f"{case.name:20s} MEDIAN steps={_median([o.steps for o in outcomes])} wall_s={_median(walls)}")
            medians[case.name] = statistics.median(walls) if all(w is not None for w in walls) else None
    sac, ppo = medians.get("state_sac"), medians.get("state_ppo_baseline")
    if sac is not None and ppo is not None:
        print(f"state Reach: SAC wall time to {args.target:.0%} = {sac / ppo:.2f} x PPO baseline")
    if sac is not None:
        print(f"state Reach target <= 300 s: {'met' if sac <= 300 else 'NOT met'} (median {sac:.1f} s)")


if __name__ == "__main__":
    main()
