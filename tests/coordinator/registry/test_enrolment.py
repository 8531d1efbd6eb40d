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
    message = _refused(world.enrol(Node(world, "zh-a"), code), 403, "enrolment_refused")
    assert "new one" in message


def test_expired_code_is_refused(world: World) -> None:
    code = world.code("zh-a")
    world.execute(
        "UPDATE enrolment_codes SET expires_at = :t", t=later(minutes=-1).replace(tzinfo=None)
    )
    _refused(world.enrol(Node(world, "zh-a"), code), 403, "enrolment_refused")


def test_code_is_for_one_node_only(world: World) -> None:
    code_a = world.code("zh-a")
    world.code("zh-b")
    # A wrong code and an unknown node answer alike: nothing to tell a guesser which it was.
    wrong = _refused(world.enrol(Node(world, "zh-b"), code_a), 403, "enrolment_refused")
    unknown = _refused(world.enrol(Node(world, "zh-x"), code_a), 403, "enrolment_refused")
    assert wrong == unknown


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
    _refused(world.enrol(Node(world, "zh-a"), old_code), 403, "enrolment_refused")
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


def test_guessing_codes_locks_the_node_out_and_is_counted_not_stored(world: World) -> None:
    code = world.code("zh-a")
    for _ in range(5):
        _refused(world.enrol(Node(world, "zh-a"), "AAAA-BBBB"), 403, "enrolment_refused")
    locked = world.enrol(Node(world, "zh-a"), code)  # even the right code, while locked
    assert locked.status_code == 429 and locked.json["code"] == "too_many_attempts"
    assert int(locked.headers["Retry-After"]) > 0
    with world.app.extensions["lhs_engine"].connect() as connection:
        refusals = connection.execute(
            sa.text("SELECT count(*) FROM audit_events WHERE action = 'request.refuse'")
        ).scalar()
        counted = dict(connection.execute(sa.text("SELECT code, count FROM refusal_counts")).all())
    assert refusals == 0
    assert counted == {"enrolment_refused": 5, "too_many_attempts": 1}
    world.execute("UPDATE throttles SET locked_until = NULL, failures = 0")  # the window passed
    assert world.enrol(Node(world, "zh-a"), code).status_code == 201
