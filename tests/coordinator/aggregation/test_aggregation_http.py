"""Secure aggregation over real HTTP: three real agents, exact group totals equal their sums."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.aggregation.models import AggMessage
from coordinator.aggregation.services import group_totals
from coordinator.db import session_scope
from coordinator.registry.services import add_organisation
from node.agent import Agent
from node.config import load_config
from node.runner import fetch_finest
from node.sources import open_source
from protocol import Cube, measure_defs, parse_spec
from tests.agents import enrolled_config, small_extracts
from tests.coordinator.coord_world import LIBRARY, World

SPEC = (LIBRARY / "palliative" / "opioid_last_90d.yaml").read_text()
NODES = {"zh-a": "Ziekenhuis A", "zh-b": "Ziekenhuis B", "zh-c": "Ziekenhuis C"}


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small synthetic extract per node."""
    return small_extracts(
        tmp_path_factory.mktemp("agg-extracts"), list(NODES), persons=700, seed=20
    )


@pytest.fixture
def agents(
    world: World, live_url: str, extracts: dict[str, Path], tmp_path: Path
) -> Iterator[dict[str, Agent]]:
    """Three enrolled agents of three organisations in network NPZ-A, polling over HTTP."""
    with session_scope(world.sessions) as session:
        add_organisation(session, "Ziekenhuis C", {"network": "NPZ-A"})
    out = {}
    for node_id, org in NODES.items():
        code = world.code(node_id, org)
        path = enrolled_config(tmp_path / node_id, live_url, node_id, extracts[node_id], code)
        out[node_id] = Agent(load_config(path))
    yield out
    for agent in out.values():
        agent.close()


def _exact(extract: Path) -> list[dict]:
    # The node engine's finest cells, counted again here, independently of the agent's store.
    spec = parse_spec(SPEC)
    source = open_source(str(extract))
    try:
        rows, _domains = fetch_finest([spec], source)[spec.id]
    finally:
        source.close()
    return rows


def test_three_agents_aggregate_exact_totals_over_http(
    world: World, agents: dict[str, Agent], extracts: dict[str, Path]
) -> None:
    approved = world.approve(world.submit(SPEC)["spec_hash"]).json
    round_id = approved["round_id"]
    sent = {node_id: 0 for node_id in agents}
    for _cycle in range(4):  # run and upload; keys; shares; nothing left
        for node_id, agent in agents.items():
            sent[node_id] += agent.poll_once().aggregated
    # Two groups (the nation and NPZ-A), a key and a share each.
    assert sent == {node_id: 4 for node_id in agents}

    spec = parse_spec(SPEC)
    rows = [row for extract in extracts.values() for row in _exact(extract)]
    years = sorted({r["year"] for r in rows})
    domains = {"year": years, "sex": ["F", "M", "U"], "age_band": []}
    domains["age_band"] = ["0-17", "18-64", "65-74", "75-84", "85+"]
    truth = Cube.from_finest(spec.dimensions, measure_defs(spec), rows, domains).cells
    with session_scope(world.sessions) as session:
        exact = {g: cells for g, (_, cells) in group_totals(session, round_id).items()}
        shares = session.query(AggMessage).filter_by(kind="share").all()
        masked = [json.loads(m.envelope)["payload"]["masked"] for m in shares]
    assert set(exact) == {("national", "NL"), ("network", "NPZ-A")}
    # The cells chosen from the published cubes, each summed exactly (same members: same cells).
    assert exact[("national", "NL")] == exact[("network", "NPZ-A")]
    assert exact[("national", "NL")]
    assert all(truth[key] == values for key, values in exact[("national", "NL")].items())

    # What the coordinator holds of a node is masked: no exact count shows in clear.
    for agent in agents.values():
        cube = agent.state.aggregation.exact(round_id)
        assert cube is not None
        counts = [v for values in cube["cells"].values() for v in values.values()]
        for vector in masked:
            assert sum(a == b for a, b in zip(vector, counts, strict=False)) <= 1
        # Every byte sent for aggregation is in the audit log and kept in the store.
        uploads = [r for r in agent.state.audit.records() if r["event"] == "aggregation_upload"]
        kept = {r["sha256"]: r["body"] for r in agent.state.aggregation.requests()}
        assert len(uploads) == 4 and all(r["outcome"] == "stored" for r in uploads)
        assert all(len(kept[r["sha256"]]) == r["bytes"] for r in uploads)
