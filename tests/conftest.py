"""Shared test helpers."""

from __future__ import annotations

import simreal  # noqa: F401  (selects the GL backend and registers the ids before any test imports mujoco)
