"""History buffer of generated images for discriminator updates (Shrivastava et al. 2017, CycleGAN sec. 4)."""

from __future__ import annotations

import torch

__all__ = ["ImagePool"]


class ImagePool:
    """Keeps up to ``size`` generated images; :meth:`query` returns a mix of new and older fakes.

    For each incoming image: while the pool is not full it is stored and returned; afterwards, with
    probability 1/2 a random stored image is returned (and replaced by the new one), otherwise the new image
    is returned. ``size=0`` disables the pool. All randomness comes from ``generator``.
    """

    def __init__(self, size: int, generator: torch.Generator) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be an int >= 0, got {size!r}")
        self.size = size
        self.generator = generator
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape as ``images`` (detached)."""
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
                continue
            coin = torch.rand((), generator=self.generator).item()
            if coin < 0.5:
                index = int(torch.randint(len(self.images), (), generator=self.generator).item())
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Stored images as one CPU tensor (empty tensor when the pool is empty)."""
        stacked = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"images": stacked}

    def load_state_dict(self, state: dict[str, torch.Tensor], device: torch.device | str = "cpu") -> None:
        """Restore stored images (the generator's state is restored separately)."""
        images = state["images"]
        if images.numel() and len(images) > self.size:
            raise ValueError(f"pool state holds {len(images)} images, more than size {self.size}")
        self.images = [image.to(device) for image in images] if images.numel() else []
