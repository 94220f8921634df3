"""CycleGAN observation wrappers on a stub image env: check_env, Dict observations, vector envs, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from simreal.perception.images import images_to_tensor, tensor_to_images
from simreal.transfer.checkpoint import load_generator, save_checkpoint
from simreal.transfer.config import CycleGANConfig
from simreal.transfer.trainer import CycleGANTrainer
from simreal.transfer.wrapper import CycleGANObservation, CycleGANVectorObservation, ImageTranslator

SIZE = 32
# check_env is run on the wrapper on purpose (the wrapped env is what an agent sees).
pytestmark = pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread keeps the tests fast when other processes share the 2 cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class StubImageEnv(gym.Env):
    """Emits seeded random uint8 images; ``mode`` picks a Box, a flat Dict or a nested Dict observation."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self, mode: str = "box", size: int = SIZE) -> None:
        image = spaces.Box(0, 255, (size, size, 3), dtype=np.uint8)
        state = spaces.Box(-1.0, 1.0, (4,), dtype=np.float32)
        self.mode, self.size = mode, size
        if mode == "box":
            self.observation_space = image
        elif mode == "dict":
            self.observation_space = spaces.Dict({"pixels": image, "state": state})
        else:
            self.observation_space = spaces.Dict(
                {"observation": spaces.Dict({"front": image, "side": image, "state": state}), "goal": state}
            )
        self.action_space = spaces.Discrete(2)

    def _obs(self) -> Any:
        image = lambda: self.np_random.integers(0, 256, (self.size, self.size, 3), dtype=np.uint8)  # noqa: E731
        state = lambda: self.np_random.uniform(-1, 1, 4).astype(np.float32)  # noqa: E731
        if self.mode == "box":
            return image()
        if self.mode == "dict":
            return {"pixels": image(), "state": state()}
        return {"observation": {"front": image(), "side": image(), "state": state()}, "goal": state()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict]:
        return self._obs(), float(action), False, False, {}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trainer = CycleGANTrainer(CycleGANConfig.preset("fast", image_size=SIZE), seed=0)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "checkpoint.pt", trainer.state_dict())


def _expected(checkpoint: Path, images: np.ndarray, direction: str = "real2sim") -> np.ndarray:
    gen = load_generator(checkpoint, direction)
    with torch.inference_mode():
        return tensor_to_images(gen(images_to_tensor(images)))


def test_box_wrapper_passes_check_env_and_translates(checkpoint: Path) -> None:
    env = CycleGANObservation(StubImageEnv("box"), checkpoint, direction="real2sim")
    check_env(env, skip_render_check=True)
    raw, _ = StubImageEnv("box").reset(seed=3)
    obs, _ = env.reset(seed=3)
    assert obs.shape == raw.shape
    assert obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    np.testing.assert_array_equal(obs, _expected(checkpoint, raw[None])[0])
    assert not np.array_equal(obs, raw)
    obs, *_ = env.step(0)
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("mode", ["dict", "nested"])
def test_dict_wrapper_translates_only_images(checkpoint: Path, mode: str) -> None:
    env = CycleGANObservation(StubImageEnv(mode), checkpoint, direction="sim2real")
    check_env(env, skip_render_check=True)
    raw, _ = StubImageEnv(mode).reset(seed=5)
    obs, _ = env.reset(seed=5)
    assert env.observation_space.contains(obs)
    if mode == "dict":
        np.testing.assert_array_equal(obs["state"], raw["state"])
        np.testing.assert_array_equal(obs["pixels"], _expected(checkpoint, raw["pixels"][None], "sim2real")[0])
    else:
        np.testing.assert_array_equal(obs["goal"], raw["goal"])
        np.testing.assert_array_equal(obs["observation"]["state"], raw["observation"]["state"])
        both = np.stack([raw["observation"]["front"], raw["observation"]["side"]])
        expected = _expected(checkpoint, both, "sim2real")
        np.testing.assert_array_equal(obs["observation"]["front"], expected[0])
        np.testing.assert_array_equal(obs["observation"]["side"], expected[1])


def test_translate_batch_matches_single_images(checkpoint: Path) -> None:
    translator = ImageTranslator(checkpoint)
    images = np.random.default_rng(0).integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    batch = translator.translate_batch(images)
    assert batch.shape == images.shape
    assert batch.dtype == np.uint8
    np.testing.assert_array_equal(translator(images[1]), batch[1])
    wrapper = CycleGANObservation(StubImageEnv("box"), translator.generator)
    np.testing.assert_array_equal(wrapper.translate_batch(images), batch)


@pytest.mark.parametrize("mode", ["box", "dict"])
def test_vector_wrapper_translates_all_sub_envs(checkpoint: Path, mode: str) -> None:
    vec = gym.vector.SyncVectorEnv([lambda: StubImageEnv(mode) for _ in range(3)])
    raw_vec = gym.vector.SyncVectorEnv([lambda: StubImageEnv(mode) for _ in range(3)])
    env = CycleGANVectorObservation(vec, checkpoint)
    obs, _ = env.reset(seed=11)
    raw, _ = raw_vec.reset(seed=11)
    images = raw if mode == "box" else raw["pixels"]
    translated = obs if mode == "box" else obs["pixels"]
    assert translated.shape == (3, SIZE, SIZE, 3)
    np.testing.assert_array_equal(translated, _expected(checkpoint, images))
    if mode == "dict":
        np.testing.assert_array_equal(obs["state"], raw["state"])
    obs, *_ = env.step(np.zeros(3, dtype=np.int64))
    assert env.observation_space.contains(obs)
    env.close()
    raw_vec.close()


class _StateEnv(StubImageEnv):
    def __init__(self, space: gym.Space) -> None:
        super().__init__("box")
        self.observation_space = space


@pytest.mark.parametrize(
    ("space", "error", "match"),
    [
        (spaces.Discrete(3), TypeError, "Box or Dict"),
        (spaces.Box(0, 1, (SIZE, SIZE, 3), dtype=np.float32), ValueError, "uint8"),
        (spaces.Box(0, 255, (SIZE, SIZE), dtype=np.uint8), ValueError, r"\(H, W, 3\)"),
        (spaces.Dict({"state": spaces.Box(-1, 1, (3,))}), ValueError, "no uint8"),
        (spaces.Box(0, 255, (30, 30, 3), dtype=np.uint8), ValueError, r"divisible by 4"),
    ],
)
def test_invalid_spaces_raise_in_init(checkpoint: Path, space: gym.Space, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        CycleGANObservation(_StateEnv(space), checkpoint)


def test_bad_direction_and_checkpoint_raise(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="direction"):
        CycleGANObservation(StubImageEnv("box"), checkpoint, direction="both")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 16)
    with pytest.raises(ValueError, match=r"bad\.pt"):
        CycleGANObservation(StubImageEnv("box"), bad)
