"""Model elements by name: glob patterns of a spec -> element ids of a compiled MuJoCo model."""

from __future__ import annotations

import fnmatch

import mujoco

from simreal.randomization.spec_errors import SpecError

_OBJ = {
    "body": mujoco.mjtObj.mjOBJ_BODY,
    "geom": mujoco.mjtObj.mjOBJ_GEOM,
    "joint": mujoco.mjtObj.mjOBJ_JOINT,
    "actuator": mujoco.mjtObj.mjOBJ_ACTUATOR,
    "material": mujoco.mjtObj.mjOBJ_MATERIAL,
    "texture": mujoco.mjtObj.mjOBJ_TEXTURE,
    "light": mujoco.mjtObj.mjOBJ_LIGHT,
    "camera": mujoco.mjtObj.mjOBJ_CAMERA,
}
_COUNT = {
    "body": "nbody",
    "geom": "ngeom",
    "joint": "njnt",
    "actuator": "nu",
    "material": "nmat",
    "texture": "ntex",
    "light": "nlight",
    "camera": "ncam",
}


def element_names(model: mujoco.MjModel, kind: str) -> list[str]:
    """Names of every element of ``kind`` (``body``, ``geom``, ...) in id order ('' when unnamed)."""
    obj = _OBJ[kind]
    return [mujoco.mj_id2name(model, obj, i) or "" for i in range(getattr(model, _COUNT[kind]))]


def match(
    model: mujoco.MjModel, kind: str, patterns: tuple[str, ...], path: str, optional: bool = False
) -> tuple[int, ...]:
    """Ids of ``kind`` elements whose name matches a glob in ``patterns``; a pattern matching none raises."""
    names = element_names(model, kind)
    ids: set[int] = set()
    for j, pat in enumerate(patterns):
        hit = {i for i, n in enumerate(names) if n and fnmatch.fnmatchcase(n, pat)}
        if not hit and not optional:
            known = [n for n in names if n]
            raise SpecError(f"{path}[{j}]: {pat!r} matches no {kind} in the model (known: {known})")
        ids |= hit
    return tuple(sorted(ids))
