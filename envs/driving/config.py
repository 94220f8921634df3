"""Options of ``simreal/LaneFollow-v0``: track choice, obstacles, success distance and reward weights."""

from __future__ import annotations

import math
from dataclasses import dataclass

from simreal.envs.config import EnvConfig, check_choice, check_int_range
from simreal.envs.driving.scene import MAX_OBSTACLES
from simreal.envs.driving.track import SPLIT_SEEDS

MAX_TARGET_DISTANCE = 10_000.0  # m
MAX_START_OFFSET = 1.4  # m: the road's half width is 1.5 m, past which the car is off the road
MAX_START_HEADING = 0.8  # rad


def check_float_range(name: str, value: object, low: float, high: float) -> None:
    """Raise ValueError unless ``value`` is a finite real number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


@dataclass(frozen=True)
class LaneFollowConfig(EnvConfig):
    """LaneFollow options on top of :class:`EnvConfig`.

    ``track_seed`` fixes one track; otherwise each reset draws a seed from ``track_split``'s range (the first
    ``num_tracks`` seeds of it when set, like Procgen's ``num_levels``). ``target_distance`` (m) ends the episode
    with success; ``None`` means one lap. ``obstacles`` cones stand near the road edges. The car starts up to
    ``start_offset`` (m) beside the centre line, turned up to ``start_heading`` (rad) from the road's heading
    (uniform; wider than the defaults: the off-centre views a drifting policy meets, e.g. for paired translator
    training).
    """

    track_seed: int | None = None
    track_split: str = "train"
    num_tracks: int | None = None
    obstacles: int = 0
    target_distance: float | None = None
    progress_weight: float = 1.0
    offset_weight: float = 0.1
    jerk_weight: float = 0.02
    start_offset: float = 0.3
    start_heading: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.track_seed is not None:
            check_int_range("track_seed", self.track_seed, 0, 2**31 - 1)
        check_choice("track_split", self.track_split, tuple(SPLIT_SEEDS))
        if self.num_tracks is not None:
            check_int_range("num_tracks", self.num_tracks, 1, SPLIT_SEEDS[self.track_split][1])
        check_int_range("obstacles", self.obstacles, 0, MAX_OBSTACLES)
        if self.target_distance is not None:
            check_float_range("target_distance", self.target_distance, 1.0, MAX_TARGET_DISTANCE)
        for name in ("progress_weight", "offset_weight", "jerk_weight"):
            check_float_range(name, getattr(self, name), 0.0, 1000.0)
        check_float_range("start_offset", self.start_offset, 0.0, MAX_START_OFFSET)
        check_float_range("start_heading", self.start_heading, 0.0, MAX_START_HEADING)
