"""The Tobin et al. (2017) domain-randomization test on ``simreal/Push-v0``.

Two pipelines estimate the block's table (x, y) from one reset frame of the ``front`` camera, each trained once on
the randomized ``train`` domain (plus a quarter of clean frames) and once on ``canonical`` frames:

- ``regression`` (Tobin et al.'s protocol): a :class:`~simreal.perception.localization.LocalizationCNN` maps the image
  straight to table coordinates, knowing nothing of the camera;
- ``detector``: a :class:`~simreal.perception.detector.PointDetector` finds the block centre's pixel and the frame's
  calibrated camera (intrinsics and extrinsics, as a real camera's calibration gives them) lifts it to the table.

All are evaluated on fresh frames of every domain (default: ``canonical``, ``test`` and the reality family's members
``real:0`` .. ``real:4``; any named domain or a user's spec file can be given); results (median, p90, the fraction of
frames more than 5 cm off, and the detector's "not found" rate, per domain and worst over the reality proxies) go
to ``results.json`` and ``errors.png``. Models are saved with ``models.json`` (files, thresholds) and
:func:`evaluate_saved_models` evaluates them on new domains without retraining.

Gross failures (the detector picking another object) are what a deployed localizer cannot afford, so the detectors
train against hard negatives: the ``train`` preset's clutter includes boxes (the target's shape) of any colour (the
target's colour among them) crowded around the block's range, and training images get pasted rectangles of the
block's own colour and occluders (:func:`~simreal.perception.detector.paste_hard_negatives`). Each detector also
scores its confidence (:func:`~simreal.perception.detector.heatmap_confidence`) and answers "not found" below a
threshold calibrated on its own training domain. The held-out domains move the camera (position, orientation and a
field of view outside the training range), so the results also hold ``nominal_camera_floor``: the error of a
*perfect* detector read through the nominal camera, which bounds what camera-agnostic regression can do without
recovering the camera pose from the scene.

Why ``front``: it is the envs' default pixel camera (what pixel policies and the transfer module see), and it faces
the arm from beyond the block's range, so the arm never hides the block at reset; from ``top`` the hovering gripper
occludes the block in about 8% of resets (measured with the segmentation labels).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simreal.atomic import atomic_write, atomic_write_bytes
from simreal.data.episodes import make_data_env, stream_frames
from simreal.data.eval_domains import check_domains, domain_seed, rollout_spec
from simreal.envs.arm.scene import BLOCK_HALF_SIZE
from simreal.envs.camera import camera_model
from simreal.envs.config import check_int_range
from simreal.experiments.localization_report import TARGETS, format_table, over_proxies, targets_met
from simreal.parallel import map_jobs
from simreal.perception.detector import PointDetector, calibrate_threshold, detect, train_point_detector
from simreal.perception.localization import (
    LocalizationCNN,
    load_model,
    localization_errors_cm,
    predict_positions,
    save_model,
    train_localization,
)
from simreal.perception.triangulation import pixels_to_plane
from simreal.randomization.realities import reality_domains

__all__ = [
    "CAMERA",
    "ENV_ID",
    "EVAL_DOMAINS",
    "MODELS_FILE",
    "PIPELINES",
    "TARGET_CM",
    "LocalizationFrames",
    "evaluate_saved_models",
    "localization_frames",
    "nominal_camera_floor",
    "run_localization_experiment",
]

ENV_ID = "simreal/Push-v0"
CAMERA = "front"
TRAIN_DOMAINS = {"randomized": "train", "canonical": "canonical"}
EVAL_DOMAINS = ("canonical", "test", *reality_domains())  # the simulator, then every reality proxy
PIPELINES = ("regression", "detector")
TARGET_CM = 1.5
CANONICAL_FRACTION = 0.25  # clean frames in the randomized model's training set
HARD_NEGATIVES = 0.5  # fraction of detector training images that get pasted hard negatives
DEFECTS = 0.5  # fraction of detector training images that get sensor and lighting defects
MISS_RATE = 0.02  # the "not found" threshold gives up this fraction of correct detections in the training domain
TOLERANCE_PX = 2.0  # a validation detection this close to the label counts as correct
N_VALIDATION = 400  # frames of a detector's training domain that calibrate its threshold
MODELS_FILE = "models.json"
_CHUNK = 250  # frames per worker task


@dataclass(frozen=True)
class LocalizationFrames:
    """Reset frames of the Push block with their labels and the camera that took each one."""

    images: np.ndarray  # uint8 (N, S, S, 3)
    positions: np.ndarray  # (N, 2) the block's table (x, y), metres
    pixels: np.ndarray  # (N, 2) the block centre's pixel coordinates (u, v) (see simreal.envs.camera)
    intrinsics: np.ndarray  # (N, 3, 3)
    world_to_camera: np.ndarray  # (N, 4, 4)

    @classmethod
    def concatenate(cls, parts: Sequence[LocalizationFrames]) -> LocalizationFrames:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))

    def table_positions(self, pixels: np.ndarray) -> np.ndarray:
        """Table (x, y) of block-centre ``pixels`` (N, 2) seen through each frame's camera (NaN for a pixel whose
        ray misses the table plane, e.g. above the horizon)."""
        return pixels_to_plane(pixels, self.intrinsics, self.world_to_camera, BLOCK_HALF_SIZE, strict=False)[:, :2]


def _frames_chunk(
    domain: str, count: int, image_size: int, seed_sequence: np.random.SeedSequence
) -> LocalizationFrames:
    spec = rollout_spec(ENV_ID, domain, CAMERA, image_size)
    env = make_data_env(spec)
    images = np.empty((count, image_size, image_size, 3), dtype=np.uint8)
    positions, pixels = np.empty((count, 2)), np.empty((count, 2))
    intrinsics, world_to_camera = np.empty((count, 3, 3)), np.empty((count, 4, 4))
    base: Any = env.unwrapped
    try:
        frames = stream_frames(env, spec, seed_sequence)
        for i in range(count):
            images[i] = next(frames).rgb
            block = base.data.body("block").xpos
            positions[i] = base.task_state()["block_position"][:2]
            camera = camera_model(base.model, base.data, CAMERA, image_size, image_size)
            pixels[i] = camera.project(block[None])[0][0]
            intrinsics[i], world_to_camera[i] = camera.intrinsics, camera.world_to_camera
    finally:
        env.close()
    return LocalizationFrames(images, positions, pixels, intrinsics, world_to_camera)


def localization_frames(
    domain: str,
    n: int,
    image_size: int,
    seed_sequence: np.random.SeedSequence,
    workers: int = 0,
    executor: str | Executor = "local",
) -> LocalizationFrames:
    """``n`` labelled reset frames of the Push block in ``domain`` (see :class:`LocalizationFrames`).

    Chunks of frames are seeded by ``seed_sequence.spawn``, so the result depends neither on ``workers``
    (0 = this process; otherwise spawned processes) nor on ``executor`` (``local``, ``ray`` or an ``Executor``;
    see :mod:`simreal.parallel`).
    """
    counts = [min(_CHUNK, n - start) for start in range(0, n, _CHUNK)]
    seeds = seed_sequence.spawn(len(counts))
    jobs = [(domain, count, image_size, child) for count, child in zip(counts, seeds, strict=True)]
    parts = map_jobs(_frames_chunk, jobs, executor, workers)
    return LocalizationFrames.concatenate(parts)


def _reporter(name: str, epochs: int) -> Callable[[int, float], None]:
    def report(epoch: int, loss: float) -> None:
        print(f"[{name}] epoch {epoch + 1}/{epochs} loss {loss:.4f}", flush=True)

    return report


def _plot(errors: dict[str, dict[str, dict[str, np.ndarray]]], train_domains: dict[str, str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    pipelines = list(errors)
    domains = list(next(iter(next(iter(errors.values())).values())))
    rows, columns = len(pipelines), len(domains)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), sharey=True, squeeze=False)
    for row, pipeline in zip(axes, pipelines, strict=True):
        for axis, domain in zip(row, domains, strict=True):
            for name, per_domain in errors[pipeline].items():
                values = np.sort(per_domain[domain])
                axis.plot(values, np.linspace(0, 1, len(values)), label=f"trained on {train_domains[name]}")
            axis.axvline(TARGETS["p90_cm"], color="grey", linestyle="--", linewidth=1)
            axis.axhline(0.9, color="grey", linestyle=":", linewidth=1)
            axis.set(title=f"{pipeline} | {domain}", xlabel="error (cm)", xscale="log")
            axis.grid(alpha=0.3)
        row[0].set_ylabel("fraction of frames")
    axes[0][0].legend(loc="lower right", fontsize=7)
    figure.suptitle("Push block localization from one 'front' image: error CDF per domain (dashed: 3 cm)")
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    plt.close(figure)


def _train(
    pipeline: str, frames: LocalizationFrames, epochs: int, seed: int, augment: bool, progress_name: str | None
) -> Any:
    report = _reporter(progress_name, epochs) if progress_name else None
    if pipeline == "regression":
        return train_localization(frames.images, frames.positions, epochs, seed, augment=augment, on_epoch=report)
    return train_point_detector(
        frames.images, frames.pixels, epochs, seed, augment=augment, on_epoch=report,
        hard_negatives=HARD_NEGATIVES if augment else 0.0, defects=DEFECTS if augment else 0.0,
    )  # fmt: skip


def _predict(
    pipeline: str, model: Any, entry: dict[str, Any], frames: LocalizationFrames
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Table positions, the "found" verdicts (detector only) and how many detections missed the table (those are
    counted at ``entry["fallback"]``, the training mean, and as not found)."""
    if pipeline == "regression":
        return predict_positions(model, frames.images), None, 0
    pixels, confidence = detect(model, frames.images)
    positions = frames.table_positions(pixels)
    missed = np.isnan(positions).any(axis=1)
    positions[missed] = entry["fallback"]
    return positions, (confidence >= entry["threshold"]) & ~missed, int(missed.sum())


def _calibrate(model: PointDetector, frames: LocalizationFrames) -> float:
    pixels, confidence = detect(model, frames.images)
    return calibrate_threshold(confidence, np.linalg.norm(pixels - frames.pixels, axis=1), TOLERANCE_PX, MISS_RATE)


def nominal_camera_floor(frames: LocalizationFrames, nominal: LocalizationFrames) -> dict[str, float]:
    """Errors of a perfect block detector whose pixels are read through ``nominal``'s first camera instead of
    each frame's own: what a camera-agnostic estimator loses to the camera shift alone."""
    n = len(frames.pixels)
    lifted = pixels_to_plane(
        frames.pixels,
        np.repeat(nominal.intrinsics[:1], n, axis=0),
        np.repeat(nominal.world_to_camera[:1], n, axis=0),
        BLOCK_HALF_SIZE,
    )
    return localization_errors_cm(lifted[:, :2], frames.positions)


def _evaluate(
    models: dict[str, dict[str, tuple[Any, dict[str, Any]]]], evaluation: dict[str, LocalizationFrames]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, dict[str, np.ndarray]]]]:
    """Every model (pipeline -> name -> (model, manifest entry)) on every domain's frames: results and errors."""
    results: dict[str, dict[str, Any]] = {p: {} for p in models}
    errors: dict[str, dict[str, dict[str, np.ndarray]]] = {p: {} for p in models}
    for pipeline, named in models.items():
        for name, (model, entry) in named.items():
            per_domain, errors[pipeline][name] = {}, {}
            for domain, frames in evaluation.items():
                predictions, found, missed = _predict(pipeline, model, entry, frames)
                errors[pipeline][name][domain] = 100.0 * np.linalg.norm(predictions - frames.positions, axis=1)
                per_domain[domain] = {
                    **localization_errors_cm(predictions, frames.positions, found),
                    "missed_table": missed,
                }
            results[pipeline][name] = {
                "train_domain": entry["train_domain"],
                "model": entry["file"],
                "eval": per_domain,
                "reality_proxies": over_proxies(per_domain),
                "targets_met": targets_met(per_domain),
            }
    return results, errors


def _evaluation_frames(
    domains: Sequence[str], n_eval: int, image_size: int, seed: int, workers: int, executor: str | Executor
) -> dict[str, LocalizationFrames]:
    return {d: localization_frames(d, n_eval, image_size, domain_seed(seed, d), workers, executor) for d in domains}


def _finish(
    out: Path,
    summary: dict[str, Any],
    models: dict[str, dict[str, tuple[Any, dict[str, Any]]]],
    evaluation: dict[str, LocalizationFrames],
    filename: str,
) -> dict[str, Any]:
    pipelines, errors = _evaluate(models, evaluation)
    summary["pipelines"] = pipelines
    if "canonical" in evaluation:
        canonical = evaluation["canonical"]
        summary["nominal_camera_floor"] = {d: nominal_camera_floor(f, canonical) for d, f in evaluation.items()}
    detector = pipelines.get("detector", {}).get("randomized")
    summary["target"] = {
        "per_reality_proxy": TARGETS,
        "met_every_proxy": bool(detector and detector["targets_met"] and all(detector["targets_met"].values())),
        "tobin_real_median_cm_max": TARGET_CM,
    }
    summary["table"] = format_table(
        {f"{p} trained on {e['train_domain']}": e["eval"] for p in pipelines for e in pipelines[p].values()}
    )
    atomic_write_bytes(out / f"{filename}.json", (json.dumps(summary, indent=2) + "\n").encode())
    train_domains = {name: e["train_domain"] for p in pipelines for name, e in pipelines[p].items()}
    _plot(errors, train_domains, out / f"{filename.replace('results', 'errors')}.png")
    return summary


def _resumable(out: Path, training: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Entries of an earlier run's ``models.json`` in ``out`` trained with the same settings (to resume)."""
    path = out / MODELS_FILE
    if not path.is_file():
        return {}
    manifest = json.loads(path.read_text())
    if manifest.get("training") != training:
        return {}
    return {
        p: {n: e for n, e in named.items() if (out / e["file"]).is_file()} for p, named in manifest["models"].items()
    }


def run_localization_experiment(
    out_dir: str | os.PathLike[str],
    n_train: int,
    n_eval: int,
    epochs: int,
    seed: int,
    image_size: int = 64,
    workers: int = 0,
    progress: bool = False,
    augment: bool = True,
    canonical_fraction: float = CANONICAL_FRACTION,
    detector_epochs: int = 8,
    executor: str | Executor = "local",
    domains: Sequence[str] = EVAL_DOMAINS,
    pipelines: Sequence[str] = PIPELINES,
) -> dict[str, Any]:
    """Train ``pipelines`` (default both) with and without randomization, save them (``models.json`` + one ``.pt``
    each), evaluate on ``domains`` (names or spec files, see :mod:`simreal.data.eval_domains`); write
    ``results.json`` and ``errors.png``. A run resumes from the models an earlier run with the same training
    settings saved in ``out_dir``.

    Every model of a pipeline gets the same budget (``epochs`` for regression, ``detector_epochs`` for the
    detector) and the same image-space augmentation (``augment``, see
    :func:`~simreal.perception.localization.augment_appearance`; detectors also get ``HARD_NEGATIVES`` pasted
    rectangles, :func:`~simreal.perception.detector.paste_hard_negatives`, and ``DEFECTS`` of them dim, flat light and
    dead pixels, :func:`~simreal.perception.detector.sensor_defects`), so they differ only in the scene
    randomization. The randomized models' ``n_train`` frames include ``canonical_fraction`` clean ones (a
    curriculum: measured, from only randomized frames the regression net often sat at the mean prediction for the
    whole budget). Each detector's "not found" threshold is calibrated on ``N_VALIDATION`` fresh frames of its own
    training domain (:func:`~simreal.perception.detector.calibrate_threshold`, ``MISS_RATE``); no evaluation
    domain is used for it.
    """
    if not 0.0 <= canonical_fraction < 1.0:
        raise ValueError(f"canonical_fraction must be in [0, 1), got {canonical_fraction}")
    check_int_range("n_train", n_train, 8, 10**7)
    check_int_range("n_eval", n_eval, 2, 10**7)
    check_int_range("epochs", epochs, 1, 10_000)
    check_int_range("detector_epochs", detector_epochs, 1, 10_000)
    check_int_range("seed", seed, 0, 2**32 - 1)
    check_int_range("workers", workers, 0, 256)
    domains = check_domains(domains)
    if not pipelines or set(pipelines) - set(PIPELINES):
        raise ValueError(f"pipelines: choose from {list(PIPELINES)}, got {list(pipelines)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = np.random.SeedSequence(seed)
    train_seeds = dict(zip(TRAIN_DOMAINS, root.spawn(len(TRAIN_DOMAINS)), strict=True))
    (mix_seed,) = root.spawn(1)
    timings: dict[str, float] = {}
    begun = started = time.perf_counter()
    evaluation = _evaluation_frames(domains, n_eval, image_size, seed, workers, executor)
    timings["eval_frames_s"] = time.perf_counter() - started
    budgets = {"regression": epochs, "detector": detector_epochs}
    training = {
        "n_train": n_train, "epochs": epochs, "detector_epochs": detector_epochs, "seed": seed,
        "image_size": image_size, "augment": augment, "canonical_fraction": canonical_fraction,
        "hard_negatives": HARD_NEGATIVES if augment else 0.0, "defects": DEFECTS if augment else 0.0,
        "miss_rate": MISS_RATE,
    }  # fmt: skip
    done = _resumable(out, training)
    models: dict[str, dict[str, tuple[Any, dict[str, Any]]]] = {p: {} for p in pipelines}
    saved = {p: dict(done.get(p, {})) for p in pipelines}  # what models.json lists, kept across a resume
    classes = {"regression": LocalizationCNN, "detector": PointDetector}
    for name, domain in TRAIN_DOMAINS.items():
        todo = [p for p in pipelines if name not in done.get(p, {})]
        for pipeline in set(pipelines) - set(todo):
            entry = done[pipeline][name]
            models[pipeline][name] = (load_model(out / entry["file"], classes[pipeline]), entry)
        if not todo:
            continue
        started = time.perf_counter()
        n_clean = round(canonical_fraction * n_train) if domain != "canonical" else 0
        frames = localization_frames(domain, n_train - n_clean, image_size, train_seeds[name], workers, executor)
        if n_clean:
            clean = localization_frames("canonical", n_clean, image_size, mix_seed, workers, executor)
            frames = LocalizationFrames.concatenate([frames, clean])
        validation = localization_frames(
            domain, min(N_VALIDATION, n_eval), image_size, domain_seed(seed, f"validation:{domain}"), workers, executor
        )
        timings[f"{name}_frames_s"] = time.perf_counter() - started
        for pipeline in todo:
            started = time.perf_counter()
            label = f"{pipeline}/{name}" if progress else None
            model = _train(pipeline, frames, budgets[pipeline], seed, augment, label)
            timings[f"{pipeline}_{name}_train_s"] = time.perf_counter() - started
            entry: dict[str, Any] = {
                "file": f"{pipeline}_{name}.pt",
                "train_domain": domain,
                "fallback": frames.positions.mean(axis=0).tolist(),
                "train_s": round(timings[f"{pipeline}_{name}_train_s"], 2),
            }
            if pipeline == "detector":
                entry["threshold"] = _calibrate(model, validation)
            save_model(model, out / entry["file"])
            models[pipeline][name] = (model, entry)
            saved[pipeline][name] = entry
            manifest = {
                "env_id": ENV_ID,
                "camera": CAMERA,
                "image_size": image_size,
                "training": training,
                "models": saved,
            }
            atomic_write_bytes(out / MODELS_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    started = time.perf_counter()
    summary: dict[str, Any] = {
        "env_id": ENV_ID,
        "camera": CAMERA,
        "settings": {
            "n_train": n_train,
            "n_eval": n_eval,
            "epochs": epochs,
            "detector_epochs": detector_epochs,
            "seed": seed,
            "image_size": image_size,
            "augment": augment,
            "canonical_fraction": canonical_fraction,
            "hard_negatives": HARD_NEGATIVES if augment else 0.0,
            "defects": DEFECTS if augment else 0.0,
            "miss_rate": MISS_RATE,
            "domains": list(domains),
        },
        "timings_s": timings,
    }
    summary = _finish(out, summary, models, evaluation, "results")
    timings["evaluation_s"] = time.perf_counter() - started
    timings["total_s"] = time.perf_counter() - begun
    summary["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    atomic_write_bytes(out / "results.json", (json.dumps(summary, indent=2) + "\n").encode())
    return summary


def evaluate_saved_models(
    models_dir: str | os.PathLike[str],
    domains: Sequence[str],
    n_eval: int,
    seed: int,
    out_dir: str | os.PathLike[str] | None = None,
    workers: int = 0,
    executor: str | Executor = "local",
) -> dict[str, Any]:
    """Evaluate the models saved by :func:`run_localization_experiment` in ``models_dir`` on ``domains`` without
    retraining; writes ``eval_results.json`` and ``eval_errors.png`` to ``out_dir`` (default ``models_dir``).
    With the experiment's ``seed`` and ``n_eval``, a domain gets the same frames (and numbers) as in the run."""
    check_int_range("n_eval", n_eval, 2, 10**7)
    check_int_range("seed", seed, 0, 2**32 - 1)
    domains = check_domains(domains)
    folder = Path(models_dir)
    manifest_path = folder / MODELS_FILE
    if not manifest_path.is_file():
        raise ValueError(f"models_dir: no {MODELS_FILE} in {folder} (run the experiment without --eval-only first)")
    manifest = json.loads(manifest_path.read_text())
    classes = {"regression": LocalizationCNN, "detector": PointDetector}
    models = {
        pipeline: {name: (load_model(folder / e["file"], classes[pipeline]), e) for name, e in named.items()}
        for pipeline, named in manifest["models"].items()
    }
    out = Path(out_dir) if out_dir is not None else folder
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    evaluation = _evaluation_frames(domains, n_eval, manifest["image_size"], seed, workers, executor)
    summary: dict[str, Any] = {
        "env_id": manifest["env_id"],
        "camera": manifest["camera"],
        "models_dir": str(folder),
        "settings": {"n_eval": n_eval, "seed": seed, "domains": list(domains)},
    }
    summary = _finish(out, summary, models, evaluation, "eval_results")
    summary["timings_s"] = {"total_s": round(time.perf_counter() - started, 2)}
    atomic_write_bytes(out / "eval_results.json", (json.dumps(summary, indent=2) + "\n").encode())
    return summary
