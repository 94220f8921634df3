"""Command-line entry of the data layer (plain typed arguments, wired into the ``simreal`` script):
``simreal dataset generate`` -> :func:`generate_main`.
"""

from __future__ import annotations

__all__ = ["generate_main"]


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
