"""Hyper-parameters in rl-zoo3's YAML format (``configs/<algo>.yml``: env id -> settings).

The same files work with ``python -m rl_zoo3.train -conf``. Strings such as ``policy_kwargs: "dict(...)"`` are
parsed with a restricted literal evaluator (no ``eval``): ``dict(...)``, literals, lists, ``nn.<Layer>`` and
``HerReplayBuffer``. The files are base configs, one per algorithm and observation kind; an experiment merges its
``hyperparams:`` on an entry (:func:`merge_overrides`), and simreal-only settings (``pretrain_encoder``,
``goal_perception``) live only there.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml
from stable_baselines3 import HerReplayBuffer
from stable_baselines3.common.vec_env import VecNormalize
from torch import nn

from simreal.agents.algos import ALGOS

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
PIXEL_OBS_MODES = ("pixels", "pixels_state")
SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf")
UNSUPPORTED_KEYS = ("callback", "vec_env_wrapper", "monitor_kwargs", "noise_type", "noise_std")
_NAMES: dict[str, Any] = {
    "HerReplayBuffer": HerReplayBuffer,
    "True": True,
    "False": False,
    "None": None,
}


@dataclass(frozen=True)
class LinearSchedule:
    """rl-zoo3's ``lin_<x>`` schedule: ``x`` times the remaining progress (1 -> 0)."""

    initial: float

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.initial


@dataclass(frozen=True)
class Hyperparams:
    """One resolved rl-zoo3 entry, split into what the env, the VecEnv and the algorithm need."""

    policy: str
    n_timesteps: int | None
    n_envs: int
    normalize_kwargs: dict[str, Any] | None
    frame_stack: int | None
    env_wrapper: Any
    env_kwargs: dict[str, Any]
    algo_kwargs: dict[str, Any]
    entry: dict[str, Any] = field(repr=False)
    pretrain_encoder: dict[str, int] | None = None  # simreal only: {frames, epochs} of goal_perception's pre-training
    goal_perception: dict[str, int] | None = None  # simreal only: {channels, layers} of GoalPerception's detectors
    # simreal only: {channels, calibrated}: LanePerception's regressor (calibrated=0, the default) or
    # CalibratedLanePerception's row detector lifted with the camera calibration (calibrated=1)
    lane_perception: dict[str, int] | None = None


def default_config_path(algo: str, env_kwargs: dict[str, Any] | None = None) -> Path:
    """``configs/<algo>.yml``, or ``configs/<algo>_pixels.yml`` when ``env_kwargs['obs_mode']`` has pixels."""
    pixels = (env_kwargs or {}).get("obs_mode") in PIXEL_OBS_MODES
    return CONFIG_DIR / f"{algo}{'_pixels' if pixels else ''}.yml"


def _literal(node: ast.AST, where: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        values = [_literal(v, where) for v in node.elts]
        return values if isinstance(node, ast.List) else tuple(values)
    if isinstance(node, ast.Dict):
        return {_literal(k, where): _literal(v, where) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_literal(node.operand, where)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: _literal(kw.value, where) for kw in node.keywords}
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, ast.Attribute) and ast.unparse(node.value) in ("nn", "th.nn", "torch.nn"):
        layer = getattr(nn, node.attr, None)
        if isinstance(layer, type):
            return layer
    raise ValueError(f"{where}: unsupported expression {ast.unparse(node)!r}")


def parse_python_literal(text: str, where: str) -> Any:
    """Parse rl-zoo3's Python-literal strings (``"dict(net_arch=[64, 64], activation_fn=nn.ReLU)"``)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{where}: not a Python literal: {text!r}") from exc
    return _literal(tree.body, where)


def _import(path: str) -> Any:
    module, _, name = path.rpartition(".")
    if not module:
        raise ValueError(f"env_wrapper: expected 'module.Class', got {path!r}")
    return getattr(importlib.import_module(module), name)


def wrap_env(env: gym.Env, spec: Any) -> gym.Env:
    """Apply rl-zoo3's ``env_wrapper`` value: a class path, ``{path: kwargs}``, or a list of those."""
    for item in spec if isinstance(spec, list) else [spec]:
        if isinstance(item, dict):
            ((path, kwargs),) = item.items()
            env = _import(path)(env, **(kwargs or {}))
        else:
            env = _import(item)(env)
    return env


def make_wrapper(spec: Any) -> Callable[[gym.Env], gym.Env] | None:
    """A one-argument wrapper function for SB3's ``make_vec_env`` (``None`` when there is no wrapper)."""
    if spec is None:
        return None
    return _EnvWrapper(spec)


@dataclass(frozen=True)
class _EnvWrapper:
    spec: Any

    def __call__(self, env: gym.Env) -> gym.Env:
        return wrap_env(env, self.spec)


def _normalize(value: Any, where: str) -> dict[str, Any] | None:
    if isinstance(value, str):
        value = parse_python_literal(value, where)
    if value is True:
        return {}
    if value is False or value is None:
        return None
    if isinstance(value, dict):
        return dict(value)
    raise ValueError(f"{where}: normalize must be a bool, a dict or a 'dict(...)' string, got {value!r}")


def _pretrain_settings(value: Any, where: str) -> dict[str, int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_python_literal(value, where)
    if not isinstance(value, dict) or set(value) != {"frames", "epochs"}:
        raise ValueError(f"{where}: expected dict(frames=N, epochs=E), got {value!r}")
    for key, (low, high) in {"frames": (64, 10**7), "epochs": (1, 1000)}.items():
        if not isinstance(value[key], int) or not low <= value[key] <= high:
            raise ValueError(f"{where}.{key} must be an int in [{low}, {high}], got {value[key]!r}")
    return {"frames": value["frames"], "epochs": value["epochs"]}


PERCEPTION_RANGES = {"channels": (4, 256), "layers": (1, 6), "calibrated": (0, 1)}


def _perception_settings(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_python_literal(value, where)
    if not isinstance(value, dict) or not set(value) <= set(keys):
        expected = ", ".join(f"{k}={k[0].upper()}" for k in keys)
        raise ValueError(f"{where}: expected dict({expected}) (all optional), got {value!r}")
    for key, (low, high) in PERCEPTION_RANGES.items():
        if key in value and (not isinstance(value[key], int) or not low <= value[key] <= high):
            raise ValueError(f"{where}.{key} must be an int in [{low}, {high}], got {value[key]!r}")
    return dict(value)


def read_yaml(path: Path, what: str) -> Any:
    """Parse the YAML file ``path``; a missing file or a syntax error raises ``ValueError`` naming ``what``, the
    file and (for syntax errors) ``FILE:LINE:COLUMN``."""
    if not path.is_file():
        raise ValueError(f"{what} {path} does not exist")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} {path} is not UTF-8 text: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or exc
        raise ValueError(f"{where}: not valid YAML: {problem}") from exc


def _read_entry(config_path: Path, env_id: str) -> dict[str, Any]:
    data = read_yaml(config_path, "config_path") or {}
    if not isinstance(data, dict):
        raise ValueError(f"config_path {config_path}: expected a mapping of env ids, got {type(data).__name__}")
    if env_id not in data:
        raise ValueError(f"config_path {config_path}: no entry for env id {env_id!r}; has {sorted(data)}")
    if not isinstance(data[env_id], dict):
        raise ValueError(f"config_path {config_path}[{env_id}]: expected a mapping of settings")
    return dict(data[env_id])


ZOO_KEYS = ("policy", "n_timesteps", "n_envs", "normalize", "frame_stack", "env_wrapper")  # rl-zoo3 reads these
SIMREAL_KEYS = {
    "pretrain_encoder": ("frames", "epochs"),
    "goal_perception": ("channels", "layers"),
    "lane_perception": ("channels", "calibrated"),
}
SET_BY_TRAIN = ("self", "env", "seed", "device", "tensorboard_log", "verbose", "_init_setup_model")


def _init_params(cls: Any, skip: tuple[str, ...] = ()) -> set[str]:
    """``cls.__init__``'s parameter names; an ``__init__`` taking ``**kwargs`` adds its base classes' names."""
    params: set[str] = set()
    for klass in cls.__mro__ if isinstance(cls, type) else ():
        if "__init__" not in vars(klass):
            continue
        signature = inspect.signature(klass.__init__).parameters
        params |= set(signature)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()):
            break
    return params - {"self", "args", "kwargs", *skip}


def _allowed_keys(algo: str, key: str | None, merged: dict[str, Any]) -> set[str]:
    """Keys an override may add where the base has none: top level (``key`` None) or inside ``key``'s mapping."""
    algo_cls = ALGOS.get(algo)
    if key is None:
        return {*ZOO_KEYS, *SIMREAL_KEYS, *_init_params(algo_cls, SET_BY_TRAIN)}
    if key == "policy_kwargs":
        policy = getattr(algo_cls, "policy_aliases", {}).get(merged.get("policy"))
        return _init_params(policy, ("observation_space", "action_space", "lr_schedule"))
    if key == "normalize":
        return _init_params(VecNormalize, ("venv", "training"))
    if key == "replay_buffer_kwargs":
        buffer = _NAMES.get(str(merged.get("replay_buffer_class")))
        return _init_params(buffer, ("buffer_size", "observation_space", "action_space", "env", "device", "n_envs"))
    return set(SIMREAL_KEYS.get(key, ()))


def to_python_literal(value: Any) -> str:
    """The inverse of :func:`parse_python_literal` (rl-zoo3's ``"dict(...)"`` strings), for merged entries."""
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            return "dict(" + ", ".join(f"{k}={to_python_literal(v)}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{to_python_literal(k)}: {to_python_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        items = [to_python_literal(v) for v in value]
        return f"[{', '.join(items)}]" if isinstance(value, list) else f"({', '.join(items)}{',' * (len(items) == 1)})"
    if isinstance(value, type):
        if getattr(nn, value.__name__, None) is value:
            return f"nn.{value.__name__}"
        if _NAMES.get(value.__name__) is value:
            return value.__name__
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    raise ValueError(f"cannot write {value!r} as an rl-zoo3 literal")


_DELETE = object()


def _merge(base: Any, value: Any, where: str, allowed: set[str]) -> Any:
    """RFC 7386 merge patch: a mapping merges into a mapping (also one written as a ``"dict(...)"`` string, which
    stays a string), ``null`` deletes, anything else replaces. A key neither in the base nor in ``allowed`` raises."""
    if value is None:
        return _DELETE
    if not isinstance(value, dict):
        return value
    as_string = isinstance(base, str) and base.strip().startswith("dict(")
    base_map = parse_python_literal(base, where) if as_string else base
    merged = dict(base_map) if isinstance(base_map, dict) else {}  # a scalar or list is replaced by the mapping
    for key, item in value.items():
        if key not in merged and key not in allowed:
            raise ValueError(f"{where}.{key}: unknown key; allowed: {sorted({*merged, *allowed})}")
        result = _merge(merged.get(key, _DELETE), item, f"{where}.{key}", set())
        if result is _DELETE:
            merged.pop(key, None)
        else:
            merged[key] = result
    return to_python_literal(merged) if as_string else merged


def merge_overrides(entry: dict[str, Any], overrides: dict[str, Any], algo: str) -> dict[str, Any]:
    """The rl-zoo3 ``entry`` with an experiment's ``hyperparams:`` merged on it (MuJoCo Playground's
    ``config_overrides``): see :func:`_merge`. Unknown keys raise ``ValueError`` naming ``hyperparams.<key>``;
    ``env_kwargs`` belong to the experiment, not to its overrides."""
    if not isinstance(overrides, dict):
        raise ValueError(f"hyperparams must be a mapping of settings, got {type(overrides).__name__}")
    if "env_kwargs" in overrides:
        raise ValueError("hyperparams.env_kwargs: set environment options in the experiment's env_kwargs")
    merged = dict(entry)
    if "policy" in overrides:  # the policy class decides which policy_kwargs exist
        merged["policy"] = overrides["policy"]
    allowed = _allowed_keys(algo, None, merged)
    for key, value in overrides.items():
        if key not in entry and key not in allowed:
            raise ValueError(f"hyperparams.{key}: unknown key; allowed: {sorted({*entry, *allowed} - {'env_kwargs'})}")
        result = _merge(entry.get(key, _DELETE), value, f"hyperparams.{key}", _allowed_keys(algo, key, merged))
        if result is _DELETE:
            merged.pop(key, None)
        else:
            merged[key] = result
    return merged


def load_hyperparams(
    algo: str,
    env_id: str,
    config_path: str | Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Hyperparams:
    """Read and resolve the rl-zoo3 entry for ``env_id``, with ``overrides`` merged on it (:func:`merge_overrides`);
    explicit ``env_kwargs`` override the file's."""
    path = Path(config_path) if config_path is not None else default_config_path(algo, env_kwargs)
    entry = _read_entry(path, env_id)
    if overrides:
        entry = merge_overrides(entry, overrides, algo)
    where = f"{path}[{env_id}]"
    bad = sorted(set(entry) & set(UNSUPPORTED_KEYS))
    if bad:
        raise ValueError(f"{where}: keys {bad} are not supported by simreal.agents (use rl_zoo3.train)")
    hp = dict(entry)
    merged_env_kwargs = {**dict(hp.pop("env_kwargs", None) or {}), **(env_kwargs or {})}
    entry = {**entry, "env_kwargs": merged_env_kwargs}
    if "policy" not in hp:
        raise ValueError(f"{where}: 'policy' is required")
    policy = hp.pop("policy")
    n_timesteps = hp.pop("n_timesteps", None)
    n_envs = int(hp.pop("n_envs", 1))
    normalize = _normalize(hp.pop("normalize", False), f"{where}.normalize")
    if normalize is not None and "gamma" in hp:
        normalize.setdefault("gamma", hp["gamma"])
    frame_stack = hp.pop("frame_stack", None)
    env_wrapper = hp.pop("env_wrapper", None)
    pretrain = _pretrain_settings(hp.pop("pretrain_encoder", None), f"{where}.pretrain_encoder")
    perception, lane = (
        _perception_settings(hp.pop(key, None), f"{where}.{key}", SIMREAL_KEYS[key])
        for key in ("goal_perception", "lane_perception")
    )
    if perception is not None and lane is not None:
        raise ValueError(f"{where}: goal_perception and lane_perception exclude each other (one perception module)")
    if (perception is None and lane is None) != (pretrain is None):
        raise ValueError(
            f"{where}: goal_perception or lane_perception and pretrain_encoder go together (the perception is "
            "pre-trained; a pre-trained encoder inside the policy is no longer supported)"
        )
    for key in ("policy_kwargs", "replay_buffer_class", "replay_buffer_kwargs"):
        if isinstance(hp.get(key), str):
            hp[key] = parse_python_literal(hp[key], f"{where}.{key}")
    for key in SCHEDULE_KEYS:
        value = hp.get(key)
        if isinstance(value, str) and value.startswith("lin_"):
            hp[key] = LinearSchedule(float(value[4:]))
    if isinstance(hp.get("train_freq"), list):
        hp["train_freq"] = tuple(hp["train_freq"])
    return Hyperparams(
        policy=policy,
        n_timesteps=None if n_timesteps is None else int(float(n_timesteps)),
        n_envs=n_envs,
        normalize_kwargs=normalize,
        frame_stack=None if frame_stack is None else int(frame_stack),
        env_wrapper=env_wrapper,
        env_kwargs=merged_env_kwargs,
        algo_kwargs=hp,
        entry=entry,
        pretrain_encoder=pretrain,
        goal_perception=perception,
        lane_perception=lane,
    )
