"""Differencing attacks on the group tables, through a demo-style run over real HTTP.

Three agents (three organisations in one network) answer a nested pair of specs (age at
least A, then at least A+1), then the first spec again after their extracts were refreshed
(three more deaths at one provider).  The exact group tables would give the persons aged
exactly A, and the three new deaths, away by subtraction; what is published does not.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from coordinator.aggregation.services import group_totals
from coordinator.db import session_scope
from coordinator.factsheets import history, publish
from coordinator.factsheets.history import Earlier, cell_name
from coordinator.factsheets.models import GroupRelease
from coordinator.registry.services import add_organisation
from demo.synth import generate
from node.agent import Agent
from node.config import load_config
from tests.agents import enrolled_config
from tests.coordinator.coord_world import World
from tests.reference import load_extract
from tests.release_attacker import cancer_decedents

K = 10
NODES = {"zh-a": "Ziekenhuis A", "zh-b": "Ziekenhuis B", "zh-c": "Ziekenhuis C"}
ROOT = Path(__file__).parents[3]
CANCER = yaml.safe_load((ROOT / "queries/palliative/anticancer_therapy_last_30d.yaml").read_text())


def _spec(name: str, age_min: int, version: int = 1, dims: list[str] | None = None) -> str:
    spec = copy.deepcopy(CANCER)
    spec["id"], spec["version"] = name, version
    spec["cohort"]["age"] = {"min": age_min}
    if dims is not None:
        spec["dimensions"] = dims
    return yaml.safe_dump(spec)


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Per node a synthetic extract now and before three of zh-a's cancer deaths."""
    root = tmp_path_factory.mktemp("history-extracts")
    now, before = {}, {}
    for i, node_id in enumerate(NODES):
        now[node_id] = root / "now" / node_id
        generate(900 + 300 * i, seed=40 + i, out=now[node_id], fmt="csv")
        before[node_id] = now[node_id]
    before["zh-a"] = root / "before" / "zh-a"
    shutil.copytree(now["zh-a"], before["zh-a"])
    died = cancer_decedents(load_extract(now["zh-a"]))["person"].sort_values().tolist()[-3:]
    death = pd.read_csv(before["zh-a"] / "death.csv", dtype=str, keep_default_na=False)
    death[~death["person_id"].astype(int).isin(died)].to_csv(
        before["zh-a"] / "death.csv", index=False
    )
    return {"now": now, "before": before}


def _age_bound(extracts: dict[str, Path]) -> int:
    """Return an age A with 1..k-1 cancer deaths at exactly A nationally, many more above."""
    counts: dict[int, int] = {}
    for path in extracts.values():
        x = load_extract(path)
        born = x["person"].set_index("person_id")["year_of_birth"].astype(int)
        cohort = cancer_decedents(x)
        for age in cohort["year"] - cohort["person"].map(born):
            counts[int(age)] = counts.get(int(age), 0) + 1
    for age in sorted(counts):
        above = sum(n for other, n in counts.items() if other > age)
        if 0 < counts[age] < K and above >= 4 * K:
            return age
    raise AssertionError("no age bound to attack in these extracts")


@pytest.fixture
def configs(world: World, live_url: str, extracts, tmp_path: Path) -> Iterator[dict[str, Path]]:
    """Three enrolled nodes of three organisations in network NPZ-A."""
    with session_scope(world.sessions) as session:
        add_organisation(session, "Ziekenhuis C", {"network": "NPZ-A"})
    out = {}
    for node_id, org in NODES.items():
        data, code = extracts["before"][node_id], world.code(node_id, org)
        out[node_id] = enrolled_config(tmp_path / node_id, live_url, node_id, data, code)
    yield out


def _round(world: World, configs: dict[str, Path], text: str, data: dict[str, Path]) -> int:
    round_id = world.approve(world.submit(text)["spec_hash"]).json["round_id"]
    agents = {}
    for node_id, path in configs.items():
        config = path.read_text(encoding="utf-8").splitlines()
        config = [f"data: {data[node_id]}" if line.startswith("data:") else line for line in config]
        path.write_text("\n".join(config) + "\n", encoding="utf-8")
        agents[node_id] = Agent(load_config(path))
    try:
        for _cycle in range(5):  # held; run and upload; keys; shares; nothing left
            for agent in agents.values():
                for task in agent.state.store.tasks("held"):
                    agent.state.approve(task["task_id"], "alice")
                agent.poll_once()
    finally:
        for agent in agents.values():
            agent.close()
    return round_id


def _published(session) -> dict[tuple, dict[int, int]]:
    out: dict[tuple, dict[int, int]] = {}
    for row in session.scalars(sa.select(GroupRelease).where(GroupRelease.shown)):
        out.setdefault((row.level, row.area, row.cell, row.measure), {})[row.round_id] = row.value
    return out


def _small_differences(values: dict[tuple, dict[int, int]], pairs) -> list[tuple]:
    return [
        (cell, a, b, seen[a], seen[b])
        for cell, seen in values.items()
        for a, b in pairs
        if a in seen and b in seen and 0 < abs(seen[a] - seen[b]) < K
    ]


def test_nested_specs_and_a_refreshed_round_give_no_group_count_away(
    world: World, configs: dict[str, Path], extracts, tmp_path: Path, monkeypatch
) -> None:
    age = _age_bound(extracts["before"])
    first = _round(world, configs, _spec("treated_from", age), extracts["before"])
    nested = _round(world, configs, _spec("treated_above", age + 1), extracts["before"])
    again = _round(world, configs, _spec("treated_from", age, version=2), extracts["now"])
    variant = _spec("treated_by_sex", age, dims=["sex", "age_band"])
    other = _round(world, configs, variant, extracts["now"])
    rounds = [first, nested, again, other]
    pairs = [(first, nested), (first, again), (nested, again)]

    with session_scope(world.sessions) as session:
        exact = {r: group_totals(session, r) for r in rounds}
    national = {r: exact[r][("national", "NL")][1] for r in rounds}
    top = next(key for key in national[first] if all(v is None for v in key))
    gap = national[first][top]["denominator"] - national[nested][top]["denominator"]
    new = national[again][top]["denominator"] - national[first][top]["denominator"]
    assert 0 < gap < K and new == 3  # what the exact tables would give away

    # Without the earlier releases, the same publication gives both away by subtraction.
    session = world.sessions()
    try:
        monkeypatch.setattr(publish, "earlier_releases", lambda *a: Earlier())
        publish.publish_factsheets(session, tmp_path / "plain", rounds)
        plain = _small_differences(_published(session), pairs)
        assert {cell for cell, *_ in plain} >= {
            ("national", "NL", cell_name([], ()), "denominator"),
        }
    finally:
        session.rollback()
        session.close()
        monkeypatch.setattr(publish, "earlier_releases", history.earlier_releases)

    with session_scope(world.sessions) as session:
        publish.publish_factsheets(session, tmp_path / "out", rounds)
    with session_scope(world.sessions) as session:
        values = _published(session)
        assert values and _small_differences(values, pairs) == []
        # Of the same units, a value withheld before and equal now is not shown now.
        rows = session.scalars(sa.select(GroupRelease)).all()
        seen = {
            (r.level, r.area, r.cell, r.measure, r.value): r for r in rows if r.round_id == again
        }
        shown_after = [
            r for r in rows
            if r.round_id == other and r.shown
            and (hidden := seen.get((r.level, r.area, r.cell, r.measure, r.value))) is not None
            and not hidden.shown
        ]  # fmt: skip
        assert shown_after == []
        assert any(r.round_id == other for r in rows)
        # Publishing again shows the same values: nothing new to difference.
        before = len(values)
        publish.publish_factsheets(session, tmp_path / "out", rounds)
        session.flush()
        assert len(_published(session)) == before
