"""One round over real HTTP: the node engine's own output is accepted and kept for the merge."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import requests

from coordinator.db import session_scope
from coordinator.rounds.services import round_results
from demo.synth import generate
from node.runner import run_specs
from node.sources import open_source
from protocol import POLL, RESULT, parse_spec, public_key_text, sign, spec_hash, verify
from tests.coordinator.coord_world import Node, World, stamp


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic extract."""
    out = tmp_path_factory.mktemp("extract")
    generate(1_500, seed=11, out=out, fmt="csv")
    return out


def test_a_node_answers_a_round_over_http(world: World, live_url: str, extract: Path) -> None:
    api = f"{live_url}/api/v1"
    node = Node(world, "zh-a")  # enrols itself below, over HTTP
    code = world.code("zh-a")
    enrolled = requests.post(
        f"{api}/nodes/enrol",
        json={"node_id": "zh-a", "public_key": public_key_text(node.key), "enrolment_code": code},
        timeout=10,
    )
    assert enrolled.status_code == 201, enrolled.text
    pinned = enrolled.json()["coordinator_key"]["public_key"]

    carl = {"Authorization": f"Bearer {world.tokens['carl']}"}
    rita = {"Authorization": f"Bearer {world.tokens['rita']}"}
    text = Path("queries/palliative/opioid_last_90d.yaml").read_text()
    digest = requests.post(f"{api}/specs", json={"yaml": text}, headers=rita, timeout=10).json()
    approved = requests.post(
        f"{api}/specs/{digest['spec_hash']}/approve",
        json={"reason": "ok"},
        headers=carl,
        timeout=10,
    )
    assert approved.status_code == 201, approved.text

    poll = {
        "type": POLL,
        "node_id": "zh-a",
        "sent_at": stamp(),
        "nonce": secrets.token_hex(16),
    }
    answer = requests.post(f"{api}/nodes/zh-a/poll", json=sign(poll, node.key, "zh-a"), timeout=10)
    (envelope,) = answer.json()["tasks"]
    task = verify(envelope, pinned, signer="coordinator")
    spec = parse_spec(task["spec"])
    assert spec_hash(spec) == task["spec_hash"]

    source = open_source(str(extract))
    try:
        (result,) = run_specs([spec], source, min_cell=task["min_cell"])
    finally:
        source.close()
    payload = {
        "type": RESULT,
        "task_id": task["task_id"],
        "round_id": task["round_id"],
        "node_id": "zh-a",
        "spec_hash": task["spec_hash"],
        "created_at": stamp(),
        "result": result.to_dict(),
    }
    signed = sign(payload, node.key, "zh-a")
    stored = requests.post(f"{api}/results", json=signed, timeout=10)
    assert stored.status_code == 201, stored.text
    again = requests.post(f"{api}/results", json=signed, timeout=10)
    assert again.status_code == 200 and again.json()["duplicate"] is True

    status = requests.get(f"{api}/rounds/{task['round_id']}", headers=rita, timeout=10).json()
    assert status["status"] == "complete" and status["answered"] == ["zh-a"]
    with session_scope(world.sessions) as session:
        merged_spec, results = round_results(session, task["round_id"])
    assert merged_spec == spec and results["zh-a"] == result.to_dict()
