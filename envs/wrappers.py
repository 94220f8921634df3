"""The one walk down a Gymnasium wrapper chain by type (for attributes, use gymnasium's ``env.get_wrapper_attr``)."""

from __future__ import annotations

from typing import TypeVar

import gymnasium as gym

__all__ = ["find_wrapper"]

W = TypeVar("W", bound=gym.Wrapper)


def find_wrapper(env: gym.Env, wrapper_type: type[W]) -> W | None:
    """The outermost wrapper of ``wrapper_type`` in ``env``'s chain (``env`` itself included); None if none is."""
    current: gym.Env = env
    while isinstance(current, gym.Wrapper):
        if isinstance(current, wrapper_type):
            return current
        current = current.env
    return None
