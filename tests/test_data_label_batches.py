"""``labelled_frames`` renders each frame and copies its state when the rollout reaches it, and computes the labels
of up to ``LABEL_BATCH`` frames of an episode in a row: the frames must equal labelling each one at once
(``label_frame`` of a ``capture_frame`` right after the step), for episodes shorter and longer than a batch,
episodes cut by the time limit, a randomization that resamples within an episode (labelled at once) and a frame
budget ``n`` (no step past the last frame)."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

from simreal.data.episodes import LABEL_BATCH, RolloutSpec, camera_name, labelled_frames, stream_frames
from simreal.data.labels import capture_frame, label_frame
from simreal.data.shards import encode_frame


def make_env(resample: str | int = "episode", domain: str | None = "train") -> gym.Env:
    return gym.make(
        "simreal/Push-v0", domain=domain, resample=resample, obs_mode="pixels", image_size=32, disable_env_checker=True
    )


def at_once(env: gym.Env, spec: RolloutSpec, seed: int, n: int) -> list[dict[str, bytes]]:
    """The reference: each sampled frame labelled right after its step."""
    camera = camera_name(env)
    frames = stream_frames(env, spec, np.random.SeedSequence(seed))
    return [
        encode_frame(
            label_frame(env, camera, capture_frame(env, camera, spec.image_size, s.rgb, s.info, s.seed, s.step))
        )
        for s in itertools.islice(frames, n)
    ]


@pytest.mark.parametrize(
    ("frames_per_episode", "stride", "n"),
    [(10, 5, 23), (3, 2, 7), (2 * LABEL_BATCH + 5, 1, 40), (40, 5, 30)],  # the last: 100-step time limit cuts it
)
def test_batched_labels_equal_labelling_each_frame_at_once(frames_per_episode: int, stride: int, n: int) -> None:
    spec = RolloutSpec("simreal/Push-v0", "train", image_size=32, frames_per_episode=frames_per_episode, stride=stride)
    env = make_env()
    try:
        batched = [encode_frame(f) for f in labelled_frames(env, spec, np.random.SeedSequence(4), n)]
        assert len(batched) == n
        assert batched == at_once(env, spec, 4, n)
    finally:
        env.close()


def test_resampling_within_an_episode_labels_each_frame_at_once() -> None:
    spec = RolloutSpec("simreal/Push-v0", "train", image_size=32, frames_per_episode=6, stride=1)
    env = make_env(resample=2)  # new textures, colours and camera every 2 steps
    try:
        batched = [encode_frame(f) for f in labelled_frames(env, spec, np.random.SeedSequence(5), 12)]
        assert batched == at_once(env, spec, 5, 12)
    finally:
        env.close()


def test_frame_budget_stops_at_the_last_frame() -> None:
    spec = RolloutSpec("simreal/Push-v0", "train", image_size=32, frames_per_episode=10, stride=3)
    env = make_env()
    try:
        frames = list(labelled_frames(env, spec, np.random.SeedSequence(6), 4))
        assert [f.meta["step"] for f in frames] == [0, 3, 6, 9]
        assert env.get_wrapper_attr("_elapsed_steps") == 9  # no step taken past the 4th frame
        assert list(labelled_frames(env, spec, np.random.SeedSequence(6), 0)) == []
        with pytest.raises(ValueError, match="n must be"):
            next(labelled_frames(env, spec, np.random.SeedSequence(6), -1))
    finally:
        env.close()
