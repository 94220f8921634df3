"""One typed config per training run (CleanRL's ``Args``), parsed once at the CLI/YAML edge and passed whole.

``simreal train``, the policy matrix (one :class:`RunConfig` per training cell, varied with
``dataclasses.replace``) and evaluation of a finished run (:meth:`RunConfig.from_run_dir`, from its ``run.json``)
all hand a :class:`RunConfig` to :func:`~simreal.agents.train.train` and
:func:`~simreal.agents.policy_env.make_policy_env`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simreal.agents.algos import ALGOS
from simreal.agents.env_factory import VEC_ENV_TYPES
from simreal.agents.hyperparams import Hyperparams, load_hyperparams
from simreal.agents.results import RunDirError, load_run
from simreal.agents.run_files import HP_FILE
from simreal.envs.config import no_unknown_keys
from simreal.randomization.selection import Randomization, Spec, parse_randomization

__all__ = ["ALGOS", "EvalConfig", "RunConfig"]


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides one training run.

    ``randomization`` accepts every form of :func:`~simreal.randomization.selection.parse_randomization` and is
    stored parsed. Hyper-parameters come from ``config_path`` (default ``configs/<algo>[_pixels].yml``) with
    ``hyperparams_overrides`` merged on them; ``timesteps`` and ``n_envs`` override the file. ``eval_freq`` (env
    steps, 0 = off) sets both evaluation and checkpoint period; ``target_success`` stops training once an
    evaluation reaches that success rate.
    """

    env_id: str
    algo: str = "ppo"
    randomization: Randomization | None = None
    timesteps: int | None = None
    seed: int = 0
    out_dir: str = "runs/run"
    config_path: str | None = None
    hyperparams_overrides: Mapping[str, Any] = field(default_factory=dict)
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    n_envs: int | None = None
    vec_env: str = "dummy"
    eval_freq: int = 10_000
    eval_episodes: int = 10
    target_success: float | None = None
    method: str | None = None
    resume: bool = True
    tensorboard: bool = False
    progress_bar: bool = True
    checkpoint_replay_buffer: bool = True
    device: str = "cpu"

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "randomization", parse_randomization(self.randomization))
        set_(self, "out_dir", str(self.out_dir))
        set_(self, "config_path", None if self.config_path is None else str(self.config_path))
        for name in ("env_kwargs", "hyperparams_overrides"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise ValueError(f"{name} must be a mapping, got {type(value).__name__}")
            set_(self, name, dict(value))
        self._check()

    def _check(self) -> None:
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ValueError(f"env_id must be a registered env id, got {self.env_id!r}")
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {sorted(ALGOS)}, got {self.algo!r}")
        if isinstance(self.randomization, Spec):
            raise ValueError("randomization: a trained run records its randomization by name; save the spec to a file")
        if self.timesteps is not None and self.timesteps < 1:
            raise ValueError(f"timesteps must be >= 1, got {self.timesteps}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.n_envs is not None and self.n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {self.n_envs}")
        if self.vec_env not in VEC_ENV_TYPES:
            raise ValueError(f"vec_env must be one of {sorted(VEC_ENV_TYPES)}, got {self.vec_env!r}")
        if self.eval_freq < 0:
            raise ValueError(f"eval_freq must be >= 0 (0 disables evaluation), got {self.eval_freq}")
        if self.eval_episodes < 1:
            raise ValueError(f"eval_episodes must be >= 1, got {self.eval_episodes}")
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {self.device!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "run config") -> RunConfig:
        """Build from a parsed YAML/CLI mapping; unknown or missing keys raise ``ValueError`` naming ``where``."""
        no_unknown_keys(cls, data, where)
        if "env_id" not in data:
            raise ValueError(f"{where}: env_id is required")
        try:
            return cls(**data)
        except TypeError as exc:  # a value of the wrong type compared in _check
            raise ValueError(f"{where}: {exc}") from exc

    @classmethod
    def from_run_dir(cls, train_dir: str | Path) -> RunConfig:
        """The config of the finished run in ``train_dir`` (its ``run.json``), with the hyper-parameters it was
        trained with (its ``hyperparams.yml``); ``RunDirError`` when ``run.json`` holds a bad value."""
        meta = load_run(Path(train_dir))
        try:
            return cls(
                env_id=meta.env_id,
                algo=meta.algo,
                randomization=meta.randomization,
                timesteps=meta.timesteps,
                seed=meta.seed,
                out_dir=str(train_dir),
                config_path=str(Path(train_dir) / HP_FILE),
                env_kwargs=meta.env_kwargs,
                method=meta.method,
            )
        except ValueError as exc:
            raise RunDirError(f"{Path(train_dir) / 'run.json'}: {exc}") from exc

    @property
    def out(self) -> Path:
        """The run directory."""
        return Path(self.out_dir)

    def hyperparams(self) -> Hyperparams:
        """The resolved rl-zoo3 entry (file, overrides, then ``env_kwargs``)."""
        overrides = dict(self.hyperparams_overrides) or None
        return load_hyperparams(self.algo, self.env_id, self.config_path, dict(self.env_kwargs), overrides)


@dataclass(frozen=True)
class EvalConfig:
    """How a trained run is evaluated (``simreal evaluate``, each method x seed of a policy matrix).

    ``domains``: named domains, presets or spec files (``real`` = every reality member); every domain replays the
    same ``episodes`` episode seeds drawn from ``seed``. ``transfer``: a CycleGAN checkpoint put in front of the
    policy. ``sensitivity``: extra (randomization group, strength) tasks (see
    :func:`simreal.randomization.sweeps.group_spec`; ``("latency", k)``: the canonical scene at ``k`` steps of
    latency). ``gif_frames``: frames of the first episode per domain written as a GIF (0: none). ``envs``: episodes
    run at a time per domain (the policy acts on batches of that many observations: faster for CNN policies; the
    episodes are the same, the actions equal up to float rounding, see :mod:`simreal.agents.episode_queue`).
    ``calibrated_view``: the policy's frames re-projected from the episode's camera mount to the canonical one
    through the camera's calibration, after any translator (:class:`~simreal.transfer.view.CalibratedView`; driving).
    """

    domains: tuple[str, ...] = ("canonical", "test", "real")
    episodes: int = 50
    seed: int = 0
    transfer: str | None = None
    gif_frames: int = 40
    sensitivity: tuple[tuple[str, float], ...] = ()
    envs: int = 1
    calibrated_view: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.domains, str):
            raise ValueError(f"domains must be a sequence of domain names, got the string {self.domains!r}")
        object.__setattr__(self, "domains", tuple(self.domains))
        object.__setattr__(self, "sensitivity", tuple((str(a), float(s)) for a, s in self.sensitivity))
        if self.transfer is not None:
            object.__setattr__(self, "transfer", str(self.transfer))
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if self.gif_frames < 0:
            raise ValueError(f"gif_frames must be >= 0, got {self.gif_frames}")
        if isinstance(self.envs, bool) or not isinstance(self.envs, int) or self.envs < 1:
            raise ValueError(f"envs must be an int >= 1, got {self.envs!r}")
        if not isinstance(self.calibrated_view, bool):
            raise ValueError(f"calibrated_view must be true or false, got {self.calibrated_view!r}")
