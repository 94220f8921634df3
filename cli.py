"""The ``simreal`` console script: argument parsing only; every sub-command calls an importable function.

simreal doctor
simreal gallery ID --randomization full -n 16 --out grid.png
simreal train ID --algo sac --randomization train --timesteps N --seed S --out runs/NAME
simreal evaluate runs/NAME --domains canonical,test,real [--transfer CKPT] --episodes 50
simreal report runs/ --out report/
simreal experiment configs/experiments/demo.yaml | localization | transfer
simreal dataset generate ID -n N --randomization full --out DIR --workers W
simreal transfer train --source simreal/Push-v0:canonical --target simreal/Push-v0:real --preset fast --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence


def _doctor(args: argparse.Namespace) -> int:
    from simreal.envs.doctor import run_doctor

    report = run_doctor(repeats=args.repeats)
    print("\n".join(report.lines()))
    return 0 if report.bit_identical else 1


def _gallery(args: argparse.Namespace) -> int:
    from simreal.randomization.gallery import gallery

    randomization = None if args.domain else args.randomization
    gallery(args.env_id, randomization, args.n, args.out, args.seed, args.domain, args.image_size)
    print(f"gallery: {args.out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from simreal.agents.cli import train_main

    env_kwargs = json.loads(args.env_kwargs) if args.env_kwargs else None
    return train_main(
        args.env_id, args.algo, args.randomization, args.timesteps, args.seed, args.out, args.config,
        args.n_envs, args.eval_freq, not args.no_resume, args.tensorboard, env_kwargs,
    )  # fmt: skip


def _evaluate(args: argparse.Namespace) -> int:
    from simreal.agents.cli import evaluate_main

    return evaluate_main(args.run_dir, args.domains, args.episodes, args.transfer, args.seed, args.workers)


def _report(args: argparse.Namespace) -> int:
    from simreal.agents.cli import report_main

    return report_main(args.runs_root, args.out)


def _experiment(args: argparse.Namespace) -> int:
    if args.what == "localization":
        from simreal.data.cli import localization_main

        localization_main(
            out=args.out or "runs/localization", n_train=args.n_train, n_eval=args.n_eval, epochs=args.epochs,
            seed=args.seed, workers=args.workers,
        )  # fmt: skip
        return 0
    if args.what == "transfer":
        from simreal.transfer.experiment import transfer_experiment_main

        transfer_experiment_main(
            out=args.out or "runs/transfer", n_train=args.n_train, n_eval=args.n_eval, epochs=args.epochs,
            gan_steps=args.gan_steps, seed=args.seed,
        )  # fmt: skip
        return 0
    from simreal.agents.cli import experiment_main

    return experiment_main(args.what)


def _dataset(args: argparse.Namespace) -> int:
    from simreal.data.cli import generate_main

    generate_main(
        args.env_id, n=args.n, out=args.out, randomization=args.randomization, domain=args.domain,
        workers=args.workers, seed=args.seed, shard_size=args.shard_size, image_size=args.image_size,
        camera=args.camera, policy=args.policy,
    )  # fmt: skip
    return 0


def _transfer(args: argparse.Namespace) -> int:
    from simreal.transfer.cli import train_main

    path = train_main(
        args.source, args.target, args.preset, args.out, args.steps, args.seed, args.n_frames, args.image_size
    )
    print(f"checkpoint: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="simreal", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="rendering backend, GL renderer, ms per frame, determinism")
    doctor.add_argument("--repeats", type=int, default=50)
    doctor.set_defaults(func=_doctor)

    gallery = sub.add_parser("gallery", help="image grid of randomized observations")
    gallery.add_argument("env_id")
    gallery.add_argument("--randomization", default="full", help="preset name or YAML path")
    gallery.add_argument("--domain", choices=["canonical", "train", "test", "real"], default=None)
    gallery.add_argument("-n", type=int, default=16)
    gallery.add_argument("--out", default="grid.png")
    gallery.add_argument("--seed", type=int, default=0)
    gallery.add_argument("--image-size", type=int, default=96)
    gallery.set_defaults(func=_gallery)

    train = sub.add_parser("train", help="train an SB3 policy")
    train.add_argument("env_id")
    train.add_argument("--algo", default="ppo")
    train.add_argument("--randomization", default=None, help="preset, YAML path or domain name")
    train.add_argument("--timesteps", type=int, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default="runs/run")
    train.add_argument("--config", default=None, help="rl-zoo3 style hyper-parameter YAML")
    train.add_argument("--n-envs", type=int, default=None)
    train.add_argument("--eval-freq", type=int, default=10_000)
    train.add_argument("--no-resume", action="store_true")
    train.add_argument("--tensorboard", action="store_true")
    train.add_argument("--env-kwargs", default=None, help='JSON, e.g. \'{"obs_mode": "pixels"}\'')
    train.set_defaults(func=_train)

    evaluate = sub.add_parser("evaluate", help="evaluate a run over domains")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--domains", default="canonical,test,real")
    evaluate.add_argument("--episodes", type=int, default=50)
    evaluate.add_argument("--transfer", default=None, help="CycleGAN checkpoint (real2sim)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--workers", type=int, default=None)
    evaluate.set_defaults(func=_evaluate)

    report = sub.add_parser("report", help="Markdown + self-contained HTML report of runs")
    report.add_argument("runs_root")
    report.add_argument("--out", default="report")
    report.set_defaults(func=_report)

    experiment = sub.add_parser("experiment", help="an experiment YAML, or 'localization' / 'transfer'")
    experiment.add_argument("what", help="configs/experiments/NAME.yaml, localization or transfer")
    experiment.add_argument("--out", default=None)
    experiment.add_argument("--seed", type=int, default=0)
    experiment.add_argument("--n-train", type=int, default=8000, help="localization/transfer: training frames")
    experiment.add_argument("--n-eval", type=int, default=500, help="localization/transfer: frames per domain")
    experiment.add_argument("--epochs", type=int, default=12, help="localization/transfer: CNN epochs")
    experiment.add_argument("--gan-steps", type=int, default=3000, help="transfer: CycleGAN steps")
    experiment.add_argument("--workers", type=int, default=2, help="localization: frame-collection processes")
    experiment.set_defaults(func=_experiment)

    dataset = sub.add_parser("dataset", help="labelled datasets")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", required=True)
    generate = dataset_sub.add_parser("generate", help="sharded, resumable labelled dataset")
    generate.add_argument("env_id")
    generate.add_argument("-n", type=int, required=True)
    generate.add_argument("--randomization", default=None)
    generate.add_argument("--domain", default=None, choices=["canonical", "train", "test", "real"])
    generate.add_argument("--out", required=True)
    generate.add_argument("--workers", type=int, default=1)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--shard-size", type=int, default=1000)
    generate.add_argument("--camera", default=None, help="camera name (default: the env's default camera)")
    generate.add_argument("--policy", choices=["oracle", "random"], default="oracle")
    generate.add_argument("--image-size", type=int, default=64)
    generate.set_defaults(func=_dataset)

    transfer = sub.add_parser("transfer", help="CycleGAN observation transfer")
    transfer_sub = transfer.add_subparsers(dest="transfer_command", required=True)
    transfer_train = transfer_sub.add_parser("train", help="train a CycleGAN between two frame sources")
    transfer_train.add_argument("--source", required=True, help="ENV_ID:DOMAIN or a folder/video of frames")
    transfer_train.add_argument("--target", required=True, help="ENV_ID:DOMAIN or a folder/video of frames")
    transfer_train.add_argument("--preset", choices=["fast", "reference"], default="fast")
    transfer_train.add_argument("--out", required=True)
    transfer_train.add_argument("--steps", type=int, default=2000)
    transfer_train.add_argument("--seed", type=int, default=0)
    transfer_train.add_argument("--n-frames", type=int, default=1000)
    transfer_train.add_argument("--image-size", type=int, default=64)
    transfer_train.set_defaults(func=_transfer)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the sub-command; bad input exits with status 2 and a one-line message."""
    from gymnasium.error import Error as GymnasiumError

    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (ValueError, FileNotFoundError, GymnasiumError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
