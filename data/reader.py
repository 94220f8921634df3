"""``ShardDataset``: map-style torch dataset over the shards of a generated dataset folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from simreal.data.generate import load_manifest
from simreal.data.shards import ShardIndex, decode_sample, verify_shard

__all__ = ["ShardDataset"]


class ShardDataset(Dataset):
    """Samples of the shards listed in ``root/manifest.json``, in shard then frame order.

    An item is ``{"key", "rgb" uint8 (H, W, 3), "depth" float32 (H, W), "segmentation" int32 (H, W), "meta" dict}``
    or ``transform(item)``. With ``verify`` (default) every shard's sha256 and sample count are checked against the
    manifest on construction; a missing, partial or corrupt shard raises :class:`~simreal.data.shards.ShardError`
    naming the file. An unfinished dataset raises ValueError unless ``allow_incomplete``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        verify: bool = True,
        transform: Callable[[dict[str, Any]], Any] | None = None,
        allow_incomplete: bool = False,
    ) -> None:
        self.root = Path(root)
        self.manifest = load_manifest(self.root)
        if not self.manifest.get("complete") and not allow_incomplete:
            done, total = self.manifest["counts"]["shards"], self.manifest["n_shards"]
            raise ValueError(
                f"{self.root}: dataset is incomplete ({done} of {total} shards); re-run generation to finish it "
                "or pass allow_incomplete=True"
            )
        self.transform = transform
        self._indexes: list[ShardIndex] = []
        self._items: list[tuple[int, str]] = []
        for record in self.manifest["shards"]:
            index = verify_shard(self.root / record["name"], record["sha256"] if verify else None, record["count"])
            self._items.extend((len(self._indexes), key) for key in index.keys)
            self._indexes.append(index)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, item: int) -> Any:
        if not -len(self) <= item < len(self):
            raise IndexError(f"index {item} out of range for a dataset of {len(self)} frames")
        shard, key = self._items[item]
        sample = {"key": key, **decode_sample(self._indexes[shard].read(key))}
        return self.transform(sample) if self.transform is not None else sample
