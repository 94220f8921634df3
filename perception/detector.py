"""Point detector for calibrated-camera pipelines: image -> the pixel of one object's centre (block, goal, ...).

An object's *world* position read from one image depends on where the camera is; its *image* position does not. A
regressor that maps images straight to world coordinates must infer the camera pose from the scene, and a camera
that is mounted a few centimetres or degrees off (or zooms differently) moves its answer by several centimetres.
Deployed pose estimators therefore predict 2D keypoints and lift them with the calibrated camera (e.g. DOPE,
Tremblay et al. 2018). ``PointDetector`` predicts a heatmap of the object centre's projected pixel (a free label in
simulation), decoded to sub-pixel precision; the camera's intrinsics and extrinsics then lift that pixel onto a
known plane (:func:`~simreal.perception.triangulation.pixels_to_plane`) or triangulate it from several cameras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from simreal.perception.images import augment_appearance, images_to_tensor, random_shift
from simreal.perception.training import FitSettings, run_epochs

__all__ = [
    "DetectorSettings",
    "PointDetector",
    "calibrate_threshold",
    "decode_heatmap",
    "detect",
    "detect_heatmaps",
    "heatmap_cells",
    "heatmap_confidence",
    "heatmap_targets",
    "paste_hard_negatives",
    "predict_pixels",
    "sensor_defects",
    "train_point_detector",
]

STRIDE = 2  # input pixels per heatmap cell
MAX_SHIFT = 3  # pixels of random translation in training (labels move with the image)
CLEAR_RADIUS = 6.0  # pixels around the object centre that pasted hard negatives never cover


class PointDetector(nn.Module):
    """Image ``[-1, 1]`` (N, 3, S, S) -> object-centre heatmap logits (N, S/2, S/2): a 5x5 stride-2 convolution,
    ``layers`` 3x3 ones (GroupNorm + ReLU) and a 3x3 convolution to one map."""

    def __init__(
        self, image_size: int = 64, channels: int = 32, layers: int = 3, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        if image_size < 16 or image_size % STRIDE:
            raise ValueError(f"image_size must be even and >= 16, got {image_size}")
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        self.config = {"image_size": image_size, "channels": channels, "layers": layers}
        modules: list[nn.Module] = []
        for i in range(layers + 1):
            kernel, stride = (5, STRIDE) if i == 0 else (3, 1)
            modules += [
                nn.Conv2d(3 if i == 0 else channels, channels, kernel, stride, kernel // 2),
                nn.GroupNorm(4, channels),
                nn.ReLU(inplace=True),
            ]
        modules.append(nn.Conv2d(channels, 1, 3, padding=1))
        self.net = nn.Sequential(*modules)
        init = generator if generator is not None else torch.Generator().manual_seed(0)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d) and layer.bias is not None:
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=init)
                nn.init.zeros_(layer.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        size = self.config["image_size"]
        if images.shape[-2:] != (size, size):
            raise ValueError(f"images: the detector was built for {size}x{size}, got {tuple(images.shape[-2:])}")
        return self.net(images)[:, 0]


def _cell_centres(cells: int) -> torch.Tensor:
    """Pixel coordinate of each heatmap cell's centre (pixel ``[r, c]`` has its centre at ``c + 0.5``)."""
    return (torch.arange(cells, dtype=torch.float32) + 0.5) * STRIDE


def heatmap_targets(pixels: torch.Tensor, cells: int, sigma: float = 1.0) -> torch.Tensor:
    """Normalised Gaussian heatmaps ``(N, cells * cells)`` (std ``sigma`` cells) around pixel coordinates (N, 2)."""
    centres = _cell_centres(cells)
    gx = torch.exp(-(((centres[None] - pixels[:, :1]) / STRIDE) ** 2) / (2 * sigma**2))
    gy = torch.exp(-(((centres[None] - pixels[:, 1:]) / STRIDE) ** 2) / (2 * sigma**2))
    maps = (gy[:, :, None] * gx[:, None, :]).reshape(len(pixels), -1)
    return maps / maps.sum(dim=1, keepdim=True)


def _restricted(logits: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    """``logits`` with the cells outside ``allowed`` (bool (N, M, M)) at -inf; a frame with no allowed cell keeps
    all of its cells. ``logits`` unchanged when ``allowed`` is None."""
    if allowed is None:
        return logits
    if allowed.shape != logits.shape or allowed.dtype != torch.bool:
        raise ValueError(f"allowed: expected a bool mask of shape {tuple(logits.shape)}, got {allowed.dtype} "
                         f"{tuple(allowed.shape)}")  # fmt: skip
    keep = allowed | ~allowed.flatten(1).any(dim=1)[:, None, None]
    return logits.masked_fill(~keep, float("-inf"))


def decode_heatmap(logits: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
    """Heatmap logits (N, M, M) -> pixel coordinates (N, 2): the most likely cell, refined to sub-pixel precision by
    the vertex of a parabola through three log-probabilities around it along each axis (exact for a Gaussian
    heatmap, as in DARK, Zhang et al. 2020), so responses elsewhere in the image do not pull the estimate.
    ``allowed`` (bool (N, M, M), optional): the cells where the object can be (a search region); the peak is the
    most likely allowed cell (refined on the unrestricted logits), any cell when a frame allows none."""
    n, cells, _ = logits.shape
    if cells < 3:
        raise ValueError(f"logits: the heatmap needs at least 3x3 cells, got {cells}x{cells}")
    peak = _restricted(logits, allowed).reshape(n, -1).argmax(dim=1)
    index = torch.arange(n)

    def refine(profile: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
        middle = at.clamp(1, cells - 2)  # at a border, fit the three cells next to it
        before, centre, after = (profile[index, middle + k] for k in (-1, 0, 1))
        curvature = 2.0 * centre - before - after
        vertex = middle + (after - before) / (2.0 * curvature.clamp_min(1e-6))
        return torch.where(curvature > 1e-6, vertex.clamp(middle - 1.5, middle + 1.5), at.to(vertex.dtype))

    rows, columns = peak // cells, peak % cells
    u = refine(logits[index, rows], columns)  # the peak's row, as a function of the column
    v = refine(logits[index, :, columns], rows)
    return (torch.stack([u, v], dim=1) + 0.5) * STRIDE


def heatmap_confidence(logits: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
    """Heatmap logits (N, M, M) -> the detector's confidence (N,) in [0, 1]: the softmax probability mass of the
    3x3 cells around the peak. A second object that draws part of the mass, or no object at all, lowers it. With
    ``allowed`` (see :func:`decode_heatmap`) the softmax and the peak are over the allowed cells only."""
    logits = _restricted(logits, allowed)
    n, cells, _ = logits.shape
    probabilities = torch.softmax(logits.reshape(n, -1), dim=1).reshape(n, 1, cells, cells)
    window = nn.functional.avg_pool2d(probabilities, 3, stride=1, padding=1, count_include_pad=True) * 9.0
    peak = logits.reshape(n, -1).argmax(dim=1)
    return window.reshape(n, -1)[torch.arange(n), peak]


def calibrate_threshold(confidences: np.ndarray, errors_px: np.ndarray, tolerance_px: float, miss_rate: float) -> float:
    """The confidence below which a detection is called "not found": the ``miss_rate`` quantile of the
    confidences of the correct detections (error <= ``tolerance_px``) on labelled validation frames, so that
    about ``miss_rate`` of the correct detections in the validation domain are given up. 0 when none is correct."""
    if not 0.0 <= miss_rate < 1.0:
        raise ValueError(f"miss_rate must be in [0, 1), got {miss_rate}")
    if confidences.shape != errors_px.shape:
        raise ValueError(
            f"confidences and errors_px must have the same shape, got {confidences.shape}, {errors_px.shape}"
        )
    correct = confidences[errors_px <= tolerance_px]
    return float(np.quantile(correct, miss_rate)) if len(correct) else 0.0


def paste_hard_negatives(
    images: torch.Tensor, pixels: torch.Tensor, generator: torch.Generator, probability: float = 0.5
) -> torch.Tensor:
    """Image-space hard negatives for a ``[-1, 1]`` NCHW batch with object centres ``pixels`` (N, 2): with
    ``probability`` per image, one or two rectangles pasted at random places. Half take the object's own colour
    (read at its centre), are elongated (one side 2-3x the other, so no copy of the object is made) and keep their
    centre more than ``CLEAR_RADIUS`` pixels from the object's; the others take a random colour, 2-12 px sides,
    and may cover part of the object but never its centre pixel (partial occlusion). Returns a new tensor."""
    out = images.clone()
    n, _, height, width = images.shape

    def draw(low: int, high: int) -> int:
        return int(torch.randint(low, high + 1, (), generator=generator))

    for i in range(n):
        if float(torch.rand((), generator=generator)) >= probability:
            continue
        u, v = (float(c) for c in pixels[i])
        own = images[i, :, min(max(int(v), 0), height - 1), min(max(int(u), 0), width - 1)]
        for _ in range(draw(1, 2)):
            same_colour = draw(0, 1) == 1
            if same_colour:
                short = draw(2, 4)
                h, w = short, min(short * draw(2, 3), 12)
                if draw(0, 1):
                    h, w = w, h
            else:
                h, w = draw(2, 12), draw(2, 12)
            top, left = draw(0, height - h), draw(0, width - w)
            if same_colour:
                clear = math.hypot(left + w / 2 - u, top + h / 2 - v) > CLEAR_RADIUS
            else:
                clear = not (left - 1 <= u <= left + w + 1 and top - 1 <= v <= top + h + 1)
            if clear:
                colour = own if same_colour else torch.rand(3, generator=generator) * 2.0 - 1.0
                out[i, :, top : top + h, left : left + w] = colour.view(3, 1, 1)
    return out


def sensor_defects(images: torch.Tensor, generator: torch.Generator, probability: float = 0.5) -> torch.Tensor:
    """Camera and lighting defects beyond the scene randomization, for a ``[-1, 1]`` NCHW batch: with
    ``probability`` per image, contrast squeezed towards the image mean (factor 0.35-1: dim, flat light), a
    brightness shift (-0.3..0.1) and dead/hot pixels (0-0.4% of pixels set to random colours). Returns a new
    tensor (not clamped)."""
    n, channels, height, width = images.shape
    chosen = (torch.rand(n, 1, 1, 1, generator=generator) < probability).to(images.dtype)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 0.35 + 0.65 * torch.rand(n, 1, 1, 1, generator=generator)
    shift = -0.3 + 0.4 * torch.rand(n, 1, 1, 1, generator=generator)
    dimmed = mean + (images - mean) * contrast + shift
    rate = 0.004 * torch.rand(n, 1, 1, 1, generator=generator)
    specks = torch.rand(n, 1, height, width, generator=generator) < rate
    colours = torch.rand(n, channels, height, width, generator=generator) * 2.0 - 1.0
    dimmed = torch.where(specks, colours, dimmed)
    return chosen * dimmed + (1.0 - chosen) * images


@dataclass(frozen=True)
class DetectorSettings:
    """A detector's size (``channels``, ``layers``) and its extra training augmentation: a random channel order
    (``shuffle_channels``; off when the object's colour is the cue) and the fractions of images that get pasted
    hard negatives (``hard_negatives``) and sensor defects (``defects``)."""

    channels: int = 32
    layers: int = 3
    shuffle_channels: bool = True
    hard_negatives: float = 0.0
    defects: float = 0.0

    def __post_init__(self) -> None:
        for name in ("hard_negatives", "defects"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


def train_point_detector(
    images: np.ndarray, pixels: np.ndarray, fit: FitSettings, settings: DetectorSettings | None = None
) -> PointDetector:
    """Fit a :class:`PointDetector` (``settings.channels``, ``settings.layers``) to uint8 ``images`` (N, S, S, 3)
    and the object centre's pixel coordinates ``pixels`` (N, 2): cross-entropy against Gaussian heatmaps, Adam with a
    one-cycle learning rate, and when ``fit.augment``: :func:`~simreal.perception.images.augment_appearance`
    (``settings.shuffle_channels``) and shifts of up to ``MAX_SHIFT`` pixels (labels move with the image), with
    :func:`paste_hard_negatives` on ``settings.hard_negatives`` of the images and :func:`sensor_defects` on
    ``settings.defects`` of them (default :class:`DetectorSettings`)."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (N, S, S, 3), got {images.dtype} {images.shape}")
    size = images.shape[1]
    if pixels.shape != (len(images), 2):
        raise ValueError(f"pixels must have shape {(len(images), 2)}, got {pixels.shape}")
    if not np.all((pixels >= 0) & (pixels <= size)):
        raise ValueError(f"pixels: every object centre must be inside the {size}x{size} image")
    settings = settings if settings is not None else DetectorSettings()
    generator = torch.Generator().manual_seed(fit.seed)
    model = PointDetector(size, settings.channels, settings.layers, generator=generator)
    inputs, labels = images_to_tensor(images, channels_last=True), torch.from_numpy(pixels.astype(np.float32))
    cells = size // STRIDE
    steps_per_epoch = math.ceil(len(images) / fit.batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=fit.learning_rate)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, fit.learning_rate, total_steps=fit.epochs * steps_per_epoch, pct_start=0.15
    )
    hard_negatives, defects = settings.hard_negatives, settings.defects

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        batch_images, batch_pixels = inputs[batch], labels[batch]
        if fit.augment:
            if hard_negatives > 0:
                batch_images = paste_hard_negatives(batch_images, batch_pixels, generator, hard_negatives)
            batch_images = augment_appearance(batch_images, generator, settings.shuffle_channels)
            if defects > 0:
                batch_images = sensor_defects(batch_images, generator, defects)
            batch_images, dx, dy = random_shift(batch_images, generator, MAX_SHIFT)
            batch_images = batch_images.clamp_(-1.0, 1.0)
            batch_pixels = batch_pixels + torch.tensor([dx, dy], dtype=torch.float32)
        logits = model(batch_images).reshape(len(batch), -1)
        return -(heatmap_targets(batch_pixels, cells) * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()

    run_epochs(model, batch_loss, len(images), fit.epochs, fit.batch_size, schedule, generator, fit.on_epoch)
    return model


def heatmap_cells(image_size: int) -> np.ndarray:
    """Pixel coordinates ``(u, v)`` of the heatmap cells' centres for ``image_size`` images: float64 (M, M, 2),
    ``[row, column]`` as in the heatmap (M = ``image_size / STRIDE``)."""
    centres = _cell_centres(image_size // STRIDE).double().numpy()
    u, v = np.meshgrid(centres, centres)
    return np.stack([u, v], axis=-1)


@torch.no_grad()
def detect_heatmaps(
    model: PointDetector, images: np.ndarray, batch_size: int = 256, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """:func:`detect`, plus each image's heatmap as log-probabilities over all of its cells (float32 (N, M, M), the
    softmax of the logits; ``allowed`` restricts the peak and the confidence, not these)."""
    model.eval()
    if allowed is not None and allowed.shape[0] != len(images):
        raise ValueError(f"allowed: expected one mask per image ({len(images)}), got {allowed.shape[0]}")
    pixels, confidences, log_probs = [], [], []
    for i in range(0, len(images), batch_size):
        logits = model(images_to_tensor(images[i : i + batch_size], channels_last=True))
        mask = None if allowed is None else torch.from_numpy(np.ascontiguousarray(allowed[i : i + batch_size]))
        pixels.append(decode_heatmap(logits, mask))
        confidences.append(heatmap_confidence(logits, mask))
        log_probs.append(torch.log_softmax(logits.flatten(1), dim=1).view_as(logits))
    return torch.cat(pixels).double().numpy(), torch.cat(confidences).double().numpy(), torch.cat(log_probs)


def detect(
    model: PointDetector, images: np.ndarray, batch_size: int = 256, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Object-centre pixel coordinates (float64 (N, 2), ``(u, v)`` = (column, row)) and the detector's
    confidence (float64 (N,), :func:`heatmap_confidence`) for uint8 images (N, S, S, 3); ``allowed`` (bool
    (N, M, M), optional): each frame's search region over the heatmap cells (see :func:`decode_heatmap`,
    :func:`heatmap_cells`)."""
    pixels, confidence, _ = detect_heatmaps(model, images, batch_size, allowed)
    return pixels, confidence


def predict_pixels(model: PointDetector, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Object-centre pixel coordinates (float64 (N, 2), ``(u, v)`` = (column, row)) for uint8 images (N, S, S, 3)."""
    return detect(model, images, batch_size)[0]
