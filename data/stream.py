"""``FrameStream``: an endless torch ``IterableDataset`` of labelled frames rendered on the fly.

Each DataLoader worker gets its own stream, ``SeedSequence(seed).spawn(num_workers)[worker_id]``, so no two workers
produce the same episodes (worker ``w`` yields the frames of shard ``w`` of a dataset generated with the same
settings and seed). The env, and with it the GL context, is created lazily inside the worker. Use
``multiprocessing_context="spawn"`` in the DataLoader when the main process has rendered anything (an inherited
GL context hangs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from simreal.data.config import StreamConfig
from simreal.data.episodes import labelled_frames, make_data_env, stream_frames
from simreal.data.labels import Frame

__all__ = ["FrameStream", "frame_arrays"]


def frame_arrays(frame: Frame) -> dict[str, Any]:
    """Fixed-shape arrays of a labelled frame (collatable by torch's default collate): images, camera matrices,
    provenance and ``state.<name>`` (float32). Per-object labels are in ``frame.labels`` (their row count follows
    which objects a randomized scene shows, so they do not collate)."""
    labels = frame.labels
    arrays: dict[str, Any] = {
        "rgb": frame.rgb,
        "depth": frame.depth,
        "segmentation": frame.segmentation,
        "intrinsics": labels["camera.intrinsics"].astype(np.float32),
        "world_to_camera": labels["camera.world_to_camera"].astype(np.float32),
        "seed": frame.meta["seed"],
        "step": frame.meta["step"],
    }
    for name, value in labels.items():
        if name.startswith("task_state."):
            arrays[f"state.{name[len('task_state.') :]}"] = value.astype(np.float32)
    return arrays


class FrameStream(IterableDataset):
    """Endless frames of ``config.env_id`` in a domain or randomization, rolled out by the oracle or a random policy.

    With ``config.labels`` an item is :func:`frame_arrays` of the full labels (or ``transform(frame)``); without, it
    is ``{"rgb", "seed", "step", "state.<name>"...}`` (no depth/segmentation renders, faster). Each item also carries
    ``worker`` (the DataLoader worker id, 0 in the main process).
    """

    def __init__(self, config: StreamConfig, transform: Callable[[Frame], Any] | None = None) -> None:
        super().__init__()
        self.config = config
        self.rollout = config.rollout
        self.transform = transform

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        seed_sequence = np.random.SeedSequence(self.config.seed).spawn(workers)[worker]
        env = make_data_env(self.rollout)
        try:
            if self.config.labels:
                for frame in labelled_frames(env, self.rollout, seed_sequence):
                    item = self.transform(frame) if self.transform is not None else frame_arrays(frame)
                    yield {**item, "worker": worker} if isinstance(item, dict) else item
            else:
                base: Any = env.unwrapped
                for sample in stream_frames(env, self.rollout, seed_sequence):
                    state = {f"state.{k}": np.asarray(v, dtype=np.float32) for k, v in base.task_state().items()}
                    yield {"rgb": sample.rgb, "seed": sample.seed, "step": sample.step, "worker": worker, **state}
        finally:
            env.close()
