"""Node enrolment with a one-time code: reused, expired, wrong and unknown codes are refused."""

from __future__ import annotations

import sqlalchemy as sa

from protocol import key_id, public_key_text
from tests.coordinator.coord_world import Node, World, later


def _refused(response, status: int, code: str) -> str:
    assert response.status_code == status, response.json
    assert response.json["code"] == code, response.json
    return response.json["message"]


def test_enrolment_registers_the_key_and_answers_with_the_coordinators(world: World) -> None:
    node = Node(world, "zh-a")
    response = world.enrol(node, world.code("zh-a"))
    assert response.status_code == 201
    assert response.json["key_id"] == key_id(node.key)
    assert response.json["coordinator_key"] == world.client.get("/api/v1/coordinator-key").json
    listed = world.client.get("/api/v1/nodes", headers=world.auth("carl")).json["nodes"]
    assert listed[0]["node_id"] == "zh-a" and listed[0]["regions"]["zorgkantoor"] == "ZK05"
    assert listed[0]["enrolled_at"].endswith("Z")


def test_code_cannot_be_used_twice(world: World) -> None:
    code = world.code("zh-a")
    assert world.enrol(Node(world, "zh-a"), code).status_code == 201
    message = _refused(world.enrol(Node(world, "zh-a"), code), 403, "enrolment_code_used")
    assert "new one" in message


def test_expired_code_is_refused(world: World) -> None:
    code = world.code("zh-a")
    world.execute(
        "UPDATE enrolment_codes SET expires_at = :t", t=later(minutes=-1).replace(tzinfo=None)
    )
    _refused(world.enrol(Node(world, "zh-a"), code), 403, "enrolment_code_expired")


def test_code_is_for_one_node_only(world: World) -> None:
    code_a = world.code("zh-a")
    world.code("zh-b")
    _refused(world.enrol(Node(world, "zh-b"), code_a), 403, "bad_enrolment_code")
    _refused(world.enrol(Node(world, "zh-x"), code_a), 403, "unknown_node")


def test_codes_are_typed_loosely_but_stored_only_hashed(world: World) -> None:
    code = world.code("zh-a")
    assert world.enrol(Node(world, "zh-a"), code.lower().replace("-", " ")).status_code == 201
    with world.app.extensions["lhs_engine"].connect() as connection:
        stored = connection.execute(sa.text("SELECT code_hash FROM enrolment_codes")).scalars()
        assert code not in list(stored)


def test_new_code_replaces_the_old_one_and_rekeys_the_node(world: World) -> None:
    first = world.node("zh-a")
    old_code = world.code("zh-a")
    new_code = world.code("zh-a")
    _refused(world.enrol(Node(world, "zh-a"), old_code), 403, "enrolment_code_expired")
    second = Node(world, "zh-a")
    assert world.enrol(second, new_code).status_code == 201
    # The old key no longer speaks for the node.
    response = first.poll()
    assert response.status_code == 400 and response.json["code"] == "bad_signature"
    assert second.poll().status_code == 200


def test_bad_public_key_and_missing_fields(world: World) -> None:
    code = world.code("zh-a")
    body = {"node_id": "zh-a", "public_key": "not base64!", "enrolment_code": code}
    _refused(world.client.post("/api/v1/nodes/enrol", json=body), 400, "bad_public_key")
    _refused(world.client.post("/api/v1/nodes/enrol", json={"node_id": "zh-a"}), 400, "bad_request")
    # The code survived the failed attempts.
    node = Node(world, "zh-a")
    assert public_key_text(node.key)
    assert world.enrol(node, code).status_code == 201
