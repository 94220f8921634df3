"""Factor ``visual.image_textures``: model textures replaced by images drawn from a folder."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import imageio.v3 as iio

from simreal.randomization.draws import Draws
from simreal.randomization.factors.base import Compiler, Factor, Out, Step, Texture, Units
from simreal.randomization.params import TextureOp
from simreal.randomization.spec_errors import SpecError, check_names

MAX_IMAGE_PIXELS = 50_000_000  # decoding a bigger image for a texture would take seconds and gigabytes


@dataclass(frozen=True)
class ImageTextureEntry:
    """Textures matching ``names`` replaced by an image drawn from ``folder`` (resized to fit)."""

    names: tuple[str, ...]
    folder: str
    extensions: tuple[str, ...] = (".png", ".jpg", ".jpeg")

    def __post_init__(self) -> None:
        check_names(self.names)
        if not self.folder:
            raise ValueError("folder: must be a directory path")
        check_names(self.extensions, "extensions")


@dataclass(frozen=True)
class ImageTextureStep:
    texs: tuple[Texture, ...]
    files: tuple[str, ...]

    def __call__(self, d: Draws, out: Out) -> None:
        idx = d.rng.integers(len(self.files), size=len(self.texs))
        for k, tex in enumerate(self.texs):
            img = self.files[int(idx[k])]
            out.textures.append(TextureOp(tex.tex_id, tex.name, "image", (1.0, 1.0, 1.0), (1.0, 1.0, 1.0), 1.0, 0, img))


def compile_image_texture(entry: ImageTextureEntry, path: str, c: Compiler) -> tuple[Step, ...]:
    texs = c.textures(entry.names, path)
    try:
        folder = Path(entry.folder).expanduser()
    except RuntimeError as err:  # "~user" without such a user
        raise SpecError(f"{path}.folder: {entry.folder!r}: {err}") from None
    exts = tuple(e.lower() for e in entry.extensions)
    files = sorted(str(p) for p in folder.glob("*") if p.suffix.lower() in exts) if folder.is_dir() else []
    if not files:
        raise SpecError(f"{path}.folder: no {list(exts)} images in {str(folder)!r}")
    for f in files:  # unreadable images fail here, naming the file, not at some later reset
        problem = _image_problem(f, *_stamp(f))
        if problem:
            raise SpecError(f"{path}.folder: {f}: not a readable image ({problem})")
    return (ImageTextureStep(texs, tuple(files)),)


def _stamp(path: str) -> tuple[int, int]:
    st = Path(path).stat()
    return st.st_mtime_ns, st.st_size


@lru_cache(maxsize=4096)
def _image_problem(path: str, mtime_ns: int, size: int) -> str:
    """'' when imageio can read the header of ``path`` (cached per file version), else the reason."""
    try:
        props = iio.improps(path)
    except Exception as err:  # any decoder failure means the same thing here
        return str(err).splitlines()[0]
    if len(props.shape) not in (2, 3):
        return f"shape {props.shape} is not an image"
    if props.shape[0] * props.shape[1] > MAX_IMAGE_PIXELS:
        return f"{props.shape[1]}x{props.shape[0]} pixels, more than {MAX_IMAGE_PIXELS:,} (textures are resized anyway)"
    return ""


def image_texture_units(entry: ImageTextureEntry) -> Units:
    return {f"texture:{n}": {"families": frozenset(["image:" + entry.folder])} for n in entry.names}


IMAGE_TEXTURES = Factor(
    "visual.image_textures", ImageTextureEntry, compile_image_texture, frozenset(), image_texture_units
)
