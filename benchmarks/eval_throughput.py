"""Evaluation throughput: one domain's seeded episodes run 1 at a time (the baseline) vs ``envs`` at a time.

A PPO policy of the experiment files' kind (LaneFollow, ``pixels_state`` 64 px, SB3's ``MultiInputPolicy``: NatureCNN
on the image + MLP on the state) is trained for a few steps (its weights do not change the cost), then
:func:`simreal.agents.evaluate.run_domain_task` evaluates it on ``--domain`` for ``--episodes`` episodes with each
``--envs`` value, interleaved over ``--repeats`` so that load drift hits each alike. Prints the episode steps per
second (steps of the evaluated episodes only: an env idling after the last seed is handed out counts as lost time),
the median ratio to 1 env, and whether the episodes' lengths and successes equal the baseline's (the actions may
differ by float rounding between batch sizes, see :mod:`simreal.agents.episode_queue`).

Usage: MUJOCO_GL=egl OMP_NUM_THREADS=1 python benchmarks/eval_throughput.py [--envs 1,4,8] [--episodes 16]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import simreal  # noqa: F401  (selects the GL backend, registers the ids)
from simreal.agents.evaluate import DomainTask, run_domain_task
from simreal.agents.results import DomainResult
from simreal.agents.run_config import RunConfig
from simreal.agents.train import train

CONFIG = (
    "{env}:\n  policy: MultiInputPolicy\n  n_steps: 64\n  batch_size: 64\n  n_epochs: 1\n"
    "  env_kwargs: {{obs_mode: pixels_state, image_size: 64}}\n"
)


def timed(run_dir: Path, domain: str, episodes: int, envs: int) -> tuple[float, DomainResult]:
    """(episode steps per second, the result) of one evaluation."""
    started = time.perf_counter()
    result = run_domain_task(DomainTask(str(run_dir), domain, episodes, 0, gif_frames=0, envs=envs))
    return sum(result.lengths) / (time.perf_counter() - started), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="simreal/LaneFollow-v0")
    parser.add_argument("--domain", default="train")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--envs", default="1,4,8", help="comma list; the first is the baseline")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    batches = [int(n) for n in args.envs.split(",")]
    with tempfile.TemporaryDirectory(prefix="simreal-eval-bench-") as tmp:
        zoo = Path(tmp, "ppo.yml")
        zoo.write_text(CONFIG.format(env=args.env))
        run = train(RunConfig(
            env_id=args.env, algo="ppo", timesteps=64, seed=0, out_dir=Path(tmp, "run"), config_path=zoo,
            eval_freq=0, progress_bar=False,
        ))  # fmt: skip
        rates: dict[int, list[float]] = {n: [] for n in batches}
        results: dict[int, DomainResult] = {}
        for _ in range(args.repeats):
            for n in batches:
                rate, results[n] = timed(run, args.domain, args.episodes, n)
                rates[n].append(rate)
    base = batches[0]
    steps = sum(results[base].lengths)
    print(f"{args.env} pixels_state 64px, domain={args.domain}, {args.episodes} episodes ({steps} steps), "
          f"repeats={args.repeats}")  # fmt: skip
    for n in batches:
        ratio = statistics.median(r / b for r, b in zip(rates[n], rates[base], strict=True))
        same = results[n].lengths == results[base].lengths and results[n].successes == results[base].successes
        print(
            f"envs={n:<3} {statistics.median(rates[n]):7.0f} episode steps/s  x{ratio:.2f} vs envs={base};"
            f"  same lengths and successes as envs={base}: {same}"
        )


if __name__ == "__main__":
    main()
