"""Field operations of ``apply``: quaternion products and gravity tilt against MuJoCo / geometry, row selection."""

import sys

import mujoco
import numpy as np
import pytest

import simreal.randomization  # noqa: F401  (loads the submodule; the package exports a function named apply)

ops = sys.modules["simreal.randomization.apply"]


def test_quaternion_product_matches_mujoco():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    ours = ops._quat_mul(a, b)
    for i in range(5):
        ref = np.zeros(4)
        mujoco.mju_mulQuat(ref, a[i], b[i])
        assert np.allclose(ours[i], ref)


def test_quat_rot_is_a_local_rotation_by_the_rotation_vector():
    cur = np.array([[np.cos(0.3), 0.0, np.sin(0.3), 0.0]])
    out = ops.OPERATIONS[ops.Op.QUAT_ROT](cur, np.array([[0.0, 0.0, 90.0]]))
    ref = np.zeros(4)
    mujoco.mju_mulQuat(ref, cur[0], np.array([np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)]))
    assert np.allclose(out[0], ref)
    assert np.isclose(np.linalg.norm(out), 1.0)


@pytest.mark.parametrize(("deg", "azimuth"), [(0.0, 1.0), (1.0, 0.0), (5.0, 2.5), (30.0, -1.0)])
def test_tilt_rotates_gravity_by_the_angle_about_a_horizontal_axis(deg, azimuth):
    g = np.array([0.0, 0.0, -9.81])
    out = ops._tilt(g, deg, azimuth)
    assert np.isclose(np.linalg.norm(out), 9.81)
    angle = np.degrees(np.arccos(np.clip(out @ g / 9.81**2, -1, 1)))
    assert np.isclose(angle, deg, atol=1e-6)
    axis = np.array([np.cos(azimuth), np.sin(azimuth), 0.0])
    assert np.isclose(out @ axis, 0.0)  # rotation about the axis keeps the component along it (zero)


@pytest.mark.parametrize(
    ("rows", "cols"), [((1, 2, 3), None), ((0, 2), None), ((0, 2), (0, 2)), ((1, 2), (1,)), ((3,), (0, 1, 2))]
)
def test_index_selects_the_rows_by_cols_block(rows, cols):
    field = np.arange(20.0).reshape(5, 4)
    expected = field[np.ix_(rows, cols if cols is not None else range(4))]
    assert np.array_equal(field[ops._index(rows, cols)], expected)
    field[ops._index(rows, cols)] = -1.0
    assert (field == -1.0).sum() == expected.size
