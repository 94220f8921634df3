"""Choose a headless OpenGL backend for MuJoCo before MuJoCo is imported.

MuJoCo's Python bindings read ``MUJOCO_GL`` once, at import time. We respect a value the user set; otherwise we pick
``egl`` (GPU or Mesa llvmpipe), then ``osmesa``, by whether their shared libraries can be found.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
import warnings
from types import ModuleType

# backend -> (shared library names, Debian packages that provide them)
BACKEND_LIBRARIES: dict[str, tuple[tuple[str, ...], str]] = {
    "egl": (("EGL", "GL"), "libegl1 libgl1-mesa-dri"),
    "osmesa": (("OSMesa",), "libosmesa6"),
}
INSTALL_HINT = (
    "No headless OpenGL backend is usable. On Debian/Ubuntu install EGL with "
    "`apt-get install -y libegl1 libgl1-mesa-dri` (or OSMesa with `apt-get install -y libosmesa6`), "
    "then set MUJOCO_GL=egl (or osmesa)."
)


class GLBackendError(RuntimeError):
    """MuJoCo cannot load the OpenGL backend that ``MUJOCO_GL`` names (missing or broken libraries)."""


def import_mujoco() -> ModuleType:
    """``import mujoco``; when its GL backend fails to load, raise :class:`GLBackendError` with the install hint
    (mujoco loads the backend at import time, and a broken one fails deep inside PyOpenGL)."""
    try:
        import mujoco
    except Exception as error:  # PyOpenGL fails with AttributeError, ImportError, OSError, ... for broken libraries
        backend = os.environ.get("MUJOCO_GL", "")
        raise GLBackendError(
            f"MUJOCO_GL={backend or '<unset>'}: mujoco cannot load this OpenGL backend ({type(error).__name__}: "
            f"{error}). {install_hint(backend or 'egl')} `simreal doctor` diagnoses rendering."
        ) from error
    return mujoco


def install_hint(backend: str) -> str:
    """What to install (or set) when ``backend`` cannot create a context: its packages, or a backend that can."""
    others = [name for name in available_backends() if name != backend]
    if backend not in BACKEND_LIBRARIES:
        fix = f"set MUJOCO_GL={others[0]} (its libraries are installed)" if others else INSTALL_HINT
        return f"MUJOCO_GL={backend!r} is not a headless backend ({', '.join(BACKEND_LIBRARIES)}): {fix}"
    libs, packages = BACKEND_LIBRARIES[backend]
    switch = f" or use MUJOCO_GL={others[0]} (its libraries are installed)" if others else ""
    return f"MUJOCO_GL={backend} needs {', '.join(libs)}: on Debian/Ubuntu `apt-get install -y {packages}`{switch}."


def available_backends() -> list[str]:
    """Backends whose shared libraries are present, in order of preference."""
    return [name for name, (libs, _) in BACKEND_LIBRARIES.items() if all(ctypes.util.find_library(lib) for lib in libs)]


def configure_gl_backend() -> str:
    """Set ``MUJOCO_GL`` (and the matching ``PYOPENGL_PLATFORM``) if the user has not; return the backend name.

    Returns an empty string when nothing usable was found; rendering then fails with :data:`INSTALL_HINT`.
    """
    # Mesa's software rasteriser (llvmpipe) wakes a thread per core for every frame; for small observation
    # images rendering in the calling thread is faster (~6% per step quiet, 2-4x less time in glReadPixels when
    # the cores are busy) and avoids oversubscription with vector envs and data workers. GPU drivers ignore it;
    # set LP_NUM_THREADS yourself to override. Set whether or not MUJOCO_GL was given.
    os.environ.setdefault("LP_NUM_THREADS", "0")
    requested = os.environ.get("MUJOCO_GL", "").strip().lower()
    if requested:
        return requested
    if "mujoco" in sys.modules:
        warnings.warn(
            "mujoco was imported before simreal without MUJOCO_GL set, so it uses its default (windowed) GL "
            "backend; import simreal first or set MUJOCO_GL=egl for headless rendering.",
            RuntimeWarning,
            stacklevel=3,
        )
        return ""
    found = available_backends()
    if not found:
        return ""
    os.environ["MUJOCO_GL"] = found[0]
    os.environ.setdefault("PYOPENGL_PLATFORM", found[0])
    return found[0]
