"""Command-line entry of the data layer (wired into the ``simreal`` script):
``simreal dataset generate`` -> :func:`generate_main`, with the settings parsed once into a ``DatasetConfig``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simreal.data.config import DatasetConfig

__all__ = ["generate_main"]


def generate_main(config: DatasetConfig, executor: str = "local") -> str:
    """Generate (or resume) the dataset of ``config``; prints a summary and returns the manifest path."""
    from simreal.data.generate import MANIFEST, generate_dataset  # lazy: pulls in MuJoCo
    from simreal.parallel import storage

    manifest = generate_dataset(config, executor)
    counts = manifest["counts"]
    out = config.out_dir
    print(f"{counts['frames']} frames in {counts['shards']} shards, spec {manifest['spec_hash']} -> {out}")
    return storage.join(out, MANIFEST)
