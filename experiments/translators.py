"""Translators a policy-matrix method trains inside the experiment and puts in front of its policy at evaluation.

A method's ``transfer:`` is either the path of an existing CycleGAN-format checkpoint (a prerequisite produced
beforehand, e.g. by ``simreal transfer train``) or a mapping naming one translator trained by the experiment itself:

- ``{rcan: {pairs: 2000, steps: 1500, domain: train, seed: 0, object_weight: 1.0, view: same, downsample: 2,
  frames_per_episode: 1}}``: RCAN (James et
  al. 2019), a randomized -> canonical generator trained on paired renders of the same state
  (:mod:`simreal.transfer.paired`); no real image. ``object_weight`` weighs the L1 over the task object's pixels
  (``RCANConfig.lambda_object``). ``view: canonical`` renders the canonical side through the canonical camera
  mount, so the translator also undoes a moved camera (for a policy that only saw the canonical mount; the guard
  of :mod:`simreal.transfer.guard` compares the task content in place, so it fails such a translator on a moved
  camera by design); ``same`` keeps the randomized frame's camera (appearance only). ``policy_weight`` > 0 adds
  policy consistency (RL-CycleGAN's idea with paired frames): the image encoders of the method's own trained
  policies (every seed) must see the same features in ``G(x)`` as in the canonical frame
  (``RCANConfig.lambda_features``); the translator is then trained after the policies and its name depends on
  their weights. ``downsample``: the generator's stride-2 stages (``RCANConfig.downsample``; 1 keeps thin content
  such as lane markings sharper). ``frames_per_episode``: pairs per episode along the oracle's rollout
  (``Pairing.frames_per_episode``; 1: reset states only), ``action_noise`` the std of the Gaussian on its actions
  (``RolloutSpec.action_noise``); ``env_kwargs``: options of the randomized side's env for the pairs
  (``Pairing.env_kwargs``), e.g. ``{start_offset: 1.2, start_heading: 0.3}`` on LaneFollow for the off-centre views
  a drifting policy meets. The simreal tasks of :data:`PAIRED_TASKS`.
- ``{cyclegan: {target: real, frames: 1000, steps: 2000, seed: 0}}``: an unpaired real2sim CycleGAN between
  canonical frames and unlabelled frames of ``target`` (oracle rollouts), for any task with images.

Either way the frames come from every camera of the experiment's ``env_kwargs`` (``cameras``, default the env's)
at its ``image_size``, and the translation is applied to the evaluation frames before the policy sees them
(RCAN-style, :class:`~simreal.transfer.wrapper.CycleGANObservation`). A trained translator is kept in
``<runs>/translators/translator_<hash of its settings>.pt`` (the settings beside it in ``.json``): methods with the
same settings share it, and a re-run reuses it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simreal.atomic import atomic_write_text
from simreal.data.episodes import MAX_ACTION_NOISE
from simreal.envs.config import check_int_range, check_number_range, config_from_kwargs, no_unknown_keys
from simreal.registration import env_class
from simreal.transfer.config import RCAN_DOWNSAMPLE
from simreal.transfer.paired import MAX_FRAMES_PER_EPISODE, VIEWS, check_pair_env_kwargs

__all__ = [
    "CycleGANTranslator",
    "RCANTranslator",
    "Translator",
    "parse_transfer",
    "train_translator",
    "translator_path",
    "uses_policies",
]

PAIRED_TASKS = ("simreal/Reach-v0", "simreal/Push-v0", "simreal/PickPlace-v0", "simreal/LaneFollow-v0")


@dataclass(frozen=True)
class RCANTranslator:
    """RCAN trained on ``pairs`` paired renders (``domain`` -> canonical, the canonical side through ``view``'s
    camera) for ``steps`` Adam steps, the task object's pixels weighted by ``object_weight`` in its L1 loss,
    with ``policy_weight`` > 0 the policies' image features kept, and ``downsample`` stride-2 generator stages;
    ``frames_per_episode`` pairs per episode of the oracle's rollout, ``action_noise`` on the oracle's actions,
    ``env_kwargs`` the pairs' env options."""

    pairs: int = 2000
    steps: int = 1500
    domain: str = "train"
    seed: int = 0
    object_weight: float = 1.0
    view: str = "same"
    policy_weight: float = 0.0
    downsample: int = 2
    frames_per_episode: int = 1
    action_noise: float = 0.0
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _positive("rcan", pairs=self.pairs, steps=self.steps)
        check_pair_env_kwargs(self.env_kwargs, "rcan.env_kwargs")
        check_int_range("rcan.frames_per_episode", self.frames_per_episode, 1, MAX_FRAMES_PER_EPISODE)
        check_number_range("rcan.action_noise", self.action_noise, 0.0, MAX_ACTION_NOISE)
        if isinstance(self.downsample, bool) or self.downsample not in RCAN_DOWNSAMPLE:
            raise ValueError(f"rcan.downsample must be one of {list(RCAN_DOWNSAMPLE)}, got {self.downsample!r}")
        if self.view not in VIEWS:
            raise ValueError(f"rcan.view must be one of {list(VIEWS)}, got {self.view!r}")
        if isinstance(self.policy_weight, bool) or not 0.0 <= self.policy_weight <= 1e3:
            raise ValueError(f"rcan.policy_weight must be a number in [0, 1000], got {self.policy_weight!r}")
        if self.seed < 0:
            raise ValueError(f"rcan.seed must be >= 0, got {self.seed}")
        if isinstance(self.object_weight, bool) or not 0.0 <= self.object_weight <= 1e3:
            raise ValueError(f"rcan.object_weight must be a number in [0, 1000], got {self.object_weight!r}")


@dataclass(frozen=True)
class CycleGANTranslator:
    """A real2sim CycleGAN between canonical frames and ``frames`` unlabelled frames of ``target``."""

    target: str = "real"
    frames: int = 1000
    steps: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        _positive("cyclegan", frames=self.frames, steps=self.steps)
        if self.seed < 0:
            raise ValueError(f"cyclegan.seed must be >= 0, got {self.seed}")


Translator = RCANTranslator | CycleGANTranslator
KINDS: dict[str, type[RCANTranslator] | type[CycleGANTranslator]] = {
    "rcan": RCANTranslator,
    "cyclegan": CycleGANTranslator,
}


def _positive(kind: str, **values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{kind}.{name} must be an int >= 1, got {value!r}")


def parse_transfer(value: Any, where: str) -> str | Translator | None:
    """A method's ``transfer:``: ``None``, a checkpoint path (returned as is) or a one-key mapping
    ``{rcan: {...}}`` / ``{cyclegan: {...}}`` (unknown keys raise ``ValueError`` naming ``where``)."""
    if value is None or isinstance(value, str | RCANTranslator | CycleGANTranslator):
        return value
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in KINDS:
        raise ValueError(
            f"{where}: a checkpoint path or a mapping with one key of {sorted(KINDS)} "
            f"(e.g. {{rcan: {{steps: 1500}}}}), got {value!r}"
        )
    kind, settings = next(iter(value.items()))
    settings = {} if settings is None else settings
    no_unknown_keys(KINDS[kind], settings, f"{where}.{kind}")
    try:
        return KINDS[kind](**settings)
    except TypeError as exc:
        raise ValueError(f"{where}.{kind}: {exc}") from exc


def check_translator(translator: Translator, env_id: str, where: str) -> None:
    """``ValueError`` when ``translator`` cannot be trained for ``env_id`` (RCAN needs a simreal task that
    :mod:`simreal.transfer.paired` can render twice)."""
    if not isinstance(translator, RCANTranslator):
        return
    if env_id not in PAIRED_TASKS:
        raise ValueError(
            f"{where}: rcan pairs renders of a simreal task's state, so it needs one of {list(PAIRED_TASKS)}, got "
            f"{env_id!r}; use {{cyclegan: {{...}}}} or a checkpoint path"
        )
    try:  # the env's own checks (names and ranges), without building it
        config_from_kwargs(env_class(env_id).config_class, translator.env_kwargs, env_id)
    except ValueError as exc:
        raise ValueError(f"{where}.rcan.env_kwargs: {exc}") from exc


def _cameras(env_kwargs: Mapping[str, Any]) -> list[str | None]:
    cameras = env_kwargs.get("cameras") or ()
    return list(cameras) or [None]


def _settings(translator: Translator, env_id: str, env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    settings = asdict(translator)
    # fields added later are left out at their defaults, so earlier checkpoints keep their names
    late_defaults = {"view": "same", "policy_weight": 0.0, "downsample": 2, "frames_per_episode": 1}
    late_defaults |= {"action_noise": 0.0, "env_kwargs": {}}
    for late, default in late_defaults.items():
        if settings.get(late) == default:
            del settings[late]
    return {
        "kind": type(translator).__name__,
        **settings,
        "env_id": env_id,
        "cameras": _cameras(env_kwargs),
        "image_size": int(env_kwargs.get("image_size", 64)),
    }


def _full_settings(
    translator: Translator, env_id: str, env_kwargs: Mapping[str, Any], policies: Sequence[Path]
) -> dict[str, Any]:
    """What a translator's checkpoint is named after: its settings, and the weights of the policies it keeps."""
    settings = _settings(translator, env_id, env_kwargs)
    if uses_policies(translator):
        if not policies:
            raise ValueError("rcan.policy_weight > 0 needs the method's trained policies (none given)")
        settings["policies"] = [hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16] for p in policies]
    return settings


def _checkpoint(out_dir: Path, settings: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return out_dir / f"translator_{digest}.pt"


def translator_path(translator: Translator, env_id: str, env_kwargs: Mapping[str, Any], out_dir: Path) -> Path:
    """Where :func:`train_translator` keeps ``translator`` (one that does not depend on policies), trained or not."""
    return _checkpoint(out_dir, _full_settings(translator, env_id, env_kwargs, ()))


def uses_policies(translator: Translator | str | None) -> bool:
    """Whether ``translator`` is trained against the method's trained policies (RCAN with ``policy_weight`` > 0)."""
    return isinstance(translator, RCANTranslator) and translator.policy_weight > 0


def train_translator(
    translator: Translator,
    env_id: str,
    env_kwargs: Mapping[str, Any],
    out_dir: Path,
    policies: Sequence[Path] = (),
    algo: str = "ppo",
) -> str:
    """Train ``translator`` for the images of ``env_id`` with ``env_kwargs`` into ``out_dir`` (reused when its
    settings match an earlier run's); return the checkpoint path. ``policies``: the ``model.zip`` files (of
    ``algo``) whose image encoders a policy-consistent RCAN keeps (required then, else unused)."""
    import torch

    settings = _full_settings(translator, env_id, env_kwargs, policies)
    checkpoint = _checkpoint(out_dir, settings)
    if checkpoint.is_file():
        print(f"[experiment] translator {checkpoint} already trained", file=sys.stderr, flush=True)
        return str(checkpoint)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # measured: 2 threads on a shared 2-core CPU stall CycleGAN steps 25x
    print(f"[experiment] training translator {settings}", file=sys.stderr, flush=True)
    size, cameras = settings["image_size"], settings["cameras"]
    if isinstance(translator, RCANTranslator):
        path = _train_rcan(translator, env_id, cameras, size, checkpoint, policies, algo)
    else:
        digest = checkpoint.stem.removeprefix("translator_")
        path = _train_cyclegan(translator, env_id, cameras, size, out_dir / f"cyclegan_{digest}")
    if Path(path) != checkpoint:
        Path(path).replace(checkpoint)
    atomic_write_text(checkpoint.with_suffix(".json"), json.dumps(settings, indent=2) + "\n")
    return str(checkpoint)


def _train_rcan(
    translator: RCANTranslator,
    env_id: str,
    cameras: list[str | None],
    size: int,
    out: Path,
    policies: Sequence[Path],
    algo: str,
) -> Path:
    from simreal.agents.policy_encoder import policy_image_encoder
    from simreal.transfer.paired import PairedFrames, Pairing, paired_frames
    from simreal.transfer.rcan import RCANConfig, train_rcan

    seeds = np.random.SeedSequence(translator.seed).spawn(len(cameras))
    parts = []
    for i, (camera, seq) in enumerate(zip(cameras, seeds, strict=True)):
        count = translator.pairs // len(cameras) + (i < translator.pairs % len(cameras))
        pairing = Pairing(
            translator.domain, translator.view, translator.frames_per_episode, translator.action_noise,
            translator.env_kwargs,
        )  # fmt: skip
        parts.append(paired_frames(env_id, camera, count, size, seq, pairing))
    pairs = PairedFrames(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("randomized", "canonical", "pixels", "masks"))
    )
    config = RCANConfig(
        lambda_object=translator.object_weight,
        lambda_features=translator.policy_weight,
        downsample=translator.downsample,
    )
    encoders = [policy_image_encoder(p, algo) for p in policies] if uses_policies(translator) else []
    started = time.monotonic()

    def progress(step: int, loss: float) -> None:
        elapsed = time.monotonic() - started
        eta = elapsed / step * (translator.steps - step)
        print(
            f"[experiment] translator step {step}/{translator.steps}, loss {loss:.4f}, "
            f"{elapsed / 60:.1f} min elapsed, ETA {eta / 60:.1f} min",
            file=sys.stderr,
            flush=True,
        )

    return train_rcan(
        pairs, translator.steps, translator.seed, out, config=config, on_step=progress, feature_networks=encoders
    )


def _train_cyclegan(
    translator: CycleGANTranslator, env_id: str, cameras: list[str | None], size: int, out: Path
) -> Path:
    from simreal.data.episodes import RolloutSpec
    from simreal.data.rollouts import collect_rollout_frames
    from simreal.transfer.config import CycleGANConfig, CycleGANRun
    from simreal.transfer.trainer import train_cyclegan

    def frames(domain: str, seed: int) -> np.ndarray:
        per = [translator.frames // len(cameras) + (i < translator.frames % len(cameras)) for i in range(len(cameras))]
        return np.concatenate(
            [
                collect_rollout_frames(RolloutSpec(env_id, domain, camera=c, image_size=size), n, seed + i)
                for i, (c, n) in enumerate(zip(cameras, per, strict=True))
            ]
        )

    source = frames("canonical", translator.seed)
    target = frames(translator.target, translator.seed + 1000)
    config = CycleGANConfig.preset("fast", image_size=size)
    return Path(train_cyclegan(source, target, config, out, CycleGANRun(translator.steps, translator.seed)))
