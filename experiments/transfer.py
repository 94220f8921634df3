"""The transfer experiment (``kind: transfer``): how much of the sim-to-real localization gap does image
translation close, on every reality proxy, and does it ever destroy the task?

The task model is a :class:`~simreal.perception.detector.PointDetector` trained on ``canonical`` Push-v0 frames
(camera ``front``) whose pixel the frame's calibrated camera lifts to the table (the localization experiment's
detector pipeline): translation has to fix appearance only, geometry is the calibration's job. On each evaluation
domain (default ``test`` and the reality family ``real:0`` .. ``real:4``; names or spec files) it is evaluated on
the raw frames (``no_adaptation``) and after each translator:

- ``cyclegan``: a real2sim CycleGAN (preset ``fast``) trained on unlabelled frames of *that* domain (the baseline;
  it needs the lab's images, so one per domain);
- ``semantic_cyclegan``: the same with CyCADA's semantic-consistency loss: a domain-randomized detector's
  log-heatmap must not change under translation, in both directions (the sim side's labels are free; the DR
  detector reads both domains, where a canonical-only one would anchor the real side to its wrong answers);
- ``rcan``: a randomized -> canonical translator trained once on paired renders of the same state
  (:mod:`simreal.transfer.paired`, :mod:`simreal.transfer.rcan`) with the detector's heatmap loss on its
  output: no real image at all, the same model for every domain.

Reported per domain and method: median / p90 / fraction > 5 cm, the gap closed
``(err_noadapt - err_method) / (err_noadapt - err_canonical)`` on median and p90, and the guard's verdict
(:mod:`simreal.transfer.guard`: object contrast around the block's labelled pixel and agreement of the DR detector
before/after translation on ``guard_frames`` frames);
``guarded`` is what a user of the guard gets: the translator's result, or no adaptation where the guard refuses.
Models and ``models.json`` are saved; :func:`evaluate_saved_translators` evaluates them on new domains (RCAN on
any; a CycleGAN only on the domains it was trained for). Output: ``results.json``, ``summary.md``, ``gap.png``.
Settings: a :class:`~simreal.experiments.config.TransferConfig` (``kind: transfer``,
``configs/experiments/transfer.yaml``).

Frames: :mod:`~simreal.experiments.block_frames`; training: :mod:`~simreal.experiments.transfer_training`;
evaluation: :mod:`~simreal.experiments.transfer_evaluation`; tables and plot:
:mod:`~simreal.experiments.transfer_report`.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from simreal.experiments.block_frames import read_json
from simreal.experiments.config import TransferConfig
from simreal.experiments.transfer_evaluation import evaluate_all
from simreal.experiments.transfer_report import write_results
from simreal.experiments.transfer_training import MODELS_FILE, TrainedModels, train_models, transfer_settings
from simreal.perception.checkpoint import load_model
from simreal.perception.detector import PointDetector

__all__ = ["evaluate_saved_translators", "run_transfer_experiment"]


def run_transfer_experiment(
    config: TransferConfig, executor: str | Executor = "local", progress: bool = False
) -> dict[str, Any]:
    """Run the experiment (module docstring) into ``config.out_dir``; resumable (a rerun with the same training
    settings reuses the saved models and continues interrupted CycleGANs).

    ``n_train`` canonical frames train the detector (``epochs``) and are the CycleGANs' sim side; ``n_train`` fresh
    unlabelled frames of each domain in ``config.cyclegan_domains`` are their real side; ``n_train`` pairs train
    RCAN for ``rcan_steps``. Frames are seeded from ``seed`` and the domain name; collected by ``workers``
    processes of ``executor``; ``progress`` prints CycleGAN progress. On a shared CPU call
    ``torch.set_num_threads(1)`` first.
    """
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = transfer_settings(config)
    timings: dict[str, float] = {}
    begun = time.perf_counter()
    models = train_models(config, out, executor, progress, timings)
    timings["training_total_s"] = round(time.perf_counter() - begun, 2)
    results = evaluate_all(out, models, config, config.image_size, executor)
    results["settings"] = {**settings, "domains": list(config.domains), "gan_domains": list(config.cyclegan_domains)}
    timings["total_s"] = round(time.perf_counter() - begun, 2)
    results["timings_s"] = {**timings, **results["timings_s"]}
    write_results(out, results)
    return results


def evaluate_saved_translators(
    models_dir: str | os.PathLike[str], config: TransferConfig, executor: str | Executor = "local"
) -> dict[str, Any]:
    """Evaluate a finished run's detector, RCAN and CycleGANs (on the domains they were trained for) on
    ``config.domains`` (``n_eval``, ``seed``, ``guard_frames`` and ``workers`` of ``config``; its training settings
    are not read) without retraining; writes ``results.json``, ``summary.md`` and ``gap.png`` to ``config.out_dir``,
    or to ``models_dir/eval`` when that is ``models_dir`` itself (the run's own results are kept)."""
    folder = Path(models_dir)
    manifest = read_json(folder / MODELS_FILE)
    if not {"detector", "probe", "probe_threshold", "rcan"} <= set(manifest):
        raise ValueError(f"models_dir: no finished transfer run in {folder} ({MODELS_FILE} lacks its models)")
    detector = load_model(folder / manifest["detector"], PointDetector)
    probe = load_model(folder / manifest["probe"], PointDetector)
    image_size = int(manifest["training"]["image_size"])
    results = evaluate_all(folder, TrainedModels(manifest, detector, probe), config, image_size, executor)
    results["settings"] = {"models_dir": str(folder), "n_eval": config.n_eval, "seed": config.seed,
                           "domains": list(config.domains), "training": manifest["training"],
                           "guard_frames": config.guard_frames}  # fmt: skip
    out = Path(config.out_dir)
    if out.resolve() == folder.resolve():
        out = folder / "eval"
    out.mkdir(parents=True, exist_ok=True)
    write_results(out, results)
    return results
