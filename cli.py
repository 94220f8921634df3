"""The ``simreal`` console script: argument parsing only; every sub-command calls an importable function.

simreal doctor
simreal gallery ID --randomization full -n 16 --out grid.png
simreal train ID --algo sac --randomization train --timesteps N --seed S --out runs/NAME
simreal evaluate runs/NAME --domains canonical,test,real [--transfer CKPT] --episodes 50
simreal report runs/ --out report/
simreal experiment configs/experiments/demo.yaml
simreal experiment configs/experiments/localization.yaml --domains canonical,test,real,my_lab.yaml
simreal benchmark [--budget small|full]
simreal dataset generate ID -n N --randomization full --out DIR --workers W
simreal transfer train --source simreal/Push-v0:canonical --target simreal/Push-v0:real --preset fast --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

EXIT_BAD_INPUT = 2
DEBUG_ENV = "SIMREAL_DEBUG"
NO_MUJOCO_COMMANDS = ("doctor", "report")  # doctor diagnoses a broken GL backend itself; report only reads JSON


def _doctor(args: argparse.Namespace) -> int:
    from simreal.envs.doctor import run_doctor

    report = run_doctor(repeats=args.repeats)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def _simreal_id(env_id: str, command: str) -> str:
    """``env_id`` if it is one of simreal's (randomizable, rendered) ids; ``ValueError`` listing them otherwise."""
    import gymnasium as gym

    ids = sorted(name for name in gym.registry if name.startswith("simreal/"))
    if env_id not in ids:
        raise ValueError(f"env_id: {command} needs one of simreal's ids {ids}, got {env_id!r}")
    return env_id


def _gallery(args: argparse.Namespace) -> int:
    from simreal.randomization.gallery import gallery

    _simreal_id(args.env_id, "gallery")
    randomization = None if args.domain else args.randomization
    gallery(args.env_id, randomization, args.n, args.out, args.seed, args.domain, args.image_size)
    print(f"gallery: {args.out}")
    return 0


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{option}: not valid JSON ({error})") from error
    if not isinstance(value, dict):
        raise ValueError(f"{option}: expected a JSON object, got {type(value).__name__}")
    return value


def _train(args: argparse.Namespace) -> int:
    from simreal.agents.cli import train_main
    from simreal.agents.run_config import RunConfig

    env_kwargs = _json_object(args.env_kwargs, "--env-kwargs") if args.env_kwargs else {}
    run = RunConfig(
        env_id=args.env_id, algo=args.algo, randomization=args.randomization, timesteps=args.timesteps,
        seed=args.seed, out_dir=args.out, config_path=args.config, env_kwargs=env_kwargs, n_envs=args.n_envs,
        eval_freq=args.eval_freq, resume=not args.no_resume, tensorboard=args.tensorboard,
    )  # fmt: skip
    return train_main(run)


def _evaluate(args: argparse.Namespace) -> int:
    from simreal.agents.cli import evaluate_main

    return evaluate_main(
        args.run_dir, args.domains, args.episodes, args.transfer, args.seed, args.workers, executor=args.executor,
        latency_sweep=args.latency_sweep,
    )  # fmt: skip


def _report(args: argparse.Namespace) -> int:
    from simreal.agents.cli import report_main

    return report_main(args.runs_root, args.out, args.methods)


def _experiment(args: argparse.Namespace) -> int:
    from simreal.experiments.cli import OPTIONS, experiment_main

    overrides = {key: getattr(args, option[2:].replace("-", "_")) for key, option in OPTIONS.items()}
    return experiment_main(args.config, overrides, executor=args.executor, eval_only=args.eval_only)


def _benchmark(args: argparse.Namespace) -> int:
    from pathlib import Path

    from simreal.experiments.cli import benchmark_main, load_experiment
    from simreal.experiments.config import resolve_input

    out_key = "small_out_dir" if args.budget == "small" else "out_dir"
    kind, config = load_experiment(resolve_input(args.config, Path.cwd(), "--config"), {out_key: args.out})
    if kind != "benchmark":
        raise ValueError(f"--config: {args.config} is a {kind} experiment, not a benchmark (kind: benchmark)")
    benchmark_main(config, args.budget, args.executor, args.report_only)
    return 0


def _dataset(args: argparse.Namespace) -> int:
    from simreal.data.cli import generate_main
    from simreal.data.config import DatasetConfig

    _simreal_id(args.env_id, "dataset generate")
    config = DatasetConfig(
        args.env_id, domain=args.domain, randomization=args.randomization, camera=args.camera,
        image_size=args.image_size, policy=args.policy, n=args.n, out_dir=args.out, seed=args.seed,
        shard_size=args.shard_size, workers=args.workers, stride=args.stride,
        frames_per_episode=args.frames_per_episode, action_noise=args.action_noise,
    )  # fmt: skip
    generate_main(config, args.executor)
    return 0


def _transfer(args: argparse.Namespace) -> int:
    from simreal.transfer.cli import train_main

    path = train_main(
        args.source, args.target, args.preset, args.out, args.steps, args.seed, args.n_frames, args.image_size
    )
    print(f"checkpoint: {path}")
    return 0


EXECUTOR_HELP = (
    "where parallel tasks run: local (spawned processes on this machine) or ray (the cluster at RAY_ADDRESS, "
    "else a local Ray on every core; pip install 'simreal[ray]'; with ray the cluster's CPUs set the "
    "parallelism and --workers is not used)"
)


def _add_executor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=["local", "ray"], default="local", help=EXECUTOR_HELP)


ALGO_NAMES = ("ppo", "sac", "sac_her", "dagger")  # simreal.agents.algos.ALGOS, without importing SB3
DOMAIN_NAMES = ("canonical", "train", "test", "real")
RANDOMIZATION_HELP = "preset (none, visual, physics, full), domain (canonical, train, test, real) or a YAML spec path"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default (unless it is None/False or the help explains it); keeps line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _sub(sub: Any, name: str, help: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=help, formatter_class=_HelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and docs): every option has help, choices and its default."""
    examples = "examples:\n  " + "\n  ".join(line for line in __doc__.splitlines() if line.startswith("simreal "))
    parser = argparse.ArgumentParser(
        prog="simreal", description=__doc__.split("\n")[0], epilog=examples, formatter_class=_HelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = _sub(sub, "doctor", "rendering backend, GL renderer, ms per frame, determinism")
    doctor.add_argument("--repeats", type=int, default=50, help="frames timed per render preset")
    doctor.set_defaults(func=_doctor)

    gallery = _sub(sub, "gallery", "image grid of randomized observations")
    gallery.add_argument("env_id", help="a registered id, e.g. simreal/Push-v0")
    gallery.add_argument("--randomization", default="full", help="preset name or YAML spec path")
    gallery.add_argument("--domain", choices=DOMAIN_NAMES, help="a named domain (overrides --randomization)")
    gallery.add_argument("-n", type=int, default=16, help="number of images")
    gallery.add_argument("--out", default="grid.png", help="output PNG path")
    gallery.add_argument("--seed", type=int, default=0, help="random seed")
    gallery.add_argument("--image-size", type=int, default=96, help="side of each image in pixels")
    gallery.set_defaults(func=_gallery)

    train = _sub(sub, "train", "train an SB3 policy into a run folder")
    train.add_argument("env_id", help="a registered id, e.g. simreal/Reach-v0")
    train.add_argument(
        "--algo", choices=ALGO_NAMES, default="ppo", help="SB3 algorithm, or dagger (imitation of the task oracle)"
    )
    train.add_argument("--randomization", default=None, help=f"{RANDOMIZATION_HELP}, or adr (default: as registered)")
    train.add_argument("--timesteps", type=int, default=None, help="env steps (default: the config's n_timesteps)")
    train.add_argument("--seed", type=int, default=0, help="random seed (>= 0)")
    train.add_argument("--out", default="runs/run", help="run folder (resumed if it holds a checkpoint)")
    train.add_argument("--config", default=None, help="rl-zoo3 style hyper-parameter YAML (default: configs/ALGO.yml)")
    train.add_argument("--n-envs", type=int, default=None, help="parallel envs (default: the config's n_envs)")
    train.add_argument("--eval-freq", type=int, default=10_000, help="env steps between evaluations; 0: off")
    train.add_argument("--no-resume", action="store_true", help="start over instead of resuming from a checkpoint")
    train.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs to OUT/tb")
    train.add_argument("--env-kwargs", default=None, help='gym.make keywords as JSON, e.g. \'{"obs_mode": "pixels"}\'')
    train.set_defaults(func=_train)

    evaluate = _sub(sub, "evaluate", "evaluate a run over domains (results and GIFs go into the run folder)")
    evaluate.add_argument("run_dir", help="a run folder written by simreal train")
    evaluate.add_argument(
        "--domains", default="canonical,test,real", help=f"comma-separated; each a {RANDOMIZATION_HELP}"
    )
    evaluate.add_argument("--episodes", type=int, default=50, help="episodes per domain")
    evaluate.add_argument("--transfer", default=None, help="CycleGAN checkpoint applied real2sim to observations")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the episode seeds (same on every domain)")
    evaluate.add_argument("--workers", type=int, default=None, help="processes (default: one per domain, <= CPUs)")
    evaluate.add_argument(
        "--latency-sweep", default="", help="comma-separated actuation latencies (control steps), e.g. 0,1,2,3,4: "
        "the canonical scene at each latency, reported as success vs latency",
    )  # fmt: skip
    _add_executor(evaluate)
    evaluate.set_defaults(func=_evaluate)

    report = _sub(sub, "report", "Markdown + self-contained HTML report of runs")
    report.add_argument("runs_root", help="folder searched for results.json files")
    report.add_argument("--out", default="report", help="output folder")
    report.add_argument(
        "--methods", default="", help="comma-separated method names: report only these (default: every run found)"
    )
    report.set_defaults(func=_report)

    experiment = _sub(sub, "experiment", "run an experiment file (its kind: policy_matrix, localization, transfer)")
    experiment.add_argument(
        "config", help="an experiment YAML, e.g. configs/experiments/demo.yaml, localization.yaml or transfer.yaml"
    )
    experiment.add_argument("--out", default=None, help="output folder (overrides the file's out_dir)")
    experiment.add_argument("--seed", type=int, default=None, help="localization/transfer: random seed")
    experiment.add_argument("--n-train", type=int, default=None, help="localization/transfer: training frames")
    experiment.add_argument("--n-eval", type=int, default=None, help="localization/transfer: frames per domain")
    experiment.add_argument(
        "--epochs", type=int, default=None, help="localization: regression CNN epochs; transfer: detector epochs"
    )
    experiment.add_argument("--gan-steps", type=int, default=None, help="transfer: CycleGAN steps")
    experiment.add_argument("--workers", type=int, default=None, help="processes (overrides the file's workers)")
    experiment.add_argument(
        "--domains", default=None,
        help="evaluation domains, comma-separated names or your own spec files, e.g. canonical,test,real,my_lab.yaml "
        "(real = real:0..real:4; overrides the file's domains)",
    )  # fmt: skip
    experiment.add_argument(
        "--eval-only", default=None, metavar="MODELS_DIR",
        help="localization/transfer: evaluate the models saved in MODELS_DIR (an earlier run's --out) on --domains "
        "without retraining",
    )  # fmt: skip
    _add_executor(experiment)
    experiment.set_defaults(func=_experiment)

    benchmark = _sub(sub, "benchmark", "run every task's experiment and write BENCHMARK.md + report.html")
    benchmark.add_argument(
        "--budget", choices=["small", "full"], default="full",
        help="small: the file's small overrides (fewer seeds/steps/episodes; outputs labelled 'small budget')",
    )  # fmt: skip
    benchmark.add_argument(
        "--config", default="configs/experiments/benchmark.yaml", help="a kind: benchmark file (default: simreal's)"
    )
    benchmark.add_argument("--out", default=None, help="output folder (overrides the budget's folder of the file)")
    benchmark.add_argument(
        "--report-only",
        action="store_true",
        help="write BENCHMARK.md + report.html from the experiments' finished results only (trains nothing; the "
        "others are listed as 'not run yet')",
    )
    _add_executor(benchmark)
    benchmark.set_defaults(func=_benchmark)

    dataset = _sub(sub, "dataset", "labelled datasets")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", required=True, metavar="COMMAND")
    generate = _sub(dataset_sub, "generate", "sharded, resumable labelled dataset")
    generate.add_argument("env_id", help="a registered id, e.g. simreal/Push-v0")
    generate.add_argument("-n", type=int, required=True, help="number of frames")
    generate.add_argument("--randomization", default=None, help="preset name or YAML spec path")
    generate.add_argument("--domain", default=None, choices=DOMAIN_NAMES, help="a named domain")
    generate.add_argument("--out", required=True, help="dataset folder (resumed if it exists)")
    generate.add_argument("--workers", type=int, default=1, help="processes (0: build shards in this process)")
    generate.add_argument("--seed", type=int, default=0, help="random seed")
    generate.add_argument("--shard-size", type=int, default=1000, help="frames per shard")
    generate.add_argument("--camera", default=None, help="camera name (default: the env's default camera)")
    generate.add_argument("--policy", choices=["oracle", "random"], default="oracle", help="actions between frames")
    generate.add_argument("--image-size", type=int, default=64, help="side of each frame in pixels")
    generate.add_argument(
        "--stride", type=int, default=5, help="policy steps between kept frames (fewer: faster, more alike frames)"
    )
    generate.add_argument("--frames-per-episode", type=int, default=10, help="frames kept per episode")
    generate.add_argument(
        "--action-noise", type=float, default=0.0, help="std of a Gaussian on the oracle's actions (off-path states)"
    )
    _add_executor(generate)
    generate.set_defaults(func=_dataset)

    transfer = _sub(sub, "transfer", "CycleGAN observation transfer")
    transfer_sub = transfer.add_subparsers(dest="transfer_command", required=True, metavar="COMMAND")
    transfer_train = _sub(transfer_sub, "train", "train a CycleGAN between two frame sources")
    transfer_train.add_argument("--source", required=True, help="ENV_ID:DOMAIN or a folder/video of frames")
    transfer_train.add_argument("--target", required=True, help="ENV_ID:DOMAIN or a folder/video of frames")
    transfer_train.add_argument("--preset", choices=["fast", "reference"], default="fast", help="network size")
    transfer_train.add_argument("--out", required=True, help="output folder of the checkpoint")
    transfer_train.add_argument("--steps", type=int, default=2000, help="training steps")
    transfer_train.add_argument("--seed", type=int, default=0, help="random seed")
    transfer_train.add_argument("--n-frames", type=int, default=1000, help="frames collected per side")
    transfer_train.add_argument("--image-size", type=int, default=64, help="side of each frame in pixels")
    transfer_train.set_defaults(func=_transfer)
    return parser


def describe_error(error: BaseException) -> str:
    """``<where>: <what>`` for a user-input error (``FILE:LINE:COLUMN`` for YAML/JSON syntax errors)."""
    import yaml

    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        where = "YAML" if mark.name.startswith("<") else mark.name
        return f"{where}:{mark.line + 1}:{mark.column + 1}: {error.problem or error.context}"
    if isinstance(error, json.JSONDecodeError):
        return f"JSON:{error.lineno}:{error.colno}: {error.msg}"
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return str(error) or type(error).__name__


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean bad input (arguments, files, configs), not a bug in simreal."""
    import yaml
    from gymnasium.error import Error as GymnasiumError

    from simreal.envs.gl_backend import GLBackendError

    return (ValueError, yaml.YAMLError, FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
            PermissionError, GymnasiumError, GLBackendError)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the sub-command.

    Bad input (any ``ValueError`` incl. JSON errors, YAML errors, missing files, unknown env ids) prints one line
    ``error: <where>: <what>`` to stderr and exits with status 2; set ``SIMREAL_DEBUG=1`` for the traceback.
    Other exceptions are bugs and keep their traceback.
    """
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        if args.command not in NO_MUJOCO_COMMANDS:
            from simreal.envs.gl_backend import import_mujoco

            import_mujoco()  # a broken GL backend: one line with the install hint, not a PyOpenGL traceback
        return func(args)
    except user_errors() as error:
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        print(f"error: {describe_error(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
