"""The same differencing attacks through the agent: tasks run one after another, headlines
sent, the ledger in the node's state folder; the attacker holds every sent result."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
import yaml

from node.agent import Agent
from node.agent.state import NodeState
from node.config import load_config
from protocol import verify
from tests.node.agent.fakecoord import NODE, FakeCoordinator
from tests.node.test_ledger_attacks import ATTACKS
from tests.reference import load_extract
from tests.release_attacker import narrowed, released_counts


def _agent_on(config: Path, extract: Path) -> Agent:
    text = re.sub(r"(?m)^data: .*$", f"data: {extract}", config.read_text(encoding="utf-8"))
    config.write_text(text, encoding="utf-8")
    return Agent(load_config(config))


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_through_the_agent_narrows_no_small_group(
    name: str, enrolled: Path, fake: FakeCoordinator, extracts: dict[str, Path]
) -> None:
    tables = {key: load_extract(path) for key, path in extracts.items()}
    counts, person_of = [], {}
    for (spec, members), extract in ATTACKS[name].steps:
        agent = _agent_on(enrolled, extracts[extract])
        try:
            task = fake.task(NODE, yaml.safe_dump(spec))
            fake.issue(task)
            assert agent.poll_once().held == 1  # not a library spec: the admin decides
            admin = NodeState.open(agent.config)
            admin.approve(task["task_id"], "alice")
            admin.close()
            assert agent.poll_once().run == 1
        finally:
            agent.close()
        sent = verify(json.loads(fake.results[task["task_id"]]), fake.nodes[NODE], signer=NODE)
        result = sent["result"]
        assert result["scope"] == "headline"
        frame = members(tables[extract])
        names = [m["name"] for m in spec["measures"] if m["kind"] != "sum_days"]
        counts += released_counts(result, frame, names)
        person_of.update(zip(frame["unit"], frame["person"], strict=True))
    assert narrowed(counts, person_of=person_of) == []
    ledger = enrolled.parent / "state" / "ledger"
    assert len(list(ledger.iterdir())) == len(ATTACKS[name].steps)
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in ledger.iterdir()} == {0o600}


def test_a_value_withheld_for_an_earlier_release_is_null_and_the_reason_stays_here(
    enrolled: Path, fake: FakeCoordinator, extracts: dict[str, Path]
) -> None:
    agent = _agent_on(enrolled, extracts["x"])
    try:
        tasks = []
        for (spec, _), _ in ATTACKS["nested age bound"].steps:
            tasks.append(fake.task(NODE, yaml.safe_dump(spec)))
            fake.issue(tasks[-1])
            agent.poll_once()
            admin = NodeState.open(agent.config)
            admin.approve(tasks[-1]["task_id"], "alice")
            admin.close()
            agent.poll_once()
        first, second = (
            verify(json.loads(fake.results[t["task_id"]]), fake.nodes[NODE], signer=NODE)
            for t in tasks
        )
        assert first["result"]["cells"][0]["denominator"] is not None
        assert second["result"]["cells"][0]["denominator"] is None
        events = [r for r in agent.state.audit.records() if r["event"] == "release_withheld"]
        assert len(events) == 1 and events[0]["withheld"] == [[[], "denominator"]]
        assert "release_withheld" not in json.dumps(second)
    finally:
        agent.close()
