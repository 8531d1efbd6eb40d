"""Submitting, reading, approving and rejecting specs through the API, with role checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from coordinator import create_app
from coordinator.accounts.services import create_user
from coordinator.db import init_db, session_scope
from protocol import parse_spec, spec_hash
from tests.coordinator.coord_world import BY_SEX, OPIOID, World


def _refused(response, status: int, code: str) -> str:
    assert response.status_code == status, response.json
    assert response.json["code"] == code, response.json
    return response.json["message"]


def test_submit_validates_and_stores_with_the_hash(world: World) -> None:
    answer = world.submit(OPIOID)
    assert answer["spec_hash"] == spec_hash(parse_spec(OPIOID))
    assert (answer["id"], answer["version"], answer["status"]) == (
        "opioid_last_90d",
        1,
        "submitted",
    )
    again = world.client.post("/api/v1/specs", json={"yaml": OPIOID}, headers=world.auth("rita"))
    assert again.status_code == 200 and again.json["spec_hash"] == answer["spec_hash"]


def test_invalid_spec_is_a_400_naming_the_field(world: World) -> None:
    bad = OPIOID.replace("dimensions: [year, sex, age_band]", "dimensions: [person_id]")
    response = world.client.post("/api/v1/specs", json={"yaml": bad}, headers=world.auth("rita"))
    message = _refused(response, 400, "spec_invalid")
    assert "dimensions" in message and "person_id" in message and "\n" not in message
    response = world.client.post(
        "/api/v1/specs", json={"yaml": "a: [1"}, headers=world.auth("rita")
    )
    assert "not valid YAML" in _refused(response, 400, "spec_invalid")
    response = world.client.post("/api/v1/specs", json={"yaml": 5}, headers=world.auth("rita"))
    _refused(response, 400, "bad_request")
    deep = "description: " + "[" * 500 + "]" * 500  # once a 500 from deep recursion
    response = world.client.post("/api/v1/specs", json={"yaml": deep}, headers=world.auth("rita"))
    assert "nested deeper than" in _refused(response, 400, "spec_invalid")


def test_same_id_and_version_with_other_content_is_a_409(world: World) -> None:
    world.submit(OPIOID)
    changed = OPIOID.replace("Opioid", "Opiate", 1)
    response = world.client.post(
        "/api/v1/specs", json={"yaml": changed}, headers=world.auth("rita")
    )
    assert "raise its version" in _refused(response, 409, "version_exists")


def test_read_shows_the_explanation_and_decisions(world: World) -> None:
    world.node("zh-a")
    digest = world.submit(BY_SEX)["spec_hash"]
    world.approve(digest, reason="useful for the network")
    shown = world.client.get(f"/api/v1/specs/{digest[:14]}", headers=world.auth("rita")).json
    assert shown["yaml"] == BY_SEX and "opioid" in shown["explanation"].lower()
    (decision,) = shown["decisions"]
    assert decision["by"] == "carl" and decision["reason"] == "useful for the network"
    assert decision["round_id"] == 1 and shown["status"] == "approved"
    listed = world.client.get("/api/v1/specs?status=approved", headers=world.auth("rita")).json
    assert [s["spec_hash"] for s in listed["specs"]] == [digest]
    response = world.client.get("/api/v1/specs?status=odd", headers=world.auth("rita"))
    _refused(response, 400, "bad_status")
    _refused(
        world.client.get("/api/v1/specs/sha256:ffffff", headers=world.auth("rita")),
        404,
        "unknown_spec",
    )
    _refused(world.client.get("/api/v1/specs/zz", headers=world.auth("rita")), 400, "bad_spec_hash")


def test_review_lists_approved_specs_one_restriction_apart(world: World) -> None:
    world.node("zh-a")
    approved = world.submit(BY_SEX)["spec_hash"]
    world.approve(approved, reason="by sex")
    # The same cohort in other breakdowns: the two releases could be differenced.
    digest = world.submit(OPIOID)["spec_hash"]
    shown = world.client.get(f"/api/v1/specs/{digest}", headers=world.auth("carl")).json
    assert shown["neighbours"] == [
        {
            "spec_hash": approved,
            "id": "opioid_by_sex",
            "version": 1,
            "difference": "breakdowns: age_band, sex, year here, sex there",
        }
    ]
    # Two restrictions apart (breakdowns and an age bound) is not listed, nor is a spec itself.
    older = OPIOID.replace("id: opioid_last_90d", "id: opioid_older").replace(
        "  index: death_date\n", "  index: death_date\n  age: {min: 80}\n"
    )
    other = world.submit(older)["spec_hash"]
    assert other != digest
    shown = world.client.get(f"/api/v1/specs/{other}", headers=world.auth("carl")).json
    assert shown["neighbours"] == []
    shown = world.client.get(f"/api/v1/specs/{approved}", headers=world.auth("carl")).json
    assert shown["neighbours"] == []


def test_researcher_cannot_approve_or_reject(world: World) -> None:
    world.node("zh-a")
    digest = world.submit()["spec_hash"]
    assert "researcher may not approve" in _refused(
        world.approve(digest, who="rita"), 403, "forbidden"
    )
    response = world.client.post(
        f"/api/v1/specs/{digest}/reject", json={"reason": "no"}, headers=world.auth("rita")
    )
    _refused(response, 403, "forbidden")
    assert world.client.get("/api/v1/rounds", headers=world.auth("rita")).json["rounds"] == []
    assert world.approve(digest, who="ada").status_code == 201  # an admin may


def test_approve_opens_a_round_with_defaults_and_options(world: World) -> None:
    world.node("zh-a")
    world.node("zh-b")
    digest = world.submit()["spec_hash"]
    first = world.approve(digest).json
    assert first["nodes"] == ["zh-a", "zh-b"] and first["min_cell"] == 10
    second = world.approve(digest, min_cell=15, deadline_days=2, nodes=["zh-b"]).json
    assert second["round_id"] == first["round_id"] + 1 and second["nodes"] == ["zh-b"]
    status = world.client.get(f"/api/v1/rounds/{second['round_id']}", headers=world.auth("rita"))
    assert status.json["targets"] == ["zh-b"] and status.json["min_cell"] == 15
    assert status.json["status"] == "open" and status.json["pending"] == ["zh-b"]


def test_approval_refusals(world: World) -> None:
    digest = world.submit()["spec_hash"]
    _refused(world.approve(digest), 409, "no_nodes")
    world.node("zh-a")
    world.code("zh-b")
    _refused(world.approve(digest, reason=" "), 400, "reason_required")
    _refused(world.approve(digest, min_cell=9), 400, "min_cell_too_low")
    _refused(world.approve(digest, min_cell="12"), 400, "bad_min_cell")
    _refused(world.approve(digest, deadline_days=0), 400, "bad_deadline_days")
    _refused(world.approve(digest, nodes=["zh-x"]), 400, "unknown_node")
    _refused(world.approve(digest, nodes=["zh-b"]), 400, "node_not_enrolled")
    _refused(world.approve(digest, nodes=[]), 400, "bad_nodes")
    _refused(world.approve("sha256:abcdef"), 404, "unknown_spec")
    # Nothing was half-done by the refusals.
    assert world.client.get("/api/v1/rounds", headers=world.auth("carl")).json["rounds"] == []


def test_reject_is_final(world: World) -> None:
    world.node("zh-a")
    digest = world.submit()["spec_hash"]
    url = f"/api/v1/specs/{digest}/reject"
    response = world.client.post(url, json={"reason": "too broad"}, headers=world.auth("carl"))
    assert response.status_code == 200 and response.json["status"] == "rejected"
    _refused(
        world.client.post(url, json={"reason": "x"}, headers=world.auth("carl")),
        409,
        "already_decided",
    )
    _refused(world.approve(digest), 409, "spec_rejected")


def test_round_status_follows_the_nodes(world: World) -> None:
    a = world.node("zh-a")
    world.node("zh-b")
    round_id = world.approve(world.submit()["spec_hash"]).json["round_id"]
    (task,) = a.tasks()
    a.upload(a.result_envelope(task))
    status = world.client.get(f"/api/v1/rounds/{round_id}", headers=world.auth("rita")).json
    states = {n["node_id"]: n["state"] for n in status["nodes"]}
    assert states == {"zh-a": "answered", "zh-b": "pending"}
    assert status["answered"] == ["zh-a"] and status["pending"] == ["zh-b"]
    world.nodes["zh-b"].tasks()
    status = world.client.get(f"/api/v1/rounds/{round_id}", headers=world.auth("rita")).json
    assert {n["node_id"]: n["state"] for n in status["nodes"]}["zh-b"] == "delivered"
    _refused(
        world.client.get("/api/v1/rounds/99", headers=world.auth("rita")), 404, "unknown_round"
    )
    huge = world.client.get(f"/api/v1/rounds/{10**23}", headers=world.auth("rita"))
    _refused(huge, 404, "unknown_round")  # once a 500: the id overflowed the database driver


def test_tokens_from_passwords_and_me(world: World) -> None:
    from coordinator.accounts.services import create_user
    from coordinator.db import session_scope

    with session_scope(world.sessions) as session:
        create_user(session, "pat", "researcher", "correct horse")
    body = {"name": "pat", "password": "correct horse"}
    token = world.client.post("/api/v1/tokens", json=body).json["token"]
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json
    assert me == {"name": "pat", "role": "researcher"}
    wrong = world.client.post("/api/v1/tokens", json={**body, "password": "nope"})
    _refused(wrong, 401, "bad_credentials")
    _refused(
        world.client.post("/api/v1/tokens", json={"name": "x", "password": "y"}),
        401,
        "bad_credentials",
    )


def test_actions_are_audited_with_who_and_what(world: World) -> None:
    world.node("zh-a")
    digest = world.submit()["spec_hash"]
    world.approve(digest)
    events = world.client.get(
        "/api/v1/audit", query_string={"subject": f"spec:{digest}"}, headers=world.auth("carl")
    ).json["events"]
    assert [(e["actor"], e["action"]) for e in events] == [
        ("user:carl", "spec.approve"),
        ("user:rita", "spec.submit"),
    ]
    assert events[0]["detail"]["reason"] == "fits the network's aims"
    _refused(world.client.get("/api/v1/audit", headers=world.auth("rita")), 403, "forbidden")


def test_a_researcher_reads_their_own_specs_and_rounds_only(world: World) -> None:
    world.user("rob", "researcher")
    world.node("zh-a")
    mine = world.submit()["spec_hash"]
    theirs = world.submit(OPIOID, who="rob")["spec_hash"]
    round_id = world.approve(theirs).json["round_id"]
    listed = world.client.get("/api/v1/specs", headers=world.auth("rita")).json["specs"]
    assert [s["spec_hash"] for s in listed] == [mine]
    # Another researcher's spec and round read as unknown, like ones never made.
    for path in (f"/api/v1/specs/{theirs}", f"/api/v1/rounds/{round_id}"):
        response = world.client.get(path, headers=world.auth("rita"))
        assert response.status_code == 404, path
    assert world.client.get("/api/v1/rounds", headers=world.auth("rita")).json["rounds"] == []
    # A coordinator reads everything; the submitter reads their own round.
    everything = world.client.get("/api/v1/specs", headers=world.auth("carl")).json["specs"]
    assert {s["spec_hash"] for s in everything} == {mine, theirs}
    own = world.client.get(f"/api/v1/rounds/{round_id}", headers=world.auth("rob"))
    assert own.status_code == 200


@pytest.fixture
def two_eyes_more(config: dict) -> Iterator[World]:
    """A coordinator that needs two approvals, by two coordinators, before a spec runs."""
    app = create_app({**config, "APPROVALS": 2})
    init_db(app.extensions["lhs_engine"])
    world = World(app)
    world.user("rita", "researcher")
    world.user("carl", "coordinator")
    world.user("cora", "coordinator")
    yield world
    app.extensions["lhs_engine"].dispose()


def test_a_spec_runs_after_the_approvals_the_coordinator_requires(two_eyes_more: World) -> None:
    world = two_eyes_more
    world.node("zh-a")
    digest = world.submit()["spec_hash"]
    first = world.approve(digest, who="carl")
    assert first.status_code == 202, first.json
    assert first.json == {"spec_hash": digest, "status": "submitted", "approvals": 1, "needed": 2}
    assert world.client.get("/api/v1/rounds", headers=world.auth("carl")).json["rounds"] == []
    _refused(world.approve(digest, who="carl"), 409, "already_approved")
    _refused(world.approve(digest, who="rita"), 403, "forbidden")
    second = world.approve(digest, who="cora")
    assert second.status_code == 201 and second.json["status"] == "approved"
    decisions = world.client.get(f"/api/v1/specs/{digest}", headers=world.auth("carl")).json
    assert [(d["by"], d["round_id"] is None) for d in decisions["decisions"]] == [
        ("carl", True),
        ("cora", False),
    ]
    # Another round of the same spec needs two approvals again.
    assert world.approve(digest, who="cora").status_code == 202
    assert world.approve(digest, who="carl").status_code == 201


def test_guessing_passwords_locks_the_account_and_every_failure_answers_alike(
    world: World,
) -> None:
    with session_scope(world.sessions) as session:
        create_user(session, "pat", "researcher", "correct horse")
        create_user(session, "nopw", "researcher")
    for name in ("x", "nopw"):  # unknown, and without a password: the same answer
        wrong = world.client.post("/api/v1/tokens", json={"name": name, "password": "guess1"})
        _refused(wrong, 401, "bad_credentials")
    for attempt in range(5):
        guess = {"name": "pat", "password": f"guess{attempt}"}
        _refused(world.client.post("/api/v1/tokens", json=guess), 401, "bad_credentials")
    right = {"name": "pat", "password": "correct horse"}
    locked = world.client.post("/api/v1/tokens", json=right)
    _refused(locked, 429, "too_many_attempts")
    world.execute("UPDATE throttles SET locked_until = NULL, failures = 0")  # the window passed
    assert world.client.post("/api/v1/tokens", json=right).status_code == 201
    with world.app.extensions["lhs_engine"].connect() as connection:
        left = connection.execute(sa.text("SELECT key FROM throttles")).scalars().all()
    assert "login:user:pat" not in left  # a success clears the account's failures
