"""Polls and results as nodes send them: signed, checked, every refusal with its reason."""

from __future__ import annotations

import copy

import pytest

from protocol import key_id, parse_spec, public_key_from_text, sign, spec_hash, verify
from tests.coordinator.coord_world import BY_SEX, OPIOID, World, later, published, stamp


@pytest.fixture
def opened(world: World) -> tuple[World, dict]:
    """Two enrolled nodes and an open round of the by-sex spec; returns node a's task."""
    world.node("zh-a")
    world.node("zh-b")
    digest = world.submit()["spec_hash"]
    assert world.approve(digest).status_code == 201
    return world, digest


def _nodes(world: World):
    return world.nodes["zh-a"], world.nodes["zh-b"]


def _refused(response, status: int, code: str, *fragments: str) -> None:
    assert response.status_code == status, response.json
    assert response.json["status"] == status and response.json["code"] == code, response.json
    for fragment in fragments:
        assert fragment in response.json["message"], response.json["message"]


def test_task_is_signed_by_the_coordinator_and_names_the_spec(opened) -> None:
    world, digest = opened
    key = world.client.get("/api/v1/coordinator-key").json
    assert key["key_id"] == key_id(public_key_from_text(key["public_key"]))
    response = world.nodes["zh-a"].poll()
    assert response.status_code == 200
    (envelope,) = response.json["tasks"]
    task = verify(envelope, key["public_key"], signer="coordinator")
    assert task["type"] == "lhs.task/1" and task["node_id"] == "zh-a"
    assert task["spec_hash"] == digest == spec_hash(parse_spec(task["spec"]))
    assert task["min_cell"] == 10 and task["nodes"] == ["zh-a", "zh-b"]
    assert task["issued_at"].endswith("Z") and task["deadline"] > task["issued_at"]


def test_result_stored_once_then_duplicate_then_conflict(opened) -> None:
    world, _ = opened
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    envelope = node.result_envelope(task)
    first = node.upload(envelope)
    assert first.status_code == 201 and first.json["stored"] is True
    again = node.upload(envelope)  # as after a lost response
    assert again.status_code == 200 and again.json["duplicate"] is True
    resigned = node.upload(node.result_envelope(task, created_at=stamp(later(seconds=5))))
    assert resigned.status_code == 200 and resigned.json["duplicate"] is True
    other = copy.deepcopy(published(BY_SEX))
    other["cells"][0]["denominator"] += 1
    _refused(node.upload(node.result_envelope(task, other)), 409, "result_conflict")
    count = (
        world.app.extensions["lhs_engine"].connect().exec_driver_sql("SELECT count(*) FROM results")
    )
    assert count.scalar() == 1
    assert node.tasks() == []  # answered: not handed out again


def test_bad_signature_is_refused(opened) -> None:
    world, _ = opened
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    envelope = node.result_envelope(task)
    envelope["payload"]["created_at"] = stamp(later(seconds=1))  # changed after signing
    _refused(node.upload(envelope), 400, "bad_signature", "bad signature")
    poll = node.poll_envelope()
    poll["payload"]["nonce"] = "ab" * 16
    _refused(world.client.post("/api/v1/nodes/zh-a/poll", json=poll), 400, "bad_signature")


def test_message_signed_with_another_nodes_key_is_refused(opened) -> None:
    world, _ = opened
    a, b = _nodes(world)
    (task,) = a.tasks()
    forged = sign(a.result_envelope(task)["payload"], b.key, "zh-a")
    _refused(a.upload(forged), 400, "bad_signature")
    poll = sign(a.poll_envelope()["payload"], b.key, "zh-a")
    _refused(world.client.post("/api/v1/nodes/zh-a/poll", json=poll), 400, "bad_signature")


def test_result_for_another_nodes_task_is_refused(opened) -> None:
    world, _ = opened
    a, b = _nodes(world)
    (task_a,) = a.tasks()
    _refused(b.upload(b.result_envelope(task_a)), 403, "not_your_task", "zh-a")
    stolen = b.result_envelope(task_a, node_id="zh-a")
    _refused(b.upload(stolen), 400, "wrong_node")


def test_changed_spec_hash_is_refused(opened) -> None:
    world, _ = opened
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    other = "sha256:" + "0" * 64
    _refused(node.upload(node.result_envelope(task, spec_hash=other)), 400, "spec_hash_mismatch")
    result = {**published(BY_SEX), "spec_hash": other}
    _refused(node.upload(node.result_envelope(task, result)), 400, "spec_hash_mismatch")


def test_min_cell_below_the_rounds_k_is_refused(world: World) -> None:
    world.node("zh-a")
    digest = world.submit()["spec_hash"]
    assert world.approve(digest, min_cell=12).json["min_cell"] == 12
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    assert task["min_cell"] == 12
    result = published(BY_SEX, 10)
    _refused(node.upload(node.result_envelope(task, result)), 400, "min_cell_too_low", "k=12")
    assert node.upload(node.result_envelope(task, published(BY_SEX, 12))).status_code == 201


def test_a_result_that_does_not_protect_its_cells_is_refused(opened) -> None:
    # The coordinator runs the node's audit again on the published values: the numerators
    # of F and M are hidden and sum to 11, so publishing M gives F back.
    world, _ = opened
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    result = copy.deepcopy(published(BY_SEX))
    assert [c["numerator"] for c in result["cells"]] == [None, None, 15, 26]
    result["cells"][1]["numerator"] = 10
    _refused(node.upload(node.result_envelope(task, result)), 400, "result_discloses", "[1, 1]")
    # A cube protected for k=10 does not protect what it claims with min_cell 12: F and M
    # each lie in [0, 11].
    result = {**published(BY_SEX), "min_cell": 12}
    _refused(node.upload(node.result_envelope(task, result)), 400, "result_discloses", "k=12")
    assert node.upload(node.result_envelope(task, published(BY_SEX))).status_code == 201


def test_what_a_hostile_node_might_publish_is_refused(opened) -> None:
    # A count of 1..k-1 in clear never reaches the benchmark or a group's figures.
    world, _ = opened
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    headline = {
        **{f: v for f, v in published(BY_SEX).items() if f != "cells"},
        "scope": "headline",
        "years": None,
        "cells": [{"sex": None, "denominator": 5, "numerator": 0}],
    }
    _refused(node.upload(node.result_envelope(task, headline)), 400, "result_discloses", "= 5")
    # The raw cube, nothing suppressed: F's 22 with 4 numerators and U's 36 with 15.
    raw = copy.deepcopy(published(BY_SEX))
    raw["cells"][0]["numerator"], raw["cells"][1]["numerator"] = 4, 7
    _refused(node.upload(node.result_envelope(task, raw)), 400, "result_discloses", "= 4")
    headline["cells"][0].update(denominator=87, numerator=26)
    assert node.upload(node.result_envelope(task, headline)).status_code == 201


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda r: r["cells"].pop(), "missing"),
        (lambda r: r["cells"].append(dict(r["cells"][0])), "twice"),
        (lambda r: r["cells"][0].update(year=2023), "fields"),
        (lambda r: r["cells"][0].pop("numerator"), "fields"),
        (lambda r: r["cells"][0].update(sex="X"), "not a valid sex"),
        (lambda r: r["cells"][0].update(denominator=-1), "whole number"),
        (lambda r: r["cells"][0].update(denominator=2.5), "whole number"),
        (lambda r: r["cells"][0].update(denominator=True), "whole number"),
        (lambda r: r.update(cells=[]), "non-empty"),
        (lambda r: r.update(extra=1), "exactly"),
        (lambda r: r.update(query="other"), "other"),
    ],
)
def test_cells_that_do_not_form_the_specs_cube_are_refused(opened, change, fragment) -> None:
    world, _ = opened
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    result = copy.deepcopy(published(BY_SEX))
    change(result)
    _refused(node.upload(node.result_envelope(task, result)), 400, "bad_result", fragment)


def test_full_cube_of_the_library_spec_is_accepted(world: World) -> None:
    world.node("zh-a")
    digest = world.submit(OPIOID)["spec_hash"]
    world.approve(digest)
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    response = node.upload(node.result_envelope(task, published(OPIOID)))
    assert response.status_code == 201, response.json


def test_replayed_poll_is_refused(opened) -> None:
    world, _ = opened
    envelope = world.nodes["zh-a"].poll_envelope()
    assert world.client.post("/api/v1/nodes/zh-a/poll", json=envelope).status_code == 200
    again = world.client.post("/api/v1/nodes/zh-a/poll", json=envelope)
    _refused(again, 400, "replayed_nonce", "replay")


def test_the_software_a_poll_names_is_listed_with_the_node(opened) -> None:
    world, _ = opened
    node = world.nodes["zh-a"]

    def listed() -> str | None:
        nodes = world.client.get("/api/v1/nodes", headers=world.auth("carl")).json["nodes"]
        return next(n["software"] for n in nodes if n["node_id"] == "zh-a")

    assert listed() is None
    payload = {**node.poll_envelope()["payload"], "software": "lhs 0.1.0"}
    answer = world.client.post("/api/v1/nodes/zh-a/poll", json=sign(payload, node.key, "zh-a"))
    assert answer.status_code == 200
    assert listed() == "lhs 0.1.0"
    # A poll that does not say keeps what the last one said.
    assert node.poll().status_code == 200
    assert listed() == "lhs 0.1.0"


@pytest.mark.parametrize("seconds", [-301, 301])
def test_stale_or_future_poll_is_refused(opened, seconds: int) -> None:
    world, _ = opened
    response = world.nodes["zh-a"].poll(sent_at=stamp(later(seconds=seconds)))
    _refused(response, 400, "stale_poll", "clock")


@pytest.mark.parametrize(
    ("payload_change", "code"),
    [
        ({"sent_at": "yesterday"}, "bad_time"),
        ({"sent_at": "2026-11-23T10:00:00"}, "bad_time"),
        ({"nonce": "short"}, "bad_nonce"),
        ({"type": "lhs.result/1"}, "bad_message"),
        ({"node_id": "zh-b"}, "wrong_node"),
        ({"software": "<script>"}, "bad_software"),
    ],
)
def test_malformed_poll_is_refused(opened, payload_change: dict, code: str) -> None:
    world, _ = opened
    node = world.nodes["zh-a"]
    payload = {**node.poll_envelope()["payload"], **payload_change}
    response = world.client.post("/api/v1/nodes/zh-a/poll", json=sign(payload, node.key, "zh-a"))
    _refused(response, 400, code)


def test_unknown_or_unenrolled_node_is_refused(opened) -> None:
    world, _ = opened
    a, _ = _nodes(world)
    envelope = sign({**a.poll_envelope()["payload"], "node_id": "zh-x"}, a.key, "zh-x")
    _refused(world.client.post("/api/v1/nodes/zh-x/poll", json=envelope), 403, "unknown_node")
    (task,) = a.tasks()
    unknown = sign({**a.result_envelope(task)["payload"], "node_id": "zh-x"}, a.key, "zh-x")
    _refused(a.upload(unknown), 403, "unknown_node")
    world.code("zh-c")  # added, never enrolled
    envelope = sign({**a.poll_envelope()["payload"], "node_id": "zh-c"}, a.key, "zh-c")
    _refused(world.client.post("/api/v1/nodes/zh-c/poll", json=envelope), 403, "node_not_enrolled")


def test_unknown_task_and_not_an_envelope(opened) -> None:
    world, _ = opened
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    _refused(node.upload(node.result_envelope({**task, "task_id": "nope"})), 404, "unknown_task")
    # A task id that is no text at all names no task either: the message check says so.
    _refused(node.upload(node.result_envelope({**task, "task_id": 5})), 404, "unknown_task")
    _refused(node.upload({"payload": {}}), 400, "bad_signature", "signed envelope")
    _refused(node.upload(node.result_envelope(task, round_id=99)), 400, "wrong_round")


def test_expired_round_is_not_handed_out_and_late_results_are_refused(opened) -> None:
    world, _ = opened
    node = world.nodes["zh-a"]
    (task,) = node.tasks()
    world.execute("UPDATE rounds SET deadline = :past", past=later(hours=-1).replace(tzinfo=None))
    assert node.tasks() == []
    _refused(node.upload(node.result_envelope(task)), 409, "deadline_passed")


def test_offline_node_catches_up_on_its_next_poll(world: World) -> None:
    node = world.node("zh-a")
    first = world.submit()["spec_hash"]
    second = world.submit(OPIOID)["spec_hash"]
    world.approve(first)
    world.approve(second)
    tasks = node.tasks()
    assert [t["spec_hash"] for t in tasks] == [first, second]
    assert [t["spec_hash"] for t in node.tasks()] == [first, second]  # until answered


def test_every_refusal_is_in_the_audit_log(opened) -> None:
    world, _ = opened
    node = world.nodes["zh-a"]
    envelope = node.poll_envelope()
    world.client.post("/api/v1/nodes/zh-a/poll", json=envelope)
    world.client.post("/api/v1/nodes/zh-a/poll", json=envelope)
    events = world.client.get("/api/v1/audit", headers=world.auth("carl")).json["events"]
    refusal = next(e for e in events if e["action"] == "request.refuse")
    assert refusal["actor"] == "node:zh-a"
    assert refusal["detail"]["code"] == "replayed_nonce"
    assert "replay" in refusal["detail"]["message"] and refusal["at"].endswith("Z")
