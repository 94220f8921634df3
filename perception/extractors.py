"""SB3 features extractor for pixel policies: spatial-softmax keypoints per camera plus proprioception.

A Reach goal is a 2 cm sphere (2-4 pixels at 64x64): NatureCNN's 8x8 stride-4 first layer blurs it away, and PPO
did not learn pixel Reach with it in 140k steps. Keypoints (Levine et al. 2016) keep each feature channel's
expected image position, which is what a reaching policy needs, from few parameters and little compute.
Use it with ``policy: MultiInputPolicy`` (Dict observations: one image per camera and ``state``) or ``CnnPolicy``.
"""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from simreal.perception.detector import PointDetector, decode_heatmap
from simreal.perception.localization import SpatialSoftArgmax, keypoint_convs
from simreal.perception.triangulation import triangulate

__all__ = ["KeypointExtractor", "TriangulatingExtractor", "channels_first"]


def channels_first(images: np.ndarray) -> torch.Tensor:
    """Env images ``(N, H, W, C)`` uint8 -> ``(N, C, H, W)`` float in ``[0, 1]`` (SB3's layout and scale)."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)


class _KeypointTrunk(nn.Module):
    """(N, C, S, S) image in [0, 1] -> (N, 2K) keypoint coordinates in [-1, 1] (feature map S/4 x S/4)."""

    def __init__(self, channels_in: int, size: int, channels: int, keypoints: int) -> None:
        super().__init__()
        self.convs = keypoint_convs(channels_in, channels, keypoints, full_resolution_layers=0)
        self.softargmax = SpatialSoftArgmax(size // 4, size // 4)
        self.output_dim = 2 * keypoints

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.softargmax(self.convs(images))


class KeypointExtractor(BaseFeaturesExtractor):
    """One keypoint trunk per image (channel-first, as SB3 transposes them) and the flattened non-image entries.

    With ``targets = 0`` the features are the keypoints (``cameras * 2 * keypoints``) plus the state entries.
    With ``targets = T`` a linear head maps the keypoints to ``T`` standardised object coordinates (trained by
    :func:`~simreal.perception.pretraining.pretrain_encoder`; :meth:`estimate` gives metres), and the
    features are those plus the state: the policy sees an estimated goal where a state policy sees the true one.
    """

    def __init__(self, observation_space: gym.Space, channels: int = 16, keypoints: int = 16, targets: int = 0) -> None:
        spaces = observation_space.spaces if isinstance(observation_space, gym.spaces.Dict) else {"": observation_space}
        image_keys = [k for k, s in spaces.items() if is_image_space(s, check_channels=False)]
        if not image_keys:
            raise ValueError("KeypointExtractor: the observation space has no image (uint8 C x H x W Box)")
        other_keys = [k for k in spaces if k not in image_keys]
        sizes = {k: int(torch.Size(spaces[k].shape).numel()) for k in other_keys}
        if targets < 0:
            raise ValueError(f"KeypointExtractor: targets must be >= 0, got {targets}")
        width = len(image_keys) * 2 * keypoints
        super().__init__(observation_space, (targets or width) + sum(sizes.values()))
        self.image_keys, self._other_keys = tuple(image_keys), other_keys
        self.head = nn.Linear(width, targets) if targets else None
        self.register_buffer("target_mean", torch.zeros(targets))
        self.register_buffer("target_scale", torch.ones(targets))
        self.trunks = nn.ModuleDict()
        for key in image_keys:
            c, h, w = spaces[key].shape
            if h != w or h % 4:
                raise ValueError(f"KeypointExtractor: images must be square with a side divisible by 4, got {h}x{w}")
            self.trunks[key or "image"] = _KeypointTrunk(c, h, channels, keypoints)

    def keypoints(self, images: dict[str, torch.Tensor]) -> torch.Tensor:
        """Keypoints of every camera, concatenated: ``{key: (N, C, S, S) in [0, 1]}`` -> ``(N, cameras * 2K)``."""
        return torch.cat([self.trunks[k or "image"](images[k]) for k in self.image_keys], dim=1)

    def estimate(self, images: dict[str, torch.Tensor]) -> torch.Tensor:
        """Object coordinates (metres) from the head; needs ``targets > 0``."""
        if self.head is None:
            raise ValueError("KeypointExtractor: built with targets=0, it has no coordinate head")
        return self.head(self.keypoints(images)) * self.target_scale + self.target_mean

    def forward(self, observations: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        obs = observations if isinstance(observations, dict) else {"": observations}
        keypoints = self.keypoints(obs)
        visual = keypoints if self.head is None else self.head(keypoints)  # standardised coordinates
        return torch.cat([visual, *(obs[k].flatten(1) for k in self._other_keys)], dim=1)


class TriangulatingExtractor(BaseFeaturesExtractor):
    """The goal triangulated from calibrated cameras, plus the state: a pixel policy's modular perception.

    One :class:`~simreal.perception.detector.PointDetector` per camera finds the object's pixel (pre-trained on
    labelled frames by :func:`~simreal.perception.pretraining.pretrain_detectors`, then frozen); the cameras'
    ``<key>_projection`` matrices (``camera_projections=True``: the calibration a real camera comes with)
    triangulate the pixels into a world position in metres (linear least squares, Hartley & Zisserman 12.2). A
    camera mounted off its nominal pose moves the pixels and the matrices together, so the estimate does not
    move. Features: the position estimate in units of ``position_unit`` metres (0.1: workspace coordinates of order
    1, like the normalised state beside them; raw metres left PPO at 10% success after 20-40k steps) and the state
    entries.
    """

    def __init__(
        self, observation_space: gym.Space, channels: int = 32, layers: int = 3, position_unit: float = 0.1
    ) -> None:
        if not isinstance(observation_space, gym.spaces.Dict):
            raise ValueError("TriangulatingExtractor: needs Dict observations (obs_mode='pixels_state')")
        spaces = observation_space.spaces
        image_keys = [k for k, s in spaces.items() if is_image_space(s, check_channels=False)]
        missing = [f"{k}_projection" for k in image_keys if f"{k}_projection" not in spaces]
        if len(image_keys) < 2 or missing:
            raise ValueError(
                "TriangulatingExtractor: needs >= 2 cameras and their projections (camera_projections=True); "
                f"got cameras {image_keys}, missing {missing}"
            )
        other_keys = [k for k in spaces if k not in image_keys and not k.endswith("_projection")]
        super().__init__(observation_space, 3 + sum(int(torch.Size(spaces[k].shape).numel()) for k in other_keys))
        if not position_unit > 0:
            raise ValueError(f"TriangulatingExtractor: position_unit must be > 0 metres, got {position_unit}")
        self.image_keys, self._other_keys, self.position_unit = tuple(image_keys), other_keys, position_unit
        size = spaces[image_keys[0]].shape[1]  # square images: index 1 is a side in both HWC and CHW
        self.detectors = nn.ModuleDict({k: PointDetector(size, channels, layers) for k in image_keys})

    @torch.no_grad()
    def pixels(self, images: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Detected pixel ``(N, 2)`` per camera from ``{key: (N, 3, S, S) in [0, 1]}`` (SB3's image layout)."""
        return {k: decode_heatmap(self.detectors[k](images[k] * 2.0 - 1.0)) for k in self.image_keys}

    def estimate(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """World position ``(N, 3)`` of the detected object."""
        pixels = self.pixels(observations)
        return triangulate(
            torch.stack([pixels[k] for k in self.image_keys], dim=1),
            torch.stack([observations[f"{k}_projection"] for k in self.image_keys], dim=1),
        )

    @torch.no_grad()
    def estimate_frames(self, observations: Mapping[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
        """World positions ``(N, 3)`` float32 from raw env observations (uint8 HWC images and their projections),
        ``batch_size`` frames at a time."""
        n = len(observations[self.image_keys[0]])
        chunks = []
        for start in range(0, n, batch_size):
            batch = {}
            for key in self.image_keys:
                batch[key] = channels_first(observations[key][start : start + batch_size])
                projections = np.asarray(observations[f"{key}_projection"][start : start + batch_size], np.float32)
                batch[f"{key}_projection"] = torch.from_numpy(projections)
            chunks.append(self.estimate(batch))
        return torch.cat(chunks).numpy().astype(np.float32)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        others = [observations[k].flatten(1) for k in self._other_keys]
        return torch.cat([self.estimate(observations) / self.position_unit, *others], dim=1)
