"""Seeded rollouts that data collection shares: env construction, policies, episode seeds and frame sampling.

An episode is reset with its own seed (env, randomization and policy noise all derive from it); the first frame is
the reset observation, then one frame every ``stride`` policy steps, at most ``frames_per_episode`` frames.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import simreal  # noqa: F401  (registers the simreal ids)
from simreal.data.labels import Frame, FrameCapture, capture_frame, label_frame
from simreal.envs.config import IMAGE_SIZE_RANGE, check_choice, check_int_range, check_number_range
from simreal.envs.oracles import oracle_for

__all__ = [
    "LABEL_BATCH",
    "POLICIES",
    "EpisodeFrame",
    "Policy",
    "RolloutSpec",
    "camera_name",
    "episode_frames",
    "episode_seed",
    "episodes",
    "labelled_frames",
    "make_data_env",
    "make_policy",
    "stream_frames",
]

POLICIES = ("oracle", "random")
MAX_ACTION_NOISE = 2.0  # an action space of [-1, 1]: beyond this the oracle is lost in the noise
Policy = Callable[[gym.Env], np.ndarray]


@dataclass(frozen=True)
class RolloutSpec:
    """What to render and how to roll out: env, domain or randomization, camera, image size, policy, sampling."""

    env_id: str
    domain: str | None = None
    randomization: str | None = None
    camera: str | None = None
    image_size: int = 64
    policy: str = "oracle"
    frames_per_episode: int = 10
    stride: int = 5
    action_noise: float = 0.0  # std of the Gaussian on the oracle's actions (make_policy); 0: the oracle as is

    def __post_init__(self) -> None:
        check_choice("policy", self.policy, POLICIES)
        check_number_range("action_noise", self.action_noise, 0.0, MAX_ACTION_NOISE)
        if self.action_noise > 0 and self.policy != "oracle":
            raise ValueError(f"action_noise: only the oracle's actions take noise, got policy {self.policy!r}")
        check_int_range("image_size", self.image_size, *IMAGE_SIZE_RANGE)
        check_int_range("frames_per_episode", self.frames_per_episode, 1, 10_000)
        check_int_range("stride", self.stride, 1, 10_000)
        if self.domain is not None and self.randomization is not None:
            raise ValueError(f"domain/randomization: pass one, got {self.domain!r} and {self.randomization!r}")

    @property
    def resolved_domain(self) -> str | None:
        """The domain to use: ``canonical`` when neither a domain nor a randomization is given."""
        return "canonical" if self.domain is None and self.randomization is None else self.domain


@dataclass(frozen=True)
class EpisodeFrame:
    """One sampled frame of a rollout: the RGB observation, the step info, the episode seed and step index."""

    rgb: np.ndarray
    info: dict[str, Any]
    seed: int
    step: int


def make_data_env(
    spec: RolloutSpec, cameras: tuple[str, ...] | None = None, env_kwargs: Mapping[str, Any] | None = None
) -> gym.Env:
    """The env of ``spec`` with RGB observations of one camera, or of each of ``cameras`` when given (a dict by
    camera name when there are several), and the env options ``env_kwargs`` (e.g. LaneFollow's ``start_offset``;
    the observation mode and image size are the spec's, whatever ``env_kwargs`` says: callers such as
    :class:`~simreal.transfer.paired.Pairing` refuse those keys); no GL context is created until the first frame.

    Rollouts switch ``render_observations`` off for the steps whose frame is not kept (their observation is None),
    so the env checker, which would flag that, is off."""
    kwargs: dict[str, Any] = {**(env_kwargs or {}), "obs_mode": "pixels", "image_size": spec.image_size}
    kwargs["disable_env_checker"] = True
    if cameras is None and spec.camera is not None:
        cameras = (spec.camera,)
    if cameras is not None:
        kwargs["cameras"] = cameras
    return gym.make(spec.env_id, domain=spec.resolved_domain, randomization=spec.randomization, **kwargs)


def make_policy(env_id: str, policy: str, rng: np.random.Generator, action_noise: float = 0.0) -> Policy:
    """The scripted oracle of ``env_id`` (with ``action_noise`` > 0: plus a Gaussian of that std drawn from ``rng``
    on each action, clipped to the action space: DART-style, so rollouts also visit the off-path states a learned
    policy drifts into) or a uniform random policy drawing from ``rng``."""
    check_choice("policy", policy, POLICIES)
    if policy == "oracle":
        oracle = oracle_for(env_id)
        if action_noise == 0:
            return oracle

        def noisy_oracle(env: gym.Env) -> np.ndarray:
            space = env.action_space
            action = oracle(env) + action_noise * rng.standard_normal(space.shape)
            return np.clip(action, space.low, space.high).astype(space.dtype)

        return noisy_oracle

    def random_policy(env: gym.Env) -> np.ndarray:
        space = env.action_space
        return rng.uniform(space.low, space.high).astype(space.dtype)

    return random_policy


def episode_seed(seed_sequence: np.random.SeedSequence, index: int) -> tuple[int, np.random.SeedSequence]:
    """Reset seed (a 63-bit int: fits int64 tensors) and policy seed sequence of episode ``index``."""
    child = np.random.SeedSequence(seed_sequence.entropy, spawn_key=(*seed_sequence.spawn_key, index))
    words = child.generate_state(2, np.uint32)
    return (int(words[0]) & 0x7FFF_FFFF) << 32 | int(words[1]), child.spawn(1)[0]


def camera_name(env: gym.Env) -> str:
    """The camera the env's pixel observations come from."""
    return env.unwrapped.camera_names[0]  # type: ignore[attr-defined]


def episode_frames(
    env: gym.Env, spec: RolloutSpec, seed: int, policy_seed: np.random.SeedSequence
) -> Iterator[EpisodeFrame]:
    """Reset ``env`` with ``seed`` and yield the sampled frames; the env state matches each frame when it is yielded.

    Only the sampled frames are rendered: the other steps run with ``render_observations`` off."""
    policy = make_policy(spec.env_id, spec.policy, np.random.default_rng(policy_seed), spec.action_noise)
    base: Any = env.unwrapped
    base.render_observations = True
    obs, info = env.reset(seed=seed)
    yield EpisodeFrame(obs, info, seed, 0)
    produced, step = 1, 0
    try:
        while produced < spec.frames_per_episode:
            kept = (step + 1) % spec.stride == 0
            base.render_observations = kept  # only kept frames are rendered (the policies read the state)
            obs, _, terminated, truncated, info = env.step(policy(env))
            step += 1
            if kept:
                yield EpisodeFrame(obs, info, seed, step)
                produced += 1
            if terminated or truncated:
                return
    finally:
        base.render_observations = True


def episodes(
    env: gym.Env, spec: RolloutSpec, seed_sequence: np.random.SeedSequence
) -> Iterator[Iterator[EpisodeFrame]]:
    """Endless episodes, each the :func:`episode_frames` of episode ``k`` seeded by ``episode_seed(seed_sequence, k)``
    (an episode resets the env when its first frame is asked for)."""
    for episode in itertools.count():
        reset_seed, policy_seed = episode_seed(seed_sequence, episode)
        yield episode_frames(env, spec, reset_seed, policy_seed)


def stream_frames(env: gym.Env, spec: RolloutSpec, seed_sequence: np.random.SeedSequence) -> Iterator[EpisodeFrame]:
    """Endless sampled frames of consecutive :func:`episodes`."""
    return itertools.chain.from_iterable(episodes(env, spec, seed_sequence))


LABEL_BATCH = 10  # frames of an episode captured before their labels are computed one after the other


def labelled_frames(
    env: gym.Env, spec: RolloutSpec, seed_sequence: np.random.SeedSequence, n: int | None = None
) -> Iterator[Frame]:
    """:func:`stream_frames` with full labels (depth, segmentation, poses, boxes, provenance), ``n`` frames (endless
    when None).

    Each frame is rendered and its poses copied when the rollout reaches it (:func:`capture_frame`); the labels of
    up to :data:`LABEL_BATCH` frames of an episode are then computed in a row, before the next reset changes the
    model: the same frames, at ~30% less CPU for the labels and their encoding than between physics steps and
    renders (cold caches). So the env may be a few steps past a frame when it is yielded. With a randomization that
    resamples within an episode, each frame is labelled at once."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise ValueError(f"n must be None (endless) or an int >= 0, got {n!r}")
    camera = camera_name(env)
    try:
        per_episode = env.get_wrapper_attr("resample") == "episode"
    except AttributeError:  # no randomization wrapper: the model never changes
        per_episode = True
    batch = LABEL_BATCH if per_episode else 1
    left = n
    for episode in episodes(env, spec, seed_sequence) if left != 0 else ():
        captured: list[FrameCapture] = []
        for sample in episode:
            rgb, info, seed, step = sample.rgb, sample.info, sample.seed, sample.step
            captured.append(capture_frame(env, camera, spec.image_size, rgb, info, seed, step, keep=batch > 1))
            left = None if left is None else left - 1
            if len(captured) == batch or left == 0:
                yield from (label_frame(env, camera, capture) for capture in captured)
                captured = []
                if left == 0:
                    return
        yield from (label_frame(env, camera, capture) for capture in captured)  # the episode ended
