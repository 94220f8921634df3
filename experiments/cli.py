"""Command-line entries of the experiments (plain typed arguments, wired into the ``simreal`` script):
``simreal experiment localization`` -> :func:`localization_main`, ``simreal experiment transfer`` ->
:func:`transfer_main`, ``simreal experiment CONFIG.yaml`` -> :func:`policy_matrix_main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["localization_main", "policy_matrix_main", "transfer_main"]


def localization_main(
    out: str,
    n_train: int = 8000,
    n_eval: int = 500,
    epochs: int = 12,
    seed: int = 0,
    image_size: int = 64,
    workers: int = 2,
    executor: str = "local",
    domains: str | None = None,
    eval_only: str | None = None,
) -> dict[str, Any]:
    """Run the Tobin et al. localization experiment into ``out`` (or, with ``eval_only`` = a models folder of an
    earlier run, evaluate its saved models without retraining) on ``domains`` (comma-separated names or spec
    files; default: the experiment's); prints the error table and returns the results."""
    from simreal.data.eval_domains import parse_domains
    from simreal.experiments import localization as experiment  # lazy: pulls in torch, MuJoCo

    chosen = parse_domains(domains) if domains else experiment.EVAL_DOMAINS
    if eval_only:
        results = experiment.evaluate_saved_models(
            eval_only, chosen, n_eval, seed, out_dir=out, workers=workers, executor=executor
        )
    else:
        results = experiment.run_localization_experiment(
            out, n_train, n_eval, epochs, seed, image_size, workers=workers, progress=True, executor=executor,
            domains=chosen,
        )  # fmt: skip
    print("cells: median / p90 cm / % frames > 5 cm (% not found)")
    print(results["table"])
    for domain, errors in results.get("nominal_camera_floor", {}).items():
        print(f"perfect detector through the nominal camera, {domain}: median {errors['median_cm']:.2f} cm")
    target = results["target"]
    limits = ", ".join(f"{k} {v}" for k, v in target["per_reality_proxy"].items())
    verdict = "met" if target["met_every_proxy"] else "NOT met"
    print(f"target on every reality proxy ({limits}), detector trained with randomization: {verdict}")
    print(f"wall time {results['timings_s'].get('total_s', 0.0):.0f} s -> {out}")
    return results


def transfer_main(
    out: str,
    n_train: int = 3000,
    n_eval: int = 400,
    epochs: int = 6,
    gan_steps: int = 1000,
    seed: int = 0,
    executor: str = "local",
    domains: str | None = None,
    eval_only: str | None = None,
) -> dict:
    """CLI entry of ``simreal experiment transfer``: run (or ``eval_only``: evaluate a models folder) on
    ``domains`` (comma-separated names or spec files), print the summary table and the output folder."""
    import torch

    from simreal.data.eval_domains import parse_domains
    from simreal.experiments.transfer import DOMAINS, evaluate_saved_translators, run_transfer_experiment
    from simreal.experiments.transfer_report import summary_table

    chosen = parse_domains(domains) if domains else DOMAINS
    torch.set_num_threads(1)  # measured: 2 threads on a shared 2-core CPU stall CycleGAN steps 25x
    if eval_only:
        results = evaluate_saved_translators(eval_only, chosen, n_eval, seed, out_dir=out, executor=executor)
    else:
        results = run_transfer_experiment(
            out, n_train=n_train, n_eval=n_eval, epochs=epochs, gan_steps=gan_steps, seed=seed, executor=executor,
            domains=chosen, progress=True,
        )  # fmt: skip
    print(summary_table(results))
    print(f"wall time {results['timings_s'].get('total_s', 0.0):.0f} s; results: {Path(out) / 'results.json'}")
    return results


def policy_matrix_main(config: str, executor: str = "local") -> int:
    """``simreal experiment configs/experiments/X.yaml [--executor ray]``: prints where ``report.html`` is."""
    from simreal.experiments.policy_matrix import run_experiment

    path = run_experiment(config, executor)
    print(f"report: {path}")
    return 0
