"""Every domain is solvable: each env's scripted oracle succeeds on canonical, train, test and every reality."""

import pytest

import simreal.registration
from simreal.agents.oracle_eval import ORACLE_DOMAINS, oracle_success, oracle_table
from simreal.randomization.realities import expand_domains

ENV_IDS = tuple(simreal.registration.ENVS)  # every registered id: a new task is covered without editing this


@pytest.mark.parametrize("domain", ["train", "real:1"])
def test_reach_oracle_smoke_under_latency(domain: str) -> None:
    assert oracle_success("simreal/Reach-v0", domain, episodes=8) >= 0.875


def test_oracle_table_covers_every_reality() -> None:
    table = oracle_table(["simreal/Reach-v0"], ["real"], episodes=1)
    assert list(table["simreal/Reach-v0"]) == list(expand_domains(["real"]))
    with pytest.raises(ValueError, match="episodes"):
        oracle_success("simreal/Reach-v0", "train", episodes=0)


CASES = [(env_id, domain) for env_id in ENV_IDS for domain in expand_domains(ORACLE_DOMAINS)]


@pytest.mark.slow
@pytest.mark.parametrize(("env_id", "domain"), CASES)
def test_oracle_solves_95_percent_of_every_domain(env_id: str, domain: str) -> None:
    assert oracle_success(env_id, domain, episodes=50) >= 0.95
