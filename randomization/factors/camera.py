"""Factor ``visual.camera``: camera position, orientation and field-of-view jitter."""

from __future__ import annotations

from dataclasses import dataclass

from simreal.randomization import bounds as B
from simreal.randomization.distributions import Distribution
from simreal.randomization.factors.base import Compiler, DrawRow, Factor, FieldDrawStep, Step, Units, present
from simreal.randomization.params import Op
from simreal.randomization.spec_errors import check_names


@dataclass(frozen=True)
class CameraSpec:
    """Cameras matching ``names``: position jitter (m, add), orientation jitter (deg, per local axis) and
    field-of-view jitter (deg, add)."""

    names: tuple[str, ...] = ("*",)
    pos_jitter: Distribution | None = None
    rot_jitter_deg: Distribution | None = None
    fovy_jitter: Distribution | None = None

    def __post_init__(self) -> None:
        check_names(self.names)
        B.check_group(self, B.CAMERA_BOUNDS)


CAMERA_DRAWS: tuple[DrawRow, ...] = (
    ("pos_jitter", "cam_pos", Op.ADD, 3),
    ("rot_jitter_deg", "cam_quat", Op.QUAT_ROT, 3),
    ("fovy_jitter", "cam_fovy", Op.ADD, 1),
)


def compile_camera(spec: CameraSpec, path: str, c: Compiler) -> tuple[Step, ...]:
    rows = c.match("camera", spec.names, f"{path}.names")
    if spec.fovy_jitter is not None:  # pristine fovy + jitter stays a valid field of view
        fovy = c.model.cam_fovy[list(rows)][:, None]
        c.within_bounds(path, B.check_result, spec.fovy_jitter, "add", fovy, [B.CAMERA_FOVY], "fovy_jitter", "cam_fovy")
    c.fields.update(field for _, field, _, _ in CAMERA_DRAWS)
    return (FieldDrawStep.of(spec, path, rows, CAMERA_DRAWS),)


def camera_units(spec: CameraSpec) -> Units:
    f = present(pos=spec.pos_jitter, rot=spec.rot_jitter_deg, fovy=spec.fovy_jitter)
    return {f"camera:{n}": f for n in spec.names}


CAMERA = Factor("visual.camera", CameraSpec, compile_camera, frozenset({Op.ADD, Op.QUAT_ROT}), camera_units)
