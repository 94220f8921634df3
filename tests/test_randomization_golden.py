"""Golden randomization: the same seed gives bit-identical specs, sampled params and observations.

Pins every preset and named domain (``real:0``..``real:4`` included) of both env families and the ADR env,
so that restructuring randomization (the factor registry, composed presets) provably changes no number.
The hashes in ``fixtures/randomization_golden.json`` were taken on the code before that restructuring
(``python tests/test_randomization_golden.py`` rewrites them: only do so for an intended behaviour change).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.randomization import DomainRandomization, Sampler, domain_spec, load_preset

GOLDEN = Path(__file__).with_name("fixtures") / "randomization_golden.json"
ENVS = {"arm": "simreal/Push-v0", "driving": "simreal/LaneFollow-v0"}
PRESET_NAMES = ("none", "visual", "physics", "full", "test", "real")
DOMAIN_NAMES = ("canonical", "train", "test", "real", *(f"real:{k}" for k in range(5)))
SEEDS = range(5)
ROLLOUTS = (("arm", "train"), ("arm", "test"), ("arm", "real:2"), ("driving", "train"), ("driving", "real"))
SUMMARY_KEYS = ("spec_hash", "draws", "textures", "sensor", "control")  # the info keys that existed when pinned


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _spec(family: str, name: str) -> Any:
    return domain_spec(name, family) if name in DOMAIN_NAMES else load_preset(name, family)


def spec_and_params(family: str, name: str) -> dict[str, str]:
    """Hash of the full spec (name included) and of the params drawn with each seed."""
    spec = _spec(family, name)
    model = gym.make(ENVS[family], obs_mode="state").unwrapped.model
    sampler = Sampler(spec, model)
    out = {"spec": _digest(spec.to_dict())}
    for seed in SEEDS:
        out[f"seed{seed}"] = _digest(sampler(np.random.default_rng(seed)).to_dict())
    return out


def _obs_digest(obs: Any) -> str:
    h = hashlib.sha256()
    for key in sorted(obs) if isinstance(obs, dict) else [None]:
        arr = np.ascontiguousarray(obs[key] if key is not None else obs)
        h.update(f"{key}{arr.dtype}{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:16]


def _rollout(env: gym.Env, seed: int, steps: int = 4) -> list[str]:
    obs, info = env.reset(seed=seed)
    out = [_obs_digest(obs), _digest({k: info["randomization"][k] for k in SUMMARY_KEYS})]
    rng = np.random.default_rng(seed)
    space = env.action_space
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.uniform(space.low, space.high).astype(space.dtype))
        out += [_obs_digest(obs), repr(float(reward)), str(terminated or truncated)]
    return out


def observations(family: str, domain: str) -> list[str]:
    """Observation (pixels + noisy state), info and reward hashes of short rollouts, seeds 0 and 1."""
    env = gym.make(ENVS[family], obs_mode="pixels_state", image_size=32).unwrapped
    wrapped = DomainRandomization(env, domain_spec(domain, family))
    return [d for seed in (0, 1) for d in _rollout(wrapped, seed)]


def adr_rollout() -> list[str]:
    from simreal.randomization.adr_env import make_adr_env

    env = make_adr_env("simreal/Reach-v0", obs_mode="state")
    return [d for seed in (0, 1, 2) for d in _rollout(env, seed, steps=2)]


def compute() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for family in ENVS:
        for name in (*PRESET_NAMES, *DOMAIN_NAMES):
            out[f"params/{family}/{name}"] = spec_and_params(family, name)
    for family, domain in ROLLOUTS:
        out[f"rollout/{family}/{domain}"] = observations(family, domain)
    out["rollout/adr"] = adr_rollout()
    return out


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("family", list(ENVS))
@pytest.mark.parametrize("name", [*PRESET_NAMES, *DOMAIN_NAMES])
def test_specs_and_sampled_params_are_unchanged(golden: dict[str, Any], family: str, name: str) -> None:
    assert spec_and_params(family, name) == golden[f"params/{family}/{name}"]


@pytest.mark.parametrize(("family", "domain"), ROLLOUTS)
def test_randomized_observations_are_unchanged(golden: dict[str, Any], family: str, domain: str) -> None:
    assert observations(family, domain) == golden[f"rollout/{family}/{domain}"]


def test_adr_env_is_unchanged(golden: dict[str, Any]) -> None:
    assert adr_rollout() == golden["rollout/adr"]


if __name__ == "__main__":  # rewrite the golden file (an intended behaviour change only)
    GOLDEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
