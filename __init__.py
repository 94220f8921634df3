"""simreal: infinite training data from randomized MuJoCo scenes.

Importing the package selects a headless OpenGL backend (before MuJoCo is imported) and registers the
``simreal/...`` Gymnasium ids. Nothing heavy is imported here.
"""

from simreal.envs.gl_backend import configure_gl_backend

configure_gl_backend()

from simreal.registration import register_envs  # noqa: E402

register_envs()

__version__ = "0.1.0"
__all__ = ["__version__", "register_envs"]
