"""The localization task of Tobin et al. (2017): regress the Push block's table (x, y) from one image.

``LocalizationCNN`` takes ``[-1, 1]`` NCHW float images (the convention of :mod:`simreal.transfer`, which uses it as a
frozen task network) and returns ``(N, 2)`` positions in metres. Convolutions keep a 16x16 feature map and a
spatial soft-argmax turns each channel into an expected image position (Levine et al. 2016), which a small MLP maps
to the table plane: sub-pixel precision from few parameters.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from simreal.perception.images import augment_images, images_to_tensor
from simreal.perception.training import FitSettings, run_epochs

__all__ = [
    "LocalizationCNN",
    "keypoint_convs",
    "localization_errors_cm",
    "predict_positions",
    "train_localization",
]

GROSS_ERROR_CM = 5.0  # a localization error above this is a gross failure (another object, or none, was found)


class SpatialSoftArgmax(nn.Module):
    """``(N, C, H, W)`` feature maps -> ``(N, 2C)`` expected ``(x, y)`` in ``[-1, 1]`` of each channel's softmax."""

    grid: torch.Tensor

    def __init__(self, height: int, width: int, temperature: float = 10.0) -> None:
        super().__init__()
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature)))  # learnable sharpness
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        self.register_buffer("grid", torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        n, c, h, w = features.shape
        if h * w != self.grid.shape[0]:
            raise ValueError(f"images: the model was built for another image size (feature map {h}x{w})")
        weights = torch.softmax(features.reshape(n, c, h * w) * self.log_temperature.exp(), dim=-1)
        return (weights @ self.grid).reshape(n, 2 * c)


def keypoint_convs(channels_in: int, channels: int, keypoints: int, full_resolution_layers: int) -> nn.Sequential:
    """Keypoint feature maps at 1/4 of the input size: a 5x5 and a 3x3 stride-2 convolution, then
    ``full_resolution_layers`` 3x3 ones (each with GroupNorm + ReLU), then a 3x3 convolution to ``keypoints`` maps."""
    layers: list[nn.Module] = []
    for i, (kernel, stride) in enumerate([(5, 2), (3, 2)] + [(3, 1)] * full_resolution_layers):
        layers.append(nn.Conv2d(channels_in if i == 0 else channels, channels, kernel, stride, kernel // 2))
        layers += [nn.GroupNorm(4, channels), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(channels, keypoints, 3, padding=1))
    return nn.Sequential(*layers)


class LocalizationCNN(nn.Module):
    """Block position regressor: image ``[-1, 1]`` (N, 3, S, S) -> table ``(x, y)`` in metres (N, 2)."""

    target_mean: torch.Tensor
    target_scale: torch.Tensor

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 32,
        keypoints: int = 32,
        target_mean: tuple[float, float] = (0.0, 0.0),
        target_scale: tuple[float, float] = (1.0, 1.0),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if image_size < 16 or image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 and >= 16, got {image_size}")
        self.config = {"image_size": image_size, "channels": channels, "keypoints": keypoints}
        self.features = keypoint_convs(3, channels, keypoints, full_resolution_layers=1)
        self.softargmax = SpatialSoftArgmax(image_size // 4, image_size // 4)
        self.head = nn.Sequential(nn.Linear(2 * keypoints, 128), nn.ReLU(inplace=True), nn.Linear(128, 2))
        self.register_buffer("target_mean", torch.tensor(target_mean, dtype=torch.float32))
        self.register_buffer("target_scale", torch.tensor(target_scale, dtype=torch.float32))
        self._init(generator if generator is not None else torch.Generator().manual_seed(0))

    def _init(self, generator: torch.Generator) -> None:
        for layer in self.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)) and layer.bias is not None:
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                nn.init.zeros_(layer.bias)

    def normalized(self, images: torch.Tensor) -> torch.Tensor:
        """Prediction in normalised target units (what training regresses)."""
        return self.head(self.softargmax(self.features(images)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.normalized(images) * self.target_scale + self.target_mean


def train_localization(images: np.ndarray, targets: np.ndarray, fit: FitSettings) -> LocalizationCNN:
    """Fit a :class:`LocalizationCNN` to uint8 ``images`` (N, S, S, 3) and ``targets`` (N, 2) metres (Adam, cosine
    learning-rate decay, smooth-L1 on standardised targets, :func:`augment_images` when ``fit.augment``)."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (N, S, S, 3), got {images.dtype} {images.shape}")
    if targets.shape != (len(images), 2):
        raise ValueError(f"targets must have shape {(len(images), 2)}, got {targets.shape}")
    generator = torch.Generator().manual_seed(fit.seed)
    mean, scale = targets.mean(axis=0), targets.std(axis=0) + 1e-6
    model = LocalizationCNN(images.shape[1], target_mean=tuple(mean), target_scale=tuple(scale), generator=generator)
    inputs = images_to_tensor(images, channels_last=True)
    normalized = torch.from_numpy(((targets - mean) / scale).astype(np.float32))
    steps_per_epoch = math.ceil(len(images) / fit.batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=fit.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=fit.epochs * steps_per_epoch)

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        batch_images = augment_images(inputs[batch], generator) if fit.augment else inputs[batch]
        return nn.functional.smooth_l1_loss(model.normalized(batch_images), normalized[batch], beta=0.1)

    run_epochs(model, batch_loss, len(images), fit.epochs, fit.batch_size, schedule, generator, fit.on_epoch)
    return model


@torch.no_grad()
def predict_positions(model: LocalizationCNN, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Predicted table ``(x, y)`` (metres, float64) for uint8 images ``(N, S, S, 3)``."""
    model.eval()
    chunks = (images[i : i + batch_size] for i in range(0, len(images), batch_size))
    outputs = [model(images_to_tensor(chunk, channels_last=True)) for chunk in chunks]
    return torch.cat(outputs).double().numpy()


def localization_errors_cm(
    predictions: np.ndarray, targets: np.ndarray, found: np.ndarray | None = None
) -> dict[str, float]:
    """Median, 90th percentile and mean Euclidean error in centimetres over all frames, and ``tail_5cm``: the
    fraction of frames more than ``GROSS_ERROR_CM`` off (gross failures). With ``found`` (bool (N,), a detector's
    "found" verdict), also ``not_found`` (the fraction it gave up on) and ``p90_cm_found`` / ``tail_5cm_found``
    over the frames it kept (0 when it kept none)."""
    errors = 100.0 * np.linalg.norm(np.asarray(predictions) - np.asarray(targets), axis=1)
    out = {
        "median_cm": float(np.median(errors)),
        "p90_cm": float(np.percentile(errors, 90)),
        "mean_cm": float(errors.mean()),
        "tail_5cm": float(np.mean(errors > GROSS_ERROR_CM)),
    }
    if found is not None:
        found = np.asarray(found, dtype=bool)
        if found.shape != errors.shape:
            raise ValueError(f"found must have shape {errors.shape}, got {found.shape}")
        kept = errors[found]
        out["not_found"] = float(1.0 - found.mean())
        out["p90_cm_found"] = float(np.percentile(kept, 90)) if len(kept) else 0.0
        out["tail_5cm_found"] = float(np.mean(kept > GROSS_ERROR_CM)) if len(kept) else 0.0
    return out
