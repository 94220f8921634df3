"""Golden dataset bytes: a small ``train`` Push dataset under a fixed seed must keep every member's bytes when the
labelled-frame path is optimised (the data, not only its values, is the contract: shards are compared by sha256).

The digests were taken with MuJoCo 4.0.0 and Mesa's llvmpipe (the project's environment) before the throughput work
of issue 18. The pixel members (``rgb``, ``depth``, ``seg``) also depend on the rasteriser: an upgrade of MuJoCo or
Mesa that changes them is re-pinned with the reason in the commit; a change of ``labels`` or ``json`` alone is a
change of the data pipeline.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from simreal.data.config import DatasetConfig
from simreal.data.generate import generate_dataset
from simreal.data.shards import index_shard

SETTINGS = {"env_id": "simreal/Push-v0", "domain": "train", "image_size": 64, "n": 24, "shard_size": 12, "seed": 3}
SETTINGS |= {"frames_per_episode": 10, "stride": 5, "workers": 0}
GOLDEN = {
    "rgb.npy": "f39b24f2a6d38985",
    "depth.npy": "23d7b7ddbb174dad",
    "seg.npy": "3dd745b987b5207b",
    "labels.npy": "de6f8f962707e65c",
    "json": "d619caef56c11c1b",
    "tar": "47d045b4b1e7cc3d",  # the shard files themselves: member order, names and tar headers
}


def member_digests(out: Path) -> dict[str, str]:
    """sha256 (16 hex digits) of each member kind over all samples in order, and of the shard files."""
    digests: dict[str, hashlib._Hash] = {}
    for shard in sorted(out.glob("shard-*.tar")):
        index = index_shard(shard)
        for key in index.keys:
            for extension, data in index.read(key).items():
                digests.setdefault(extension, hashlib.sha256()).update(data)
        digests.setdefault("tar", hashlib.sha256()).update(shard.read_bytes())
    return {name: digest.hexdigest()[:16] for name, digest in digests.items()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("golden")
    generate_dataset(DatasetConfig.from_dict({**SETTINGS, "out_dir": str(out)}), progress=False)
    return out


@pytest.mark.parametrize("member", sorted(GOLDEN))
def test_dataset_bytes_are_golden(dataset: Path, member: str) -> None:
    assert member_digests(dataset)[member] == GOLDEN[member]
