"""Factors ``visual.textures`` and ``visual.skybox``: procedural textures regenerated into model textures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simreal.randomization import bounds as B
from simreal.randomization.distributions import Distribution, Uniform
from simreal.randomization.draws import Draws
from simreal.randomization.factors.base import (
    ANY_HSV,
    HSV,
    Compiler,
    Factor,
    Out,
    Step,
    Texture,
    Units,
    draw_hsv,
    hsv_factors,
)
from simreal.randomization.params import TextureOp
from simreal.randomization.spec_errors import check_names, check_subset
from simreal.randomization.textures import hsv_to_rgb

TEXTURE_FAMILIES = ("checker", "stripes", "noise", "gradient", "blobs")
MATERIAL_FAMILIES = ("wood", "concrete", "asphalt", "fabric")
ALL_FAMILIES = TEXTURE_FAMILIES + MATERIAL_FAMILIES
_TEX_SCALE = Uniform(2.0, 8.0)


@dataclass(frozen=True)
class TextureEntry:
    """Procedural texture regenerated into every 2D/skybox texture matching ``names``."""

    names: tuple[str, ...]
    families: tuple[str, ...] = TEXTURE_FAMILIES
    color_a: HSV = ANY_HSV
    color_b: HSV = ANY_HSV
    scale: Distribution = _TEX_SCALE

    def __post_init__(self) -> None:
        check_names(self.names)
        check_subset(self.families, ALL_FAMILIES, "families")
        B.check_group(self, B.TEXTURE_BOUNDS)
        B.check_group(self.color_a, B.HSV_BOUNDS, "color_a.")
        B.check_group(self.color_b, B.HSV_BOUNDS, "color_b.")


@dataclass(frozen=True)
class TextureStep:
    entry: TextureEntry
    path: str
    texs: tuple[Texture, ...]

    def __call__(self, d: Draws, out: Out) -> None:
        entry, path, texs = self.entry, self.path, self.texs
        n = len(texs)
        fam = d.rng.integers(len(entry.families), size=n)
        ca = hsv_to_rgb(draw_hsv(d, entry.color_a, f"{path}.color_a", n))
        cb = hsv_to_rgb(draw_hsv(d, entry.color_b, f"{path}.color_b", n))
        scale = np.atleast_1d(np.asarray(d(entry.scale, f"{path}.scale", n), dtype=float))
        seeds = d.rng.integers(2**31, size=n)
        for k, tex in enumerate(texs):
            family = entry.families[int(fam[k])]
            d.record.setdefault(f"{path}.families", []).append(family)
            out.textures.append(
                TextureOp(
                    tex.tex_id,
                    tex.name,
                    family,
                    (float(ca[k, 0]), float(ca[k, 1]), float(ca[k, 2])),
                    (float(cb[k, 0]), float(cb[k, 1]), float(cb[k, 2])),
                    float(scale[k]),
                    int(seeds[k]),
                )
            )


def compile_texture(entry: TextureEntry, path: str, c: Compiler) -> tuple[Step, ...]:
    return (TextureStep(entry, path, c.textures(entry.names, path)),)


def texture_units(entry: TextureEntry) -> Units:
    factors = {
        "families": frozenset(entry.families),
        **hsv_factors("a.", entry.color_a),
        **hsv_factors("b.", entry.color_b),
        "scale": entry.scale,
    }
    return {f"texture:{n}": factors for n in entry.names}


TEXTURES = Factor("visual.textures", TextureEntry, compile_texture, frozenset(), texture_units)
SKYBOX = Factor("visual.skybox", TextureEntry, compile_texture, frozenset(), texture_units)
