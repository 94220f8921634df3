"""Pure sampling: ``sample(spec, model, rng) -> Params``.

A ``Sampler`` compiles a spec against a model once (glob patterns -> element ids, checked: a pattern that
matches nothing raises naming the spec path) and then draws ``Params`` cheaply. It never writes the model.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import mujoco
import numpy as np

from simreal.randomization import bounds
from simreal.randomization.distributions import Distribution, Uniform
from simreal.randomization.params import FieldOp, Params, TextureOp
from simreal.randomization.sensor import SENSOR_OPS
from simreal.randomization.spec import (
    HSV,
    CameraSpec,
    DistractorSpec,
    ImageTextureEntry,
    LightSpec,
    PhysicsEntry,
    RandomizationSpec,
    SpecError,
    TextureEntry,
)
from simreal.randomization.textures import hsv_to_rgb

GEOM_TYPES = {
    "sphere": int(mujoco.mjtGeom.mjGEOM_SPHERE),
    "capsule": int(mujoco.mjtGeom.mjGEOM_CAPSULE),
    "ellipsoid": int(mujoco.mjtGeom.mjGEOM_ELLIPSOID),
    "cylinder": int(mujoco.mjtGeom.mjGEOM_CYLINDER),
    "box": int(mujoco.mjtGeom.mjGEOM_BOX),
}
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
_PHYSICS_OBJ = {"body": "body", "geom": "geom", "dof": "joint", "jnt": "joint", "actuator": "actuator"}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


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


class _Draws:
    """Collects raw draws by spec path while sampling.

    With a ``_UniformPlan``, every ``Uniform`` draw is a slice of one block drawn with a single generator
    call (same distribution as ``Uniform.sample``: ``low + (high - low) * U[0, 1)``); other distributions
    sample themselves.
    """

    def __init__(self, rng: np.random.Generator, plan: _UniformPlan | None = None) -> None:
        self.rng = rng
        self.record: dict[str, list[Any]] = {}
        self._slots = plan.slots if plan is not None else ()
        self._next = 0
        if plan is not None and plan.count:
            block = plan.low + plan.width * rng.random(plan.count)
            self._block, self._values = block, block.tolist()

    def __call__(self, dist: Distribution, path: str, size: int | tuple[int, ...] | None = None) -> Any:
        slot = self._slots[self._next] if self._next < len(self._slots) else None
        self._next += 1
        if slot is not None:
            start, stop = slot
            flat = self._values[start:stop]
            self.record.setdefault(path, []).extend(flat)
            return flat[0] if size is None else self._block[start:stop].reshape(size)
        out = dist.sample(self.rng, size)
        flat = [out] if size is None else np.asarray(out).ravel().tolist()
        self.record.setdefault(path, []).extend(flat)
        return out

    def hsv(self, color: HSV, path: str, n: int) -> np.ndarray:
        out = np.empty((n, 3))
        out[:, 0] = self(color.hue, f"{path}.hue", n)
        out[:, 1] = self(color.saturation, f"{path}.saturation", n)
        out[:, 2] = self(color.value, f"{path}.value", n)
        return out


class _Recorder(_Draws):
    """Records the sequence of draws (distribution, size) that a sampler makes; used once at compile time."""

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng)
        self.calls: list[tuple[Distribution, int]] = []

    def __call__(self, dist: Distribution, path: str, size: int | tuple[int, ...] | None = None) -> Any:
        self.calls.append((dist, 1 if size is None else int(np.prod(size))))
        return super().__call__(dist, path, size)


@dataclass(frozen=True)
class _UniformPlan:
    """Where each draw of a compiled sampler lives in the per-sample uniform block (None: not uniform)."""

    slots: tuple[tuple[int, int] | None, ...]
    low: np.ndarray
    width: np.ndarray

    @property
    def count(self) -> int:
        return len(self.low)

    @classmethod
    def from_calls(cls, calls: list[tuple[Distribution, int]]) -> _UniformPlan:
        slots: list[tuple[int, int] | None] = []
        low: list[float] = []
        width: list[float] = []
        for dist, n in calls:
            if not isinstance(dist, Uniform):
                slots.append(None)
                continue
            slots.append((len(low), len(low) + n))
            low += [dist.low] * n
            width += [dist.high - dist.low] * n
        return cls(tuple(slots), np.asarray(low, dtype=float), np.asarray(width, dtype=float))


def _op(field: str, op: str, rows: tuple[int, ...], values: np.ndarray, cols: tuple[int, ...] | None = None) -> FieldOp:
    values = np.asarray(values, dtype=np.float64).reshape(len(rows), -1)
    return FieldOp(field, op, rows, cols, tuple(values.ravel().tolist()), values.shape[1])


Step = Callable[[_Draws, list[FieldOp], list[TextureOp]], None]


@dataclass(frozen=True)
class _Texture:
    tex_id: int
    name: str


# One compiled spec entry each: ``step(draws, field_ops, texture_ops)`` appends that entry's ops. Module-level
# dataclasses rather than closures, so that a Sampler (and every env holding one) pickles and deep-copies.
@dataclass(frozen=True)
class _ColorStep:
    color: HSV
    path: str
    rows: tuple[int, ...]
    field: str
    op: str

    def __call__(self, d: _Draws, f: list[FieldOp], t: list[TextureOp]) -> None:
        f.append(_op(self.field, self.op, self.rows, d.hsv(self.color, self.path, len(self.rows)), (0, 1, 2)))


@dataclass(frozen=True)
class _TextureStep:
    entry: TextureEntry
    path: str
    texs: tuple[_Texture, ...]

    def __call__(self, d: _Draws, f: list[FieldOp], t: list[TextureOp]) -> None:
        entry, path, texs = self.entry, self.path, self.texs
        n = len(texs)
        fam = d.rng.integers(len(entry.families), size=n)
        ca = hsv_to_rgb(d.hsv(entry.color_a, f"{path}.color_a", n))
        cb = hsv_to_rgb(d.hsv(entry.color_b, f"{path}.color_b", n))
        scale = np.atleast_1d(np.asarray(d(entry.scale, f"{path}.scale", n), dtype=float))
        seeds = d.rng.integers(2**31, size=n)
        for k, tex in enumerate(texs):
            family = entry.families[int(fam[k])]
            d.record.setdefault(f"{path}.families", []).append(family)
            t.append(
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


@dataclass(frozen=True)
class _ImageTextureStep:
    texs: tuple[_Texture, ...]
    files: tuple[str, ...]

    def __call__(self, d: _Draws, f: list[FieldOp], t: list[TextureOp]) -> None:
        idx = d.rng.integers(len(self.files), size=len(self.texs))
        for k, tex in enumerate(self.texs):
            img = self.files[int(idx[k])]
            t.append(TextureOp(tex.tex_id, tex.name, "image", (1.0, 1.0, 1.0), (1.0, 1.0, 1.0), 1.0, 0, img))


@dataclass(frozen=True)
class _LightStep:
    spec: LightSpec
    rows: tuple[int, ...]
    path: str = "visual.lights"

    def __call__(self, d: _Draws, f: list[FieldOp], t: list[TextureOp]) -> None:
        spec, rows, path, n = self.spec, self.rows, self.path, len(self.rows)
        if spec.pos_jitter is not None:
            f.append(_op("light_pos", "add", rows, d(spec.pos_jitter, f"{path}.pos_jitter", (n, 3))))
        if spec.dir_jitter is not None:
            f.append(_op("light_dir", "dir_add", rows, d(spec.dir_jitter, f"{path}.dir_jitter", (n, 3))))
        if spec.intensity is not None:
            f.append(_op("light_diffuse", "scale", rows, d(spec.intensity, f"{path}.intensity", n)))
        if spec.tint is not None:
            f.append(_op("light_diffuse", "scale", rows, d(spec.tint, f"{path}.tint", (n, 3))))
        if spec.count is not None:
            k = int(np.clip(round(float(d(spec.count, f"{path}.count"))), 1, n))
            on = np.zeros(n)
            on[d.rng.permutation(n)[:k]] = 1.0
            f.append(_op("light_active", "set", rows, on))


@dataclass(frozen=True)
class _CameraStep:
    spec: CameraSpec
    rows: tuple[int, ...]
    path: str = "visual.camera"

    def __call__(self, d: _Draws, f: list[FieldOp], t: list[TextureOp]) -> None:
        spec, rows, path, n = self.spec, self.rows, self.path, len(self.rows)
        if spec.pos_jitter is not None:
            f.append(_op("cam_pos", "add", rows, d(spec.pos_jitter, f"{path}.pos_jitter", (n, 3))))
        if spec.rot_jitter_deg is not None:
            f.append(_op("cam_quat", "quat_rot", rows, d(spec.rot_jitter_deg, f"{path}.rot_jitter_deg", (n, 3))))
        if spec.fovy_jitter is not None:
            f.append(_op("cam_fovy", "add", rows, d(spec.fovy_jitter, f"{path}.fovy_jitter", n)))


@dataclass(frozen=True)
class _DistractorStep:
    spec: DistractorSpec
    rows: tuple[int, ...]
    shape_ids: tuple[float, ...]
    path: str = "visual.distractors"

    def __call__(self, d: _Draws, f: list[FieldOp], t: list[TextureOp]) -> None:
        spec, rows, path, n = self.spec, self.rows, self.path, len(self.rows)
        k = int(np.clip(round(float(d(spec.count, f"{path}.count"))), 0, n))
        visible = np.zeros(n)
        visible[d.rng.permutation(n)[:k]] = 1.0
        shapes = np.asarray(self.shape_ids)[d.rng.integers(len(self.shape_ids), size=n)]
        size = d(spec.size, f"{path}.size", (n, 3))
        pos = np.stack([d(spec.x, f"{path}.x", n), d(spec.y, f"{path}.y", n), d(spec.z, f"{path}.z", n)], axis=-1)
        hsv = d.hsv(spec.color, f"{path}.color", n)
        f.append(_op("geom_type", "set", rows, shapes))
        f.append(_op("geom_size", "set", rows, size))
        f.append(_op("geom_pos", "set", rows, pos))
        f.append(_op("geom_rgba", "hsv_set", rows, hsv, (0, 1, 2)))
        f.append(_op("geom_rgba", "set", rows, visible, (3,)))


@dataclass(frozen=True)
class _GravityStep:
    dist: Distribution

    def __call__(self, d: _Draws, f: list[FieldOp], t: list[TextureOp]) -> None:
        tilt = float(d(self.dist, "physics.gravity_tilt_deg"))
        f.append(_op("opt.gravity", "tilt", (0,), np.array([tilt, d.rng.uniform(0, 2 * np.pi)])))


@dataclass(frozen=True)
class _PhysicsStep:
    entry: PhysicsEntry
    path: str
    field: str
    op: str
    rows: tuple[int, ...]
    cols: tuple[int, ...] | None

    def __call__(self, d: _Draws, f: list[FieldOp], t: list[TextureOp]) -> None:
        entry, n = self.entry, len(self.rows)
        if entry.shared:
            values = np.full(n, float(d(entry.dist, f"{self.path}.dist")))
        else:
            values = np.asarray(d(entry.dist, f"{self.path}.dist", n), dtype=float)
        f.append(_op(self.field, self.op, self.rows, values, self.cols))


class Sampler:
    """A spec compiled against a model; ``sampler(rng)`` draws ``Params``."""

    def __init__(self, spec: RandomizationSpec, model: mujoco.MjModel) -> None:
        self.spec = spec
        self.spec_hash = spec.hash()
        self.fields: set[str] = set()
        self.texture_ids: set[int] = set()
        self._steps: list[Step] = []
        self._model = model
        self._compile_visual()
        self._compile_physics()
        self._model = None  # type: ignore[assignment]  # do not keep the model alive
        recorder = _Recorder(np.random.default_rng(0))  # the draw sequence is fixed by the spec: record it once
        self._plan: _UniformPlan | None = None
        self._draw(recorder)
        self._plan = _UniformPlan.from_calls(recorder.calls)

    # ------------------------------------------------------------------------------------ drawing
    def __call__(self, rng: np.random.Generator) -> Params:
        return self._draw(_Draws(rng, self._plan))

    def _draw(self, draws: _Draws) -> Params:
        fields: list[FieldOp] = []
        textures: list[TextureOp] = []
        for step in self._steps:
            step(draws, fields, textures)
        sensor = self._sample_sensor(draws)
        control = self._sample_control(draws)
        rng = draws.rng
        return Params(
            spec_hash=self.spec_hash,
            fields=tuple(fields),
            textures=tuple(textures),
            sensor=sensor,
            control=control,
            seed=int(rng.integers(2**31)),
            draws=tuple((k, tuple(v)) for k, v in draws.record.items()),
        )

    def _sample_sensor(self, draws: _Draws) -> tuple[tuple[str, tuple[float, ...]], ...]:
        out = []
        s = self.spec.sensor
        for name in SENSOR_OPS:
            dist = getattr(s, name)
            if dist is None:
                continue
            size = 3 if name == "white_balance" else None
            value = draws(dist, f"sensor.{name}", size)
            out.append((name, tuple(float(v) for v in np.atleast_1d(value))))
        return tuple(out)

    def _sample_control(self, draws: _Draws) -> tuple[tuple[str, float], ...]:
        c = self.spec.control
        out = []
        for name in ("action_noise", "action_latency", "obs_noise"):
            dist = getattr(c, name)
            if dist is not None:
                out.append((name, float(draws(dist, f"control.{name}"))))
        return tuple(out)

    # ------------------------------------------------------------------------------------ visual
    def _add(self, step: Step, *fields: str) -> None:
        self._steps.append(step)
        self.fields.update(fields)

    def _compile_visual(self) -> None:
        v = self.spec.visual
        for i, entry in enumerate(v.colors):
            path = f"visual.colors[{i}]"
            field = "mat_rgba" if entry.target == "material" else "geom_rgba"
            rows = match(self._model, entry.target, entry.names, f"{path}.names")
            op = "hsv_jitter" if entry.mode == "jitter" else "hsv_set"
            self._add(_ColorStep(HSV(entry.hue, entry.saturation, entry.value), path, rows, field, op), field)
        for i, entry in enumerate(v.textures):
            self._compile_texture(entry, f"visual.textures[{i}]")
        for i, entry in enumerate(v.image_textures):
            self._compile_image_texture(entry, f"visual.image_textures[{i}]")
        if v.skybox is not None:
            self._compile_texture(v.skybox, "visual.skybox")
        self._compile_lights()
        self._compile_camera()
        self._compile_distractors()

    def _textures(self, names: tuple[str, ...], path: str) -> list[_Texture]:
        ids = match(self._model, "texture", names, f"{path}.names")
        all_names = element_names(self._model, "texture")
        self.texture_ids.update(ids)
        return [_Texture(i, all_names[i]) for i in ids]

    def _compile_texture(self, entry: TextureEntry, path: str) -> None:
        self._steps.append(_TextureStep(entry, path, tuple(self._textures(entry.names, path))))

    def _compile_image_texture(self, entry: ImageTextureEntry, path: str) -> None:
        texs = self._textures(entry.names, path)
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
        self._steps.append(_ImageTextureStep(tuple(texs), tuple(files)))

    def _compile_lights(self) -> None:
        spec = self.spec.visual.lights
        if spec is None:
            return
        path = "visual.lights"
        rows = match(self._model, "light", spec.names, f"{path}.names")
        lights = bounds.Bound(1, len(rows), "(the lights matching names)", integer=True)
        _within_bounds(path, bounds.check_dist, spec.count, lights, "count")

        fields = []
        if spec.pos_jitter is not None:
            fields.append("light_pos")
        if spec.dir_jitter is not None:
            fields.append("light_dir")
        if spec.intensity is not None or spec.tint is not None:
            fields.append("light_diffuse")
        if spec.count is not None:
            fields.append("light_active")
        self._add(_LightStep(spec, rows, path), *fields)

    def _compile_camera(self) -> None:
        spec = self.spec.visual.camera
        if spec is None:
            return
        path = "visual.camera"
        rows = match(self._model, "camera", spec.names, f"{path}.names")
        if spec.fovy_jitter is not None:  # pristine fovy + jitter stays a valid field of view
            fovy = self._model.cam_fovy[list(rows)][:, None]
            args = (spec.fovy_jitter, "add", fovy, [bounds.CAMERA_FOVY], "fovy_jitter", "cam_fovy")
            _within_bounds(path, bounds.check_result, *args)
        self._add(_CameraStep(spec, rows, path), "cam_pos", "cam_quat", "cam_fovy")

    def _compile_distractors(self) -> None:
        spec = self.spec.visual.distractors
        if spec is None:
            return
        path = "visual.distractors"
        rows = match(self._model, "geom", spec.names, f"{path}.names")
        slots = bounds.Bound(0, len(rows), "(the geoms matching names)", integer=True)
        _within_bounds(path, bounds.check_dist, spec.count, slots, "count")
        shape_ids = tuple(float(GEOM_TYPES[s]) for s in spec.shapes)
        self._add(_DistractorStep(spec, rows, shape_ids, path), "geom_type", "geom_size", "geom_pos", "geom_rgba")

    # ------------------------------------------------------------------------------------ physics
    def _compile_physics(self) -> None:
        phys = self.spec.physics
        for i, entry in enumerate(phys.entries):
            self._compile_physics_entry(entry, f"physics.entries[{i}]")
        if phys.gravity_tilt_deg is not None:
            self._add(_GravityStep(phys.gravity_tilt_deg), "opt.gravity")

    def _physics_rows(self, entry: PhysicsEntry, path: str) -> tuple[int, ...]:
        if entry.field == "opt.timestep":
            return (0,)
        prefix = entry.field.split("_", 1)[0]
        kind = _PHYSICS_OBJ[prefix]
        ids = match(self._model, kind, entry.names, f"{path}.names", optional=entry.optional)
        if prefix != "dof":
            return ids
        jnt = set(ids)
        return tuple(int(d) for d in np.flatnonzero(np.isin(self._model.dof_jntid, list(jnt))))

    def _compile_physics_entry(self, entry: PhysicsEntry, path: str) -> None:
        rows = self._physics_rows(entry, path)
        if not rows and entry.optional:
            return
        field = entry.field
        if not rows:
            raise SpecError(f"{path}.names: the matched joints have no degrees of freedom")
        fields: tuple[str, ...]
        if field == "actuator_kp":
            op, cols, fields = f"kp_{entry.mode}", None, ("actuator_gainprm", "actuator_biasprm")
        else:
            op, cols, fields = entry.mode, entry.columns, (field,)
            ncols = (
                1
                if field == "opt.timestep"
                else (getattr(self._model, field).reshape(len(getattr(self._model, field)), -1).shape[1])
            )
            for j, c in enumerate(cols or ()):
                if c >= ncols:
                    raise SpecError(f"{path}.columns[{j}]: {field} has {ncols} columns, got index {c}")
        _within_bounds(path, bounds.check_physics_entry, self._model, entry, rows, cols)
        self._add(_PhysicsStep(entry, path, field, op, rows, cols), *fields)


MAX_IMAGE_PIXELS = 50_000_000  # decoding a bigger image for a texture would take seconds and gigabytes


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


def _within_bounds(path: str, check: Callable[..., None], *args: Any) -> None:
    """Run a ``bounds`` check against the model's pristine values; its ValueError becomes a SpecError at ``path``."""
    try:
        check(*args)
    except ValueError as err:
        raise SpecError(f"{path}.{err}") from None


def sample(spec: RandomizationSpec, model: mujoco.MjModel, rng: np.random.Generator) -> Params:
    """Draw one ``Params`` of ``spec`` for ``model`` (compile once with ``Sampler`` when sampling often)."""
    return Sampler(spec, model)(rng)
