"""Evaluate a trained run on several domains: per-episode returns, success and seeds -> ``results.json``.

Each domain is an independent seeded task (:class:`DomainTask`) run through a ``concurrent.futures`` executor
(:mod:`simreal.parallel`: spawned local processes by default, or Ray). Every domain replays the same episode seeds,
so domains are paired.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from simreal.agents.callbacks import MODEL, VECNORM
from simreal.agents.env_factory import randomization_hash, spec_hash
from simreal.agents.episode_queue import QueuedSeeds, SeedQueue, run_episodes
from simreal.agents.policy_env import make_policy_env
from simreal.agents.results import RESULTS_FILE, DomainResult, Results, RunDirError, load_run, save_results
from simreal.agents.run_config import ALGOS, EvalConfig, RunConfig
from simreal.agents.run_files import check_run_files, load_policy, uses_vecnormalize
from simreal.atomic import atomic_path
from simreal.parallel import LocalExecutor, Resources, make_executor, storage
from simreal.parallel.mirror import MirroredExecutor
from simreal.randomization import DOMAINS, PRESETS, env_family
from simreal.randomization.ablation import ablation_spec
from simreal.randomization.realities import SPEC_SUFFIXES, expand_domains
from simreal.randomization.selection import Domain, Preset, Randomization, Spec, SpecFile, parse_randomization
from simreal.randomization.sweeps import group_spec

GIF_FPS = 10


@dataclass(frozen=True)
class DomainTask:
    """One (run, domain) evaluation; picklable so it can run in any executor."""

    train_dir: str
    domain: str
    episodes: int
    seed: int
    transfer: str | None = None
    gif_path: str | None = None
    gif_frames: int = 40
    threads: int = 1
    randomization: str | None = None
    axis: str | None = None
    strength: float | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    without: str | None = None  # ablation: the factor group removed from ``randomization or domain``'s spec
    envs: int = 1  # episodes run at a time (the policy acts on a batch of this many observations)
    calibrated_view: bool = False  # frames re-projected to the canonical camera mount (after the translator)

    @property
    def resources(self) -> Resources:
        """What the task needs on a worker (read by the Ray executor)."""
        return Resources(cpus=self.threads)


def episode_seeds(seed: int, episodes: int) -> list[int]:
    """The episode reset seeds used on every domain for evaluation seed ``seed``."""
    return [int(s) for s in np.random.default_rng(seed).integers(0, 2**31 - 1, size=episodes)]


def _load_policy(train_dir: Path, algo: str) -> BaseAlgorithm:
    return load_policy(train_dir / MODEL, ALGOS[algo], device="cpu")


def family_of(env_id: str) -> str:
    """The randomization family (``arm``/``driving``) of ``env_id`` (``ValueError`` for an env outside simreal)."""
    probe = gym.make(env_id)
    try:
        return env_family(probe)
    finally:
        probe.close()


@dataclass
class _Raw:
    """Evaluation's transform of the raw env: remembers it (GIF frames, spec hash), puts the CycleGAN translator
    of ``task.transfer`` in front of the policy, then, with ``task.calibrated_view``, the re-projection to the
    canonical camera mount, and resets it with the episode seeds of ``queue``."""

    task: DomainTask
    env_id: str
    obs_mode: str
    queue: SeedQueue
    raw: list[gym.Env] = field(default_factory=list)

    def __call__(self, env: gym.Env) -> gym.Env:
        self.raw.append(env)  # outside the translator: its guard's own resets must not take episode seeds
        env = self._translated(env)
        if self.task.calibrated_view:
            from simreal.transfer.view import CalibratedView

            env = CalibratedView(env)
        return QueuedSeeds(env, self.queue, len(self.raw) - 1)

    def _translated(self, env: gym.Env) -> gym.Env:
        if self.task.transfer is None:
            return env
        try:
            from simreal.transfer.wrapper import CycleGANObservation
        except ImportError as exc:
            raise ValueError(f"transfer needs simreal.transfer.wrapper.CycleGANObservation: {exc}") from exc
        # the guard first checks on 32 resets that the task object survives translation; warns loudly if not.
        # Once per cell: its resets are seeded (0..31), so every env of the cell would repeat the same check
        transfer, domain, obs_mode = self.task.transfer, self.task.domain, self.obs_mode
        guard = "warn" if len(self.raw) == 1 else None
        try:
            return CycleGANObservation(env, transfer, direction="real2sim", guard=guard, domain=domain)
        except ValueError as exc:
            raise ValueError(f"transfer: {transfer} cannot translate {self.env_id} ({obs_mode=}): {exc}") from exc


def _build_env(task: DomainTask, train_dir: Path, queue: SeedQueue) -> tuple[VecEnv, gym.Env]:
    meta = load_run(train_dir)
    hp = check_run_files(train_dir, meta)
    kwargs = {**hp.env_kwargs, **task.env_kwargs}
    if task.gif_frames > 0:
        kwargs.setdefault("render_mode", "rgb_array")
    randomization: Randomization | None
    if task.axis is not None:
        randomization = Spec(group_spec(family_of(meta.env_id), task.axis, float(task.strength or 0.0)))
    elif task.without is not None:
        randomization = Spec(ablation_spec(task.randomization or task.domain, task.without, family_of(meta.env_id)))
    else:
        randomization = parse_randomization(task.randomization or task.domain, "domain")
    run = replace(RunConfig.from_run_dir(train_dir), env_kwargs=kwargs)
    raw = _Raw(task, meta.env_id, kwargs.get("obs_mode", "state"), queue)
    stats = train_dir / VECNORM if uses_vecnormalize(meta, hp) else None
    envs = len(queue.episode)
    venv = make_policy_env(run, randomization, envs, training=False, seed=task.seed, stats=stats, transform=raw)
    return venv, raw.raw[0]


def _write_gif(path: str, frames: list[np.ndarray]) -> None:
    with atomic_path(path, suffix=".gif") as tmp:
        iio.imwrite(tmp, np.stack(frames), extension=".gif", duration=1000 // GIF_FPS, loop=0)


def run_domain_task(task: DomainTask) -> DomainResult:
    """Roll out the deterministic policy for ``task.episodes`` seeded episodes on one domain, ``task.envs`` at a
    time (:mod:`simreal.agents.episode_queue`)."""
    torch.set_num_threads(task.threads)
    train_dir = Path(task.train_dir)
    meta = load_run(train_dir)
    model = _load_policy(train_dir, meta.algo)
    seeds = episode_seeds(task.seed, task.episodes)
    queue = SeedQueue(seeds, min(task.envs, len(seeds)))
    venv, base = _build_env(task, train_dir, queue)
    frames: list[np.ndarray] = []

    def gif_frame() -> None:
        if queue.episode[0] == 0 and len(frames) < task.gif_frames:  # the first episode runs in the first env
            frames.append(np.asarray(base.render()))

    def act(obs: Any) -> Any:
        return model.predict(obs, deterministic=True)[0]

    try:
        returns, successes, lengths = zip(*run_episodes(venv, queue, act, gif_frame), strict=True)
        fallback = randomization_hash(meta.env_id, task.randomization or task.domain, meta.env_kwargs)
        digest = spec_hash(base, fallback)
    finally:
        venv.close()
    if task.gif_path is not None and frames:
        _write_gif(task.gif_path, frames)
    return DomainResult(
        domain=task.domain,
        returns=tuple(returns),
        successes=tuple(successes),
        lengths=tuple(lengths),
        episode_seeds=tuple(seeds),
        spec_hash=digest,
        transfer=task.transfer,
        gif=None if task.gif_path is None or not frames else Path(task.gif_path).name,
        axis=task.axis,
        strength=task.strength,
        without=task.without,
    )


def default_executor(n_tasks: int, workers: int | None = None, kind: str = "local") -> Executor:
    """Spawned local processes that die with this one (safe after any GL context or torch threads exist in the
    parent), or ``kind="ray"`` (see :mod:`simreal.parallel`)."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    n = workers or min(n_tasks, os.cpu_count() or 1)
    return LocalExecutor(n) if kind == "local" else make_executor(kind, workers, n_tasks)


def run_tasks(
    tasks: Sequence[DomainTask], executor: str | Executor | None = None, workers: int | None = None
) -> list[DomainResult]:
    """Run domain tasks through ``executor`` (an ``Executor``, or ``local``/``ray`` for a new one) and return
    results in order."""
    if isinstance(executor, Executor):
        return list(executor.map(run_domain_task, tasks))
    with default_executor(len(tasks), workers, executor or "local") as pool:
        return list(pool.map(run_domain_task, tasks))


def _check(domains: Sequence[str]) -> None:
    if not domains:
        raise ValueError("domains must name at least one domain")
    if len(set(domains)) != len(domains):
        raise ValueError(f"domains must be unique, got {list(domains)}")
    check_domains(domains)


def check_domains(domains: Sequence[str], option: str = "domains") -> None:
    """Each domain must be a named domain, a preset or an existing YAML/JSON spec file (``option`` names the
    argument in the error)."""
    for domain in domains:
        selection = _selection(domain)
        is_spec_file = isinstance(selection, SpecFile) and Path(domain).is_file()
        if not isinstance(selection, (Domain, Preset)) and not is_spec_file:
            raise ValueError(
                f"{option}: {domain!r} is not a domain ({', '.join(DOMAINS)}, real:<index>, real:<spec file>), "
                f"a preset ({', '.join(PRESETS)}) or an existing {'/'.join(SPEC_SUFFIXES)} spec file"
            )


def _selection(domain: str) -> Randomization | None:
    """``domain`` parsed, or None when it is not a valid selection."""
    try:
        return parse_randomization(domain, "domain")
    except ValueError:
        return None


def gif_name(domain: str) -> str:
    """File name of a domain's GIF inside the output folder; a spec path becomes ``<stem>-<hash of path>.gif``."""
    if not re.search(r"[/\\]", domain) and isinstance(_selection(domain), (Domain, Preset)):
        return f"{domain.replace(':', '_')}.gif"
    digest = hashlib.sha256(domain.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', Path(domain).stem)}-{digest}.gif"


def domain_tasks(run_dir: str | Path, config: EvalConfig, out_dir: str | Path | None = None) -> list[DomainTask]:
    """The independent per-domain tasks of one evaluation (GIFs go to ``out_dir``, default ``run_dir``).

    Each ``config.sensitivity`` entry adds one task: the canonical scene plus that randomization group of the
    training preset with its ranges scaled by strength (see :func:`simreal.randomization.sweeps.group_spec`);
    ``("latency", k)`` is the canonical scene with ``k`` control steps of actuation latency. ``real`` stands for
    every member of the reality family (``real:0`` ...).
    """
    domains = expand_domains(config.domains)
    _check(domains)
    train_dir = Path(run_dir)
    check_run_files(train_dir, load_run(train_dir))
    transfer, episodes, seed, gif_frames = config.transfer, config.episodes, config.seed, config.gif_frames
    if transfer is not None and not Path(transfer).is_file():
        raise ValueError(f"transfer: checkpoint {transfer} does not exist")
    out = Path(out_dir) if out_dir is not None else train_dir
    sweeps = [
        DomainTask(
            train_dir=str(train_dir),
            domain=f"{axis}@{strength:g}",
            episodes=episodes,
            seed=seed,
            transfer=transfer,
            gif_frames=0,
            axis=axis,
            strength=float(strength),
            envs=config.envs,
            calibrated_view=config.calibrated_view,
        )
        for axis, strength in config.sensitivity
    ]
    return sweeps + [
        DomainTask(
            train_dir=str(train_dir),
            domain=d,
            episodes=episodes,
            seed=seed,
            transfer=transfer,
            gif_path=str(out / gif_name(d)) if gif_frames else None,
            gif_frames=gif_frames,
            envs=config.envs,
            calibrated_view=config.calibrated_view,
        )
        for d in domains
    ]


def write_results(
    run_dir: str | Path,
    results: Sequence[DomainResult],
    out_dir: str | Path | None = None,
    method: str | None = None,
) -> Path:
    """Write ``results.json`` to ``out_dir`` (default ``run_dir``) for the policy trained in ``run_dir``."""
    train_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else train_dir
    meta = load_run(train_dir)
    transfer = any(r.transfer for r in results)
    label = method or (f"{meta.method}+CycleGAN" if transfer else meta.method)
    run = replace(meta, method=label, train_dir=os.path.relpath(train_dir, out))
    return save_results(out, Results(run=run, domains=tuple(results)))


def evaluate(
    run_dir: str | Path,
    config: EvalConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    method: str | None = None,
    executor: str | Executor | None = None,
    workers: int | None = None,
) -> Path | str:
    """Evaluate ``run_dir``'s policy as ``config`` says (default :class:`EvalConfig`); return the path of the
    written ``results.json`` (in ``out_dir``, default ``run_dir``; ``method`` labels the results, default the run's).

    ``executor``: ``local`` (default; ``workers`` processes), ``ray`` or an ``Executor`` instance. ``run_dir`` may
    be an fsspec URL; results and GIFs then go to that URL (see :func:`_evaluate_url`)."""
    config = config if config is not None else EvalConfig()
    if storage.is_url(run_dir) or (out_dir is not None and storage.is_url(out_dir)):
        if out_dir is not None:
            raise ValueError("out_dir: results of a run stored under a URL go into that URL (leave out_dir unset)")
        return _evaluate_url(str(run_dir), config, method, executor, workers)
    out = Path(out_dir) if out_dir is not None else Path(run_dir)
    tasks = domain_tasks(run_dir, config, out)
    out.mkdir(parents=True, exist_ok=True)  # only for a valid run: a mistyped run dir must not appear empty
    return write_results(run_dir, run_tasks(tasks, executor, workers), out, method)


def _evaluate_url(
    run_url: str, config: EvalConfig, method: str | None, executor: str | Executor | None, workers: int | None
) -> str:
    """Evaluate a run stored under an fsspec URL: the driver reads a local copy, each domain task copies the run
    to its worker's disk and uploads its GIF (:class:`~simreal.parallel.mirror.MirroredExecutor`), and
    ``results.json`` is written back to the run's URL."""
    with tempfile.TemporaryDirectory(prefix="simreal-eval-") as tmp:
        local = Path(tmp, "run")
        if not storage.download_tree(run_url, local):
            raise RunDirError(f"run directory {run_url} does not exist")
        owned = not isinstance(executor, Executor)
        pool = default_executor(len(config.domains), workers, executor or "local") if owned else executor
        try:
            mirrored = MirroredExecutor(pool, local, run_url)
            path = evaluate(local, config, method=method, executor=mirrored, workers=workers)
        finally:
            if owned:
                pool.shutdown()
        storage.write_bytes(storage.join(run_url, RESULTS_FILE), Path(path).read_bytes())
    return storage.join(run_url, RESULTS_FILE)
