"""The agent's side of secure aggregation: what it refuses, and what it keeps and logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from node.agent import Agent
from node.agent.agent import Cycle
from node.agent.aggregate import answer_requests
from node.config import load_config
from protocol import AGG_DECLINE, AGG_REQUEST, generate_private_key, layout_hash, sign, verify
from tests.node.agent.fakecoord import NODE, FakeCoordinator

LAYOUT = {
    "dimensions": ["sex"],
    "measures": ["denominator", "numerator"],
    "cells": [[None], ["F"], ["M"], ["U"]],
}


@pytest.fixture
def member(agent: Agent) -> Agent:
    """An agent that answered round 7: its exact cube is in its store."""
    cells = {("F",): {"denominator": 12, "numerator": 3}, ("M",): {"denominator": 4}}
    cells[("M",)]["numerator"] = 1
    agent.state.aggregation.save_exact(7, "t-7", "sha256:x", ["sex"], LAYOUT["measures"], cells)
    return agent


def _request(fake: FakeCoordinator, **changes: Any) -> dict[str, Any]:
    payload = {
        "type": AGG_REQUEST,
        "phase": "key",
        "round_id": 7,
        "node_id": NODE,
        "group": ["national", "NL"],
        "attempt": 1,
        "members": sorted([NODE, "zh-b", "zh-c"]),
        "layout": LAYOUT,
        "layout_hash": layout_hash(LAYOUT),
    }
    payload.update(changes)
    return sign(payload, fake.key, "coordinator")


def _refusals(agent: Agent) -> list[str]:
    return [r["reason"] for r in agent.state.audit.records() if r["event"] == "aggregation_refused"]


def test_requests_that_do_not_fit_are_refused_and_nothing_is_sent(
    member: Agent, fake: FakeCoordinator
) -> None:
    other_layout = {**LAYOUT, "measures": ["denominator"]}
    malformed = {**LAYOUT, "cells": [["F", 2024]]}  # two values for one dimension
    requests = [
        _request(fake, members=["zh-b", "zh-c", "zh-d"]),
        _request(fake, round_id=8),
        _request(fake, layout=other_layout, layout_hash=layout_hash(other_layout)),
        _request(fake, layout=malformed, layout_hash=layout_hash(malformed)),
        _request(fake, layout_hash=layout_hash(other_layout)),
        _request(fake, node_id="zh-b"),
        _request(fake, members=[NODE, "zh-b"]),
        sign(_request(fake)["payload"], generate_private_key(), "coordinator"),
        _request(fake, phase="share", keys={}),  # no key was ever sent for this attempt
    ]
    cycle = Cycle()
    answer_requests(member, requests, cycle)
    assert _refusals(member) == [
        "not_a_member",
        "unknown_round",
        "layout_mismatch",
        "layout_mismatch",
        "layout_mismatch",
        "wrong_node",
        "bad_membership",
        "bad_signature",
        "no_key",
    ]
    assert cycle.aggregated == 0
    # The same requests again: recognised, not decided (or logged) a second time.
    answer_requests(member, requests, Cycle())
    assert len(_refusals(member)) == len(requests)
    assert [r["state"] for r in member.state.aggregation.requests()] == ["refused"] * len(requests)


def test_a_key_is_fresh_per_attempt_and_kept(member: Agent, fake: FakeCoordinator) -> None:
    # The fake coordinator has no aggregation endpoint: the upload is refused, and logged.
    cycle = Cycle()
    answer_requests(member, [_request(fake), _request(fake, attempt=2)], cycle)
    first = member.state.aggregation.key(7, ("national", "NL"), 1)
    second = member.state.aggregation.key(7, ("national", "NL"), 2)
    assert first and second and first != second
    uploads = [r for r in member.state.audit.records() if r["event"] == "aggregation_upload"]
    kept = {r["sha256"]: r["body"] for r in member.state.aggregation.requests()}
    assert [u["attempt"] for u in uploads] == [1, 2]
    assert all(len(kept[u["sha256"]]) == u["bytes"] for u in uploads)
    assert len(cycle.failed) == 2


def test_a_node_out_of_secure_aggregation_declines_and_keeps_no_exact_cube(
    enrolled: Path, fake: FakeCoordinator, library_spec: str
) -> None:
    enrolled.write_text(
        enrolled.read_text().replace(
            "auto_run_library: true", "auto_run_library: true\n  secure_aggregation: false"
        )
    )
    agent = Agent(load_config(enrolled))
    try:
        assert agent.config.policy.secure_aggregation is False
        envelope = fake.issue(fake.task(NODE, library_spec))
        assert agent.poll_once().uploaded == 1
        assert agent.state.aggregation.exact(envelope["payload"]["round_id"]) is None
        # Out of secure aggregation, the node publishes its whole protected cube instead.
        sent = json.loads(fake.results[envelope["payload"]["task_id"]])["payload"]["result"]
        assert sent["scope"] == "cube" and len(sent["cells"]) > 1
        # Even for a round it never kept a cube of, a genuine request gets a signed decline.
        answer_requests(agent, [_request(fake)], Cycle())
        (kept,) = agent.state.aggregation.requests()
        payload = verify(json.loads(kept["body"]), fake.nodes[NODE], signer=NODE)
        assert payload == {
            "type": AGG_DECLINE,
            "round_id": 7,
            "node_id": NODE,
            "group": ["national", "NL"],
            "attempt": 1,
            "reason": "policy: secure_aggregation is false",
        }
        assert agent.state.aggregation.key(7, ("national", "NL"), 1) is None
        events = [r["event"] for r in agent.state.audit.records()]
        assert "aggregation_declined" in events and "aggregation_refused" not in events
        # A forged request is still refused, not declined.
        forged = sign(_request(fake)["payload"], generate_private_key(), "coordinator")
        answer_requests(agent, [forged], Cycle())
        assert _refusals(agent) == ["bad_signature"]
    finally:
        agent.close()


def test_a_layout_asking_for_more_than_pages_show_is_refused(
    agent: Agent, fake: FakeCoordinator
) -> None:
    # A two-way total of a group is more than any factsheet shows: the node does not add to it.
    measures = LAYOUT["measures"]
    cells = {(2024, "F"): {"denominator": 12, "numerator": 3}}
    agent.state.aggregation.save_exact(7, "t-7", "sha256:x", ["year", "sex"], measures, cells)
    shown = {"dimensions": ["year", "sex"], "measures": measures, "cells": [[None, None]]}
    two_way = {**shown, "cells": [[None, None], [2024, "F"]]}
    requests = [
        _request(fake, layout=two_way, layout_hash=layout_hash(two_way)),
        _request(fake, layout=shown, layout_hash=layout_hash(shown), attempt=2),
    ]
    cycle = Cycle()
    answer_requests(agent, requests, cycle)
    assert _refusals(agent) == ["layout_mismatch"]
    states = [r["state"] for r in agent.state.aggregation.requests()]
    assert states[0] == "refused" and states[1] != "refused"


def test_a_negative_sum_goes_only_into_a_layout_that_marks_it_signed(
    agent: Agent, fake: FakeCoordinator
) -> None:
    measures = ["pairs", "change_sum"]
    cells = {("F",): {"pairs": 12, "change_sum": -30}, ("M",): {"pairs": 4, "change_sum": 9}}
    agent.state.aggregation.save_exact(7, "t-7", "sha256:x", ["sex"], measures, cells)
    unsigned = {**LAYOUT, "measures": measures}
    signed = {**unsigned, "signed": ["change_sum"]}
    requests = [
        _request(fake, layout=unsigned, layout_hash=layout_hash(unsigned)),
        _request(fake, layout=signed, layout_hash=layout_hash(signed), attempt=2),
    ]
    answer_requests(agent, requests, Cycle())
    assert _refusals(agent) == ["layout_mismatch"]
    states = [r["state"] for r in agent.state.aggregation.requests()]
    assert states[0] == "refused" and states[1] != "refused"
