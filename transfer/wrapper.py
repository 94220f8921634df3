"""Gymnasium wrappers that translate image observations with a trained CycleGAN generator.

Typical deployment (RCAN-style): train the policy on canonical simulation, then wrap the *real* env in
``CycleGANObservation(env, ckpt, direction="real2sim")`` so the policy sees sim-like images. The wrappers
translate every ``uint8`` ``(H, W, 3)`` Box of the observation (a plain Box, or image entries of a possibly
nested Dict); other entries pass through unchanged and the observation space is unchanged.

For vector envs use :class:`CycleGANVectorObservation` (one batched forward per step for all sub-envs), or
call :meth:`ImageTranslator.translate_batch` yourself.

CPU threads: when other processes compete for the cores (``SubprocVecEnv`` workers, a learner process), call
``torch.set_num_threads(1)`` in the process that translates; with 2 OpenMP threads on 2 busy cores each
forward pass can stall for seconds at thread barriers.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import VectorEnv, VectorObservationWrapper

from simreal.perception.images import images_to_tensor, tensor_to_images
from simreal.transfer.checkpoint import load_generator
from simreal.transfer.guard import GuardReport, GuardWarning, Mode, content_survival, enforce, sample_env
from simreal.transfer.networks import ResnetGenerator

__all__ = ["CycleGANObservation", "CycleGANVectorObservation", "ImageTranslator", "image_paths"]

KeyPath = tuple[str, ...]


class ImageTranslator:
    """A generator in eval mode on ``device`` with a batched ``uint8 -> uint8`` translation.

    ``checkpoint`` is a trainer checkpoint (the ``direction`` generator is loaded) or a :class:`ResnetGenerator`
    (used as is, moved to ``device``; ``direction`` is then only a label).
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike[str] | ResnetGenerator,
        direction: str = "real2sim",
        device: torch.device | str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        if isinstance(checkpoint, ResnetGenerator):
            self.generator = checkpoint.to(self.device).eval().requires_grad_(False)
        else:
            self.generator = load_generator(checkpoint, direction=direction, device=self.device)
        self.direction = direction
        self.divisor = 2**self.generator.config.n_downsample

    def translate_batch(self, images: np.ndarray) -> np.ndarray:
        """Translate ``uint8`` images ``(N, H, W, 3)`` (or one ``(H, W, 3)``); same shape and dtype out."""
        single = images.ndim == 3
        x = images_to_tensor(images, self.device, channels_last=self.generator.config.channels_last)
        with torch.inference_mode():
            out = tensor_to_images(self.generator(x))
        return out[0] if single else out

    __call__ = translate_batch


def _is_image_box(space: gym.Space[Any]) -> bool:
    return isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3 and space.shape[-1] == 3


def image_paths(space: gym.Space[Any]) -> list[KeyPath]:
    """Key paths of the image entries of ``space`` (``[()]`` for an image Box itself).

    Raises TypeError for spaces other than Box/Dict and ValueError when no ``uint8 (H, W, 3)`` image exists.
    """
    if isinstance(space, spaces.Box):
        if not _is_image_box(space):
            raise ValueError(
                f"observation Box must be uint8 with shape (H, W, 3), got dtype {space.dtype} shape {space.shape}"
            )
        return [()]
    if not isinstance(space, spaces.Dict):
        raise TypeError(f"observation space must be a Box or Dict, got {type(space).__name__}")
    found: list[KeyPath] = []

    def walk(sub: spaces.Dict, prefix: KeyPath) -> None:
        for key, child in sub.spaces.items():
            if isinstance(child, spaces.Dict):
                walk(child, (*prefix, key))
            elif _is_image_box(child):
                found.append((*prefix, key))

    walk(space, ())
    if not found:
        raise ValueError("observation Dict has no uint8 (H, W, 3) image entry to translate")
    return found


def _check_sizes(space: gym.Space[Any], paths: list[KeyPath], divisor: int) -> None:
    for path in paths:
        box: Any = space
        for key in path:
            box = box[key]
        height, width = box.shape[:2]
        if height % divisor or width % divisor:
            name = "/".join(path) or "observation"
            raise ValueError(f"{name} size {height}x{width} must be divisible by {divisor} for this generator")


def _get(obs: Any, path: KeyPath) -> Any:
    for key in path:
        obs = obs[key]
    return obs


def _with_replaced(obs: Any, path: KeyPath, value: np.ndarray) -> Any:
    if not path:
        return value
    out = dict(obs)
    out[path[0]] = _with_replaced(obs[path[0]], path[1:], value)
    return out


def _translate(obs: Any, paths: list[KeyPath], translator: ImageTranslator, batched: bool) -> Any:
    """Translate all image entries, stacking entries of equal shape into one forward pass."""
    groups: dict[tuple[int, ...], list[KeyPath]] = {}
    for path in paths:
        groups.setdefault(np.shape(_get(obs, path)), []).append(path)
    for group in groups.values():
        images = [np.asarray(_get(obs, p)) for p in group]
        stacked = np.concatenate(images) if batched else np.stack(images)
        chunks = np.split(translator.translate_batch(stacked), len(group))
        for path, chunk in zip(group, chunks, strict=True):
            obs = _with_replaced(obs, path, chunk if batched else chunk[0])
    return obs


def _run_guard(
    env: gym.Env[Any, Any], translator: ImageTranslator, mode: Mode, frames: int, domain: str
) -> GuardReport | None:
    if frames < 4:
        raise ValueError(f"guard_frames must be >= 4, got {frames}")
    try:
        images, masks = sample_env(env, frames, seed=0)
    except ValueError as error:
        warnings.warn(f"translator guard on {domain!r}: cannot check ({error})", GuardWarning, stacklevel=3)
        return None
    report = content_survival(images, translator.translate_batch(images), masks, domain=domain)
    return enforce(report, mode)


class CycleGANObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Translate every ``uint8`` ``(H, W, 3)`` image of a single env's observation with a CycleGAN generator.

    ``checkpoint`` is a trainer checkpoint path (or an already loaded :class:`ResnetGenerator`); ``direction``
    is ``"real2sim"`` (deploy a sim-trained policy on real images) or ``"sim2real"``; ``device`` may be a GPU.

    ``guard`` (``"warn"`` or ``"refuse"``; None: off) first checks on ``guard_frames`` seeded resets of ``env``
    that the task object survives translation (:mod:`simreal.transfer.guard`, object masks from the simulator)
    and warns, or raises :class:`~simreal.transfer.guard.TranslationRefused`, when it does not; the report is
    ``guard_report``. ``domain`` names the env's domain in the messages.

    ``env.spec`` records the arguments (a checkpoint path as a string), so a spec with this wrapper round-trips
    through JSON when the checkpoint is given as a path.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        checkpoint: str | os.PathLike[str] | ResnetGenerator,
        direction: str = "real2sim",
        device: torch.device | str = "cpu",
        guard: Mode | None = None,
        guard_frames: int = 32,
        domain: str = "this env",
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            checkpoint=os.fspath(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else checkpoint,
            direction=direction,
            device=str(device),
            guard=guard,
            guard_frames=guard_frames,
            domain=domain,
        )
        gym.ObservationWrapper.__init__(self, env)
        self._paths = image_paths(env.observation_space)
        self.translator = ImageTranslator(checkpoint, direction=direction, device=device)
        _check_sizes(env.observation_space, self._paths, self.translator.divisor)
        self.guard_report: GuardReport | None = None
        if guard is not None:
            self.guard_report = _run_guard(env, self.translator, guard, guard_frames, domain)

    def observation(self, observation: Any) -> Any:
        """Return the observation with its image entries translated."""
        return _translate(observation, self._paths, self.translator, batched=False)

    def translate_batch(self, images: np.ndarray) -> np.ndarray:
        """Translate ``uint8`` images ``(N, H, W, 3)`` with this wrapper's generator."""
        return self.translator.translate_batch(images)


class CycleGANVectorObservation(VectorObservationWrapper):
    """Vector-env version of :class:`CycleGANObservation`: one batched forward for all sub-envs per step."""

    def __init__(
        self,
        env: VectorEnv[Any, Any, Any],
        checkpoint: str | os.PathLike[str] | ResnetGenerator,
        direction: str = "real2sim",
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__(env)
        self._paths = image_paths(env.single_observation_space)
        self.translator = ImageTranslator(checkpoint, direction=direction, device=device)
        _check_sizes(env.single_observation_space, self._paths, self.translator.divisor)

    def observations(self, observations: Any) -> Any:
        """Return the batched observations with their image entries translated."""
        return _translate(observations, self._paths, self.translator, batched=True)
