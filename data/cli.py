"""Command-line entries of the data layer (plain typed arguments; the lead wires them into the ``simreal`` script):
``simreal dataset generate`` -> :func:`generate_main`, ``simreal experiment localization`` -> :func:`localization_main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["generate_main", "localization_main"]


def generate_main(
    env_id: str,
    n: int,
    out: str,
    randomization: str | None = None,
    domain: str | None = None,
    workers: int = 1,
    seed: int = 0,
    shard_size: int = 1000,
    image_size: int = 64,
    camera: str | None = None,
    policy: str = "oracle",
    frames_per_episode: int = 10,
    stride: int = 5,
) -> Path:
    """Generate (or resume) a labelled dataset in ``out``; prints a summary and returns the manifest path."""
    from simreal.data.generate import MANIFEST, generate_dataset  # lazy: pulls in MuJoCo

    manifest = generate_dataset(
        env_id,
        n,
        out,
        domain=domain,
        randomization=randomization,
        workers=workers,
        seed=seed,
        shard_size=shard_size,
        image_size=image_size,
        camera=camera,
        policy=policy,
        frames_per_episode=frames_per_episode,
        stride=stride,
    )
    counts = manifest["counts"]
    print(f"{counts['frames']} frames in {counts['shards']} shards, spec {manifest['spec_hash']} -> {out}")
    return Path(out) / MANIFEST


def localization_main(
    out: str,
    n_train: int = 8000,
    n_eval: int = 500,
    epochs: int = 12,
    seed: int = 0,
    image_size: int = 64,
    workers: int = 2,
) -> dict[str, Any]:
    """Run the Tobin et al. localization experiment into ``out``; prints the error table and returns the results."""
    from simreal.data.experiment_localization import run_localization_experiment  # lazy: pulls in torch, MuJoCo

    results = run_localization_experiment(
        out, n_train, n_eval, epochs, seed, image_size, workers=workers, progress=True
    )
    print(f"{'pipeline':<12}{'trained on':<12}{'eval':<11}{'median cm':>10}{'p90 cm':>9}")
    for pipeline, models in results["pipelines"].items():
        for model in models.values():
            for domain, errors in model["eval"].items():
                row = f"{pipeline:<12}{model['train_domain']:<12}{domain:<11}"
                print(f"{row}{errors['median_cm']:>10.2f}{errors['p90_cm']:>9.2f}")
    for domain, errors in results["nominal_camera_floor"].items():
        print(f"perfect detector through the nominal camera, {domain}: median {errors['median_cm']:.2f} cm")
    target = results["target"]
    for pipeline, met in target["met"].items():
        verdict = "met" if met else "NOT met"
        limit = target["real_median_cm_max"]
        print(f"target: median <= {limit} cm on real, {pipeline} trained with randomization: {verdict}")
    return results
