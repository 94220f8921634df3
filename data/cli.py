"""Command-line entries of the data layer (plain typed arguments; the lead wires them into the ``simreal`` script):
``simreal dataset generate`` -> :func:`generate_main`, ``simreal experiment localization`` -> :func:`localization_main`.
"""

from __future__ import annotations

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
    executor: str = "local",
) -> str:
    """Generate (or resume) a labelled dataset in ``out``; prints a summary and returns the manifest path."""
    from simreal.data.generate import MANIFEST, generate_dataset  # lazy: pulls in MuJoCo
    from simreal.parallel import storage

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
        executor=executor,
    )
    counts = manifest["counts"]
    print(f"{counts['frames']} frames in {counts['shards']} shards, spec {manifest['spec_hash']} -> {out}")
    return storage.join(out, MANIFEST)


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
    from simreal.data import experiment_localization as experiment  # lazy: pulls in torch, MuJoCo
    from simreal.data.eval_domains import parse_domains

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
