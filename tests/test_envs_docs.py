"""Every registered env documents itself the way Gymnasium's ``reacher_v5`` does, and the documentation matches the
code: the observation tables cover each ``obs_mode``'s vector exactly, the action table the action space, the
rewards section names every reward term the env emits (and no other), the truncation is the registered TimeLimit and
the arguments table lists every config field with its default. Docs cannot rot silently."""

import ast
import dataclasses
import importlib
import inspect
import re

import numpy as np
import pytest
from gymnasium import spaces

from simreal.envs.config import OBS_MODES
from simreal.registration import ENVS

SECTIONS = (
    "## Description",
    "## Action Space",
    "## Observation Space",
    "## Rewards",
    "## Starting State",
    "## Episode End",
    "### Termination",
    "### Truncation",
    "## Arguments",
)
IDS = sorted(ENVS)


def _env_class(env_id: str) -> type:
    module, name, _ = ENVS[env_id]
    return getattr(importlib.import_module(module), name)


def _doc(env_id: str) -> str:
    return inspect.cleandoc(_env_class(env_id).__doc__ or "")


def _section(doc: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    lines = doc.splitlines()
    start = lines.index(heading) + 1
    end = next(
        (i for i in range(start, len(lines)) if re.match(rf"#{{1,{len(level)}}} ", lines[i])),
        len(lines),
    )
    return "\n".join(lines[start:end])


def _rows(text: str) -> list[list[str]]:
    """Body rows of the first markdown table in ``text`` (header and separator dropped)."""
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines() if line.startswith("|")
    ]
    return [r for r in rows[2:]]


def _covered(rows: list[list[str]]) -> list[int]:
    out: list[int] = []
    for row in rows:
        low, _, high = row[0].partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out


def _make(env_id: str, **kwargs):
    return _env_class(env_id).from_kwargs(env_id, **kwargs)


@pytest.mark.parametrize("env_id", IDS)
def test_docstring_has_every_section(env_id: str) -> None:
    lines = _doc(env_id).splitlines()
    missing = [s for s in SECTIONS if s not in lines]
    assert not missing, f"{_env_class(env_id).__name__} docstring lacks {missing}"
    observation = _section(_doc(env_id), "## Observation Space")
    for mode in OBS_MODES:
        assert f'### obs_mode="{mode}"' in observation.splitlines()


@pytest.mark.parametrize("env_id", IDS)
def test_observation_tables_match_the_spaces(env_id: str) -> None:
    observation = _section(_doc(env_id), "## Observation Space")
    state = _make(env_id, obs_mode="state").observation_space
    assert _covered(_rows(_section(observation, '### obs_mode="state"'))) == list(range(state.shape[0]))
    pixels_state = _make(env_id, obs_mode="pixels_state").observation_space
    rows = _rows(_section(observation, '### obs_mode="pixels_state"'))
    assert _covered(rows) == list(range(pixels_state["state"].shape[0]))
    pixels = _make(env_id, obs_mode="pixels", image_size=32).observation_space
    assert isinstance(pixels, spaces.Box) and pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8
    assert "``Box(0, 255, (image_size, image_size, 3), uint8)``" in _section(observation, '### obs_mode="pixels"')
    if "goal_env" in {f.name for f in dataclasses.fields(_env_class(env_id).config_class)}:
        goal = _make(env_id, goal_env=True).observation_space
        text = _section(observation, "### goal_env=True")
        assert _covered(_rows(text)) == list(range(goal["observation"].shape[0]))
        assert "``achieved_goal``" in text and "``desired_goal``" in text


@pytest.mark.parametrize("env_id", IDS)
def test_action_table_matches_the_space(env_id: str) -> None:
    space = _make(env_id).action_space
    rows = _rows(_section(_doc(env_id), "## Action Space"))
    assert _covered(rows) == list(range(space.shape[0]))
    assert all(r[2:4] == ["-1", "1"] for r in rows) and space.low.min() == -1 and space.high.max() == 1


@pytest.mark.parametrize("env_id", IDS)
def test_rewards_section_names_exactly_the_emitted_terms(env_id: str) -> None:
    fields = {f.name for f in dataclasses.fields(_env_class(env_id).config_class)}
    variants = [{}]
    if "reward_type" in fields:
        variants = [{"reward_type": "dense"}, {"reward_type": "sparse"}, {"goal_env": True}]
    emitted: set[str] = set()
    for kwargs in variants:
        env = _make(env_id, **kwargs)
        env.reset(seed=0)
        _, reward, *_, info = env.step(env.action_space.sample())
        terms = {k for k in info if k.startswith("reward_")}
        assert reward == pytest.approx(sum(info[k] for k in terms))
        emitted |= terms
    documented = set(re.findall(r"``(reward_\w+)``", _section(_doc(env_id), "## Rewards")))
    assert documented == emitted


@pytest.mark.parametrize("env_id", IDS)
def test_truncation_is_the_registered_time_limit(env_id: str) -> None:
    assert f"After {ENVS[env_id][2]} steps" in _section(_doc(env_id), "### Truncation")


@pytest.mark.parametrize("env_id", IDS)
def test_arguments_table_lists_every_config_field_with_its_default(env_id: str) -> None:
    rows = _rows(_section(_doc(env_id), "## Arguments"))
    documented = {r[0].strip("`"): ast.literal_eval(r[2].strip("`")) for r in rows}
    config = _env_class(env_id).config_class
    assert documented == {f.name: f.default for f in dataclasses.fields(config)}


def test_shared_arm_sections_are_filled_in_and_unknown_ones_raise() -> None:
    from simreal.envs.arm.docs import with_arm_docs

    for env_id in IDS:
        assert not re.search(r"^\s*\{\w+\}$", _env_class(env_id).__doc__ or "", re.MULTILINE), env_id

    class Fake:
        """Title.

        {pixels}
        """

    assert "uint8" in with_arm_docs(Fake).__doc__ and "{pixels}" not in Fake.__doc__
    with pytest.raises(ValueError, match=r"Odd docstring: unknown part \{nope\}"):

        @with_arm_docs
        class Odd:
            """{nope}"""
