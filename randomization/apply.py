"""``apply(model, defaults, params)``: restore the pristine values of every field a spec may touch, then
write the sampled params. Returns the ids of textures whose pixels changed (to re-upload to renderers)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import imageio.v3 as iio
import mujoco
import numpy as np
from PIL import Image

from simreal.randomization.params import FieldOp, Op, Params, TextureOp
from simreal.randomization.textures import generate, hsv_to_rgb, rgb_to_hsv

# Procedural textures are generated at most this big and then tiled (cube/skybox strips: one face repeated)
# or upscaled. Keeping the small matrix products in textures.py under OpenBLAS's threading threshold matters:
# threaded tiny GEMMs on a busy machine cost milliseconds instead of microseconds.
MAX_GENERATED_SIDE = 64

# Model fields from which MuJoCo derives constants at compile time (mj_setConst: body_subtreemass,
# body_invweight0, dof_invweight0, actuator_acc0, ...). The constraint solver scales contact softness by the
# inverse weights, so a mass written without recomputing them leaves every contact tuned for the old mass: a
# block 2-3x heavier than its default was launched at tens of m/s by a finger pressing on it.
CONSTANT_SOURCES = frozenset(
    {"body_mass", "body_inertia", "body_ipos", "body_iquat", "dof_armature", "actuator_gear", "jnt_pos", "jnt_axis"}
)


@dataclass(frozen=True)
class Defaults:
    """Pristine copies of model fields (2-D) and texture pixels, taken once before any randomization."""

    fields: dict[str, np.ndarray]
    textures: dict[int, np.ndarray]

    @classmethod
    def capture(cls, model: mujoco.MjModel, fields: Iterable[str], texture_ids: Iterable[int]) -> Defaults:
        snap = {f: _view(model, f).copy() for f in sorted(fields)}
        tex = {int(i): _tex_view(model, int(i)).copy() for i in sorted(texture_ids)}
        return cls(snap, tex)


def _view(model: mujoco.MjModel, field: str) -> np.ndarray:
    """Writable 2-D view of a model field (``opt.timestep`` is returned as a (1, 1) copy)."""
    if field == "opt.timestep":
        return np.array([[model.opt.timestep]])
    arr = getattr(model.opt, field[4:]) if field.startswith("opt.") else getattr(model, field)
    if arr.ndim == 1:
        return arr[None, :] if field.startswith("opt.") else arr[:, None]
    return arr


def _write_back(model: mujoco.MjModel, field: str, view: np.ndarray) -> None:
    if field == "opt.timestep":
        model.opt.timestep = float(view[0, 0])


def _tex_view(model: mujoco.MjModel, tex_id: int) -> np.ndarray:
    adr = int(model.tex_adr[tex_id])
    n = int(model.tex_height[tex_id] * model.tex_width[tex_id] * model.tex_nchannel[tex_id])
    return model.tex_data[adr : adr + n]


def _quat_from_rotvec_deg(rv: np.ndarray) -> np.ndarray:
    rad = np.deg2rad(rv)
    angle = np.sqrt((rad * rad).sum(-1, keepdims=True))
    out = np.empty((*rad.shape[:-1], 4))
    out[..., :1] = np.cos(angle / 2)
    out[..., 1:] = rad * (np.sin(angle / 2) / np.where(angle > 0, angle, 1.0))
    return out


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton products of quaternion rows (w, x, y, z): every pairwise product a_j b_k, then signed sums."""
    outer = a[..., :, None] * b[..., None, :]
    return outer.reshape(*outer.shape[:-2], 16) @ _QUAT_PRODUCT


def _quat_product_table() -> np.ndarray:
    """(16, 4): coefficient of a_j * b_k (row 4 j + k) in each component of the product a b."""
    table = np.zeros((4, 4, 4))
    terms = {  # component: (sign, j, k) for w = a0 b0 - a1 b1 - a2 b2 - a3 b3, etc.
        0: ((1, 0, 0), (-1, 1, 1), (-1, 2, 2), (-1, 3, 3)),
        1: ((1, 0, 1), (1, 1, 0), (1, 2, 3), (-1, 3, 2)),
        2: ((1, 0, 2), (-1, 1, 3), (1, 2, 0), (1, 3, 1)),
        3: ((1, 0, 3), (1, 1, 2), (-1, 2, 1), (1, 3, 0)),
    }
    for i, products in terms.items():
        for sign, j, k in products:
            table[j, k, i] = sign
    return table.reshape(16, 4)


_QUAT_PRODUCT = _quat_product_table()


def _tilt(g: np.ndarray, deg: float, azimuth: float) -> np.ndarray:
    """Rotate vector ``g`` by ``deg`` about the horizontal axis at ``azimuth`` (Rodrigues, scalar math)."""
    kx, ky = math.cos(azimuth), math.sin(azimuth)
    th = math.radians(deg)
    c, s = math.cos(th), math.sin(th)
    gx, gy, gz = (float(v) for v in g)
    dot = (kx * gx + ky * gy) * (1 - c)
    cross = (ky * gz, -kx * gz, kx * gy - ky * gx)  # k x g with k = (kx, ky, 0)
    return np.array([gx * c + cross[0] * s + kx * dot, gy * c + cross[1] * s + ky * dot, gz * c + cross[2] * s])


def _hsv_jitter(cur: np.ndarray, v: np.ndarray) -> np.ndarray:
    hsv = rgb_to_hsv(np.clip(cur, 0.0, 1.0))
    hsv[:, 0] = (hsv[:, 0] + v[:, 0]) % 1.0
    hsv[:, 1:] = np.clip(hsv[:, 1:] + v[:, 1:], 0.0, 1.0)
    return hsv_to_rgb(hsv)


def _hsv_set(cur: np.ndarray, v: np.ndarray) -> np.ndarray:
    return hsv_to_rgb(np.concatenate([v[:, :1] % 1.0, np.clip(v[:, 1:], 0.0, 1.0)], axis=1))


def _quat_rot(cur: np.ndarray, v: np.ndarray) -> np.ndarray:
    q = _quat_mul(cur, _quat_from_rotvec_deg(v))
    return q / np.sqrt((q * q).sum(-1, keepdims=True))


def _dir_add(cur: np.ndarray, v: np.ndarray) -> np.ndarray:
    d = cur + v
    n = np.sqrt((d * d).sum(-1, keepdims=True))
    return np.where(n > 1e-9, d / np.where(n > 1e-9, n, 1.0), cur)


Operation = Callable[[np.ndarray, np.ndarray], np.ndarray]
# new values of the selected block from its current values and the op's values (rows x width); the KP_* ops
# act on the actuator gain through ``_apply_kp`` with their base operation (KP_BASE)
OPERATIONS: Mapping[Op, Operation] = {
    Op.SET: lambda cur, v: np.broadcast_to(v, cur.shape),
    Op.SCALE: lambda cur, v: cur * v,
    Op.ADD: lambda cur, v: cur + v,
    Op.HSV_JITTER: _hsv_jitter,
    Op.HSV_SET: _hsv_set,
    Op.QUAT_ROT: _quat_rot,
    Op.DIR_ADD: _dir_add,
    Op.TILT: lambda cur, v: _tilt(cur[0], float(v[0, 0]), float(v[0, 1]))[None, :],
}
KP_BASE: Mapping[Op, Op] = {Op.KP_SET: Op.SET, Op.KP_SCALE: Op.SCALE, Op.KP_ADD: Op.ADD}


@lru_cache(maxsize=1024)
def _rows(rows: tuple[int, ...]) -> slice | np.ndarray:
    """Row index: a slice for consecutive rows (a view, no gather), else an index array."""
    if rows and rows == tuple(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    out = np.asarray(rows, dtype=np.intp)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=1024)
def _index(rows: tuple[int, ...], cols: tuple[int, ...] | None) -> tuple[slice | np.ndarray, ...]:
    """``view[index]`` selects ``rows`` x ``cols`` (all columns when ``cols`` is None) as a 2-D block."""
    r = _rows(rows)
    if cols is None:
        return (r,)
    c = _rows(cols)
    if isinstance(r, np.ndarray) and isinstance(c, np.ndarray):
        return np.ix_(r, c)
    return (r, c)


def _apply_kp(model: mujoco.MjModel, op: FieldOp) -> None:
    rows = _rows(op.rows)
    kp = OPERATIONS[KP_BASE[op.op]](model.actuator_gainprm[rows, :1], op.array())
    model.actuator_gainprm[rows, 0] = kp[:, 0]
    model.actuator_biasprm[rows, 1] = -kp[:, 0]


def _apply_field(model: mujoco.MjModel, op: FieldOp) -> None:
    if op.op in KP_BASE:
        _apply_kp(model, op)
        return
    view = _view(model, op.field)
    idx = _index(op.rows, op.cols)
    view[idx] = OPERATIONS[op.op](view[idx], op.array())
    _write_back(model, op.field, view)


@lru_cache(maxsize=64)
def load_image(path: str, height: int, width: int) -> np.ndarray:
    """RGB uint8 (height, width, 3) image from ``path`` (resized; cached, read-only)."""
    img = np.asarray(iio.imread(path))
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    pil = Image.fromarray(img[..., :3].astype(np.uint8)).resize((width, height), Image.Resampling.BILINEAR)
    out = np.asarray(pil, dtype=np.uint8)
    out.flags.writeable = False
    return out


def texture_pixels(op: TextureOp, height: int, width: int) -> np.ndarray:
    """uint8 (height, width, 3) pixels for a texture op (procedural or image)."""
    if op.family == "image":
        return load_image(op.image, height, width)
    img = _generated(op, height, width)
    return np.tile(img, (height // img.shape[0], 1, 1)) if img.shape[0] != height else img


def _is_strip(height: int, width: int) -> bool:
    """A cube/skybox strip of square faces, generated as one face repeated."""
    return width <= MAX_GENERATED_SIDE and height % width == 0 and height > width


def _generated(op: TextureOp, height: int, width: int) -> np.ndarray:
    """Procedural pixels: one (width, width) face for strips, else (height, width) (upscaled past the cap)."""
    rng = np.random.default_rng(op.seed)
    if _is_strip(height, width):
        return generate(op.family, width, width, op.color_a, op.color_b, op.scale, rng)
    gh, gw = min(height, MAX_GENERATED_SIDE), min(width, MAX_GENERATED_SIDE)
    img = generate(op.family, gh, gw, op.color_a, op.color_b, op.scale, rng)
    if (gh, gw) != (height, width):
        iy = np.arange(height) * gh // height
        ix = np.arange(width) * gw // width
        img = img[iy][:, ix]
    return img


def _write_texture(model: mujoco.MjModel, op: TextureOp) -> None:
    h, w = int(model.tex_height[op.tex_id]), int(model.tex_width[op.tex_id])
    nch = int(model.tex_nchannel[op.tex_id])
    dst = _tex_view(model, op.tex_id).reshape(h, w, nch)
    if op.family != "image" and nch >= 3:
        rgb = _generated(op, h, w)  # written straight into every face of a strip (broadcast, no tiling)
        dst.reshape(-1, *rgb.shape[:2], nch)[..., :3] = rgb
    else:
        rgb = texture_pixels(op, h, w)
        dst[..., :3] = rgb if nch >= 3 else rgb.mean(-1, keepdims=True)[..., :nch]
    if nch == 4:
        dst[..., 3] = 255


def recompute_constants(model: mujoco.MjModel, defaults: Defaults, scratch: mujoco.MjData | None = None) -> None:
    """Re-derive the model's compile-time constants (``mj_setConst``) when ``defaults`` covers a field they depend
    on (:data:`CONSTANT_SOURCES`). ``scratch`` is an ``MjData`` of ``model`` used as work space (its state is
    overwritten); without one a fresh one is allocated (~1 ms)."""
    if CONSTANT_SOURCES.isdisjoint(defaults.fields):
        return
    mujoco.mj_setConst(model, scratch if scratch is not None else mujoco.MjData(model))


def restore(
    model: mujoco.MjModel,
    defaults: Defaults,
    skip_textures: Iterable[int] = (),
    scratch: mujoco.MjData | None = None,
    recompute: bool = True,
) -> list[int]:
    """Write every pristine value back (and, with ``recompute``, the constants derived from them); returns the
    ids of textures whose pixels were restored."""
    for field, pristine in defaults.fields.items():
        view = _view(model, field)
        view[...] = pristine
        _write_back(model, field, view)
    if recompute:
        recompute_constants(model, defaults, scratch)
    changed = []
    skip = set(skip_textures)
    for tex_id, pristine in defaults.textures.items():
        if tex_id in skip:
            continue
        cur = _tex_view(model, tex_id)
        if not np.array_equal(cur, pristine):
            cur[...] = pristine
            changed.append(tex_id)
    return changed


def apply(model: mujoco.MjModel, defaults: Defaults, params: Params, scratch: mujoco.MjData | None = None) -> list[int]:
    """Restore pristine values, then write ``params`` and re-derive the model constants that depend on them
    (``scratch``: see :func:`recompute_constants`); returns the sorted ids of textures that changed."""
    for op in params.fields:
        key = ("actuator_gainprm",) if op.op in KP_BASE else (op.field,)
        if key[0] not in defaults.fields:
            raise ValueError(f"params.fields: {op.field!r} is not covered by the defaults snapshot")
    for t in params.textures:
        if t.tex_id not in defaults.textures:
            raise ValueError(f"params.textures: texture {t.name!r} is not covered by the defaults snapshot")
    regenerated = {t.tex_id for t in params.textures}
    changed = set(restore(model, defaults, skip_textures=regenerated, recompute=False))
    for op in params.fields:
        _apply_field(model, op)
    recompute_constants(model, defaults, scratch)
    for t in params.textures:
        _write_texture(model, t)
    return sorted(changed | regenerated)
