"""Every task the protocol says to refuse is refused, recorded with its reason, and never run."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from node.agent import Agent
from protocol import generate_private_key
from tests.node.agent.fakecoord import NODE, FakeCoordinator, utc


def _refusals(agent: Agent) -> list[dict]:
    return [r for r in agent.state.audit.records() if r["event"] == "task_refused"]


def _assert_refused(agent: Agent, fake: FakeCoordinator, reason: str) -> None:
    cycle = agent.poll_once()
    assert (cycle.tasks, cycle.refused, cycle.run) == (1, 1, 0)
    assert [r["reason"] for r in _refusals(agent)] == [reason]
    assert agent.state.store.tasks()[-1]["state"] == "refused"
    assert fake.results == {}
    # Listed again on the next poll: recognised, not decided (or recorded) twice.
    again = agent.poll_once()
    assert (again.tasks, again.refused) == (0, 0)
    assert len(_refusals(agent)) == 1


def test_bad_coordinator_signature(agent: Agent, fake: FakeCoordinator, library_spec) -> None:
    fake.issue(fake.task(NODE, library_spec), key=generate_private_key())
    _assert_refused(agent, fake, "bad_signature")
    assert "not the pinned coordinator key" in _refusals(agent)[0]["detail"]


def test_payload_changed_after_signing(agent: Agent, fake: FakeCoordinator, library_spec) -> None:
    envelope = fake.issue(fake.task(NODE, library_spec))
    envelope["payload"]["min_cell"] = 5  # tampered on the way
    _assert_refused(agent, fake, "bad_signature")


def test_spec_hash_changed(agent: Agent, fake: FakeCoordinator, library_spec) -> None:
    payload = fake.task(NODE, library_spec)
    payload["spec"] = library_spec.replace("age: {min: 65}", "age: {min: 18}")
    fake.issue(payload)
    _assert_refused(agent, fake, "spec_hash_mismatch")


def test_task_for_another_node(agent: Agent, fake: FakeCoordinator, library_spec) -> None:
    fake.issue(fake.task("ziekenhuis-b", library_spec), to=NODE)
    _assert_refused(agent, fake, "wrong_node")


def test_expired_task(agent: Agent, fake: FakeCoordinator, library_spec) -> None:
    fake.issue(fake.task(NODE, library_spec, deadline=utc(-timedelta(minutes=1))))
    _assert_refused(agent, fake, "expired")


def test_malformed_task(agent: Agent, fake: FakeCoordinator, library_spec) -> None:
    fake.issue(fake.task(NODE, library_spec, min_cell="ten"))
    _assert_refused(agent, fake, "malformed")


def test_replayed_task_id(agent: Agent, fake: FakeCoordinator, library_spec) -> None:
    first = fake.task(NODE, library_spec)
    fake.issue(first)
    assert agent.poll_once().run == 1
    # The same task id, signed again with other content: a replay, refused.
    fake.results.clear()
    fake.tasks.clear()
    fake.issue({**first, "round_id": 2})
    _assert_refused(agent, fake, "replay")
    assert [t["state"] for t in agent.state.store.tasks()] == ["sent", "refused"]


def test_identical_task_listed_again_runs_once(agent: Agent, fake: FakeCoordinator, library_spec):
    envelope = fake.issue(fake.task(NODE, library_spec))
    assert agent.poll_once().run == 1
    task_id = envelope["payload"]["task_id"]
    # A coordinator that lost the result lists the task again: the stored result is re-sent.
    stored = fake.results.pop(task_id)
    cycle = agent.poll_once()
    assert (cycle.tasks, cycle.run, cycle.uploaded) == (0, 0, 1)
    assert fake.results[task_id] == stored
    events = [r["event"] for r in agent.state.audit.records()]
    assert events.count("task_run") == 1 and events.count("task_seen") == 1


def test_refusal_is_in_the_task_list(agent: Agent, fake: FakeCoordinator, library_spec) -> None:
    fake.issue(fake.task(NODE, library_spec, deadline=utc(-timedelta(days=1))))
    agent.poll_once()
    (row,) = agent.state.store.tasks()
    assert row["state"] == "refused" and "expired" in row["reason"]
    assert json.loads(row["envelope"])["signer"] == "coordinator"


@pytest.mark.parametrize("tasks", [None, "nope"])
def test_malformed_poll_answer(agent: Agent, fake: FakeCoordinator, tasks) -> None:
    fake._poll = lambda node_id, body: (200, {"tasks": tasks})  # type: ignore[method-assign]
    with pytest.raises(Exception, match="no list of tasks"):
        agent.poll_once()
