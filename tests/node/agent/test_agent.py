"""The cycle end to end against the fake coordinator: run, hold, store, upload, faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.agent import Agent, CoordinatorUnavailable
from node.agent.state import NodeState
from node.config import load_config
from node.runner import QueryResult
from protocol import key_id, verify
from tests.node.agent.fakecoord import NODE, FakeCoordinator


def _events(agent: Agent) -> list[str]:
    return [r["event"] for r in agent.state.audit.records()]


def test_library_task_runs_and_its_signed_result_is_stored_once(
    agent: Agent, fake: FakeCoordinator, library_spec: str
) -> None:
    envelope = fake.issue(fake.task(NODE, library_spec, min_cell=12))
    cycle = agent.poll_once()
    assert (cycle.tasks, cycle.run, cycle.uploaded, cycle.duplicates) == (1, 1, 1, 0)
    task_id = envelope["payload"]["task_id"]
    stored = json.loads(fake.results[task_id])
    payload = verify(stored, fake.nodes[NODE], signer=NODE)
    assert payload["type"] == "lhs.result/1" and payload["round_id"] == 1
    assert payload["spec_hash"] == envelope["payload"]["spec_hash"]
    result = payload["result"]
    assert result["query"] == "hip_fracture_los" and result["min_cell"] == 12  # max(10, 12)
    # In secure aggregation (the default) only the overall values leave, with the years seen.
    assert result["scope"] == "headline"
    (cell,) = result["cells"]
    assert (cell["year"], cell["sex"], cell["age_band"]) == (None, None, None)
    assert result["years"] is None or result["years"][0] <= result["years"][1]
    assert stored["key_id"] == key_id(agent.node_key)
    assert _events(agent)[-6:] == [
        "poll", "task_seen", "task_approved", "task_run", "result_stored", "upload",
    ]  # fmt: skip
    assert [t["state"] for t in agent.state.store.tasks()] == ["sent"]
    # Nothing left to do: the coordinator no longer lists the task.
    assert agent.poll_once().tasks == 0


def test_a_result_that_fails_the_result_check_never_leaves(
    agent: Agent, fake: FakeCoordinator, library_spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fault between protection and signing (here: a negative count) fails the task here.
    original = QueryResult.headline

    def broken(self: QueryResult) -> dict:
        published = original(self)
        published["cells"][0] = {**published["cells"][0], "admissions": -1}
        return published

    monkeypatch.setattr(QueryResult, "headline", broken)
    envelope = fake.issue(fake.task(NODE, library_spec))
    cycle = agent.poll_once()
    task_id = envelope["payload"]["task_id"]
    assert (cycle.run, cycle.uploaded, cycle.failed) == (0, 0, [task_id])
    assert fake.results == {} and list(agent.state.store.outbox()) == []
    (row,) = agent.state.store.tasks()
    assert row["state"] == "failed" and "does not pass the result check" in row["reason"]


def test_floor_above_the_task_k(enrolled: Path, fake, library_spec) -> None:
    enrolled.write_text(enrolled.read_text().replace("min_cell: 10", "min_cell: 15"))
    raised = Agent(load_config(enrolled))
    try:
        envelope = fake.issue(fake.task(NODE, library_spec, min_cell=10))
        raised.poll_once()
    finally:
        raised.close()
    result = json.loads(fake.results[envelope["payload"]["task_id"]])["payload"]["result"]
    assert result["min_cell"] == 15


def test_held_task_approved_then_run(agent: Agent, fake, local_spec: str) -> None:
    envelope = fake.issue(fake.task(NODE, local_spec))
    task_id = envelope["payload"]["task_id"]
    cycle = agent.poll_once()
    assert (cycle.held, cycle.run) == (1, 0)
    assert agent.poll_once().run == 0  # still held, not decided again
    assert _events(agent).count("task_held") == 1
    admin = NodeState.open(agent.config)
    admin.approve(task_id, "alice")
    admin.close()
    assert agent.poll_once().run == 1
    assert task_id in fake.results
    approved = [r for r in agent.state.audit.records() if r["event"] == "task_approved"]
    assert approved[-1]["by"] == "admin:alice"


def test_held_task_rejected_never_runs(agent: Agent, fake, local_spec: str) -> None:
    task_id = fake.issue(fake.task(NODE, local_spec))["payload"]["task_id"]
    agent.poll_once()
    agent.state.reject(task_id, "not approved by our privacy officer", "bob")
    assert agent.poll_once().run == 0
    (row,) = agent.state.store.tasks()
    assert (row["state"], row["reason"]) == ("rejected", "not approved by our privacy officer")
    with pytest.raises(Exception, match="only a held task can be approved"):
        agent.state.approve(task_id, "bob")
    assert fake.results == {}


def test_policy_off_holds_library_tasks_too(enrolled: Path, fake, library_spec) -> None:
    enrolled.write_text(
        enrolled.read_text().replace("auto_run_library: true", "auto_run_library: false")
    )
    agent = Agent(load_config(enrolled))
    try:
        fake.issue(fake.task(NODE, library_spec))
        assert agent.poll_once().held == 1
        assert agent.state.store.tasks()[0]["library"] is True
    finally:
        agent.close()


def test_upload_repeated_after_a_lost_answer_is_stored_once(agent: Agent, fake, library_spec):
    task_id = fake.issue(fake.task(NODE, library_spec))["payload"]["task_id"]
    fake.drop_result_answers = 1  # stored by the coordinator, the answer never arrives
    with pytest.raises(CoordinatorUnavailable, match="closed without an answer"):
        agent.poll_once()
    (entry,) = agent.state.store.outbox()
    assert entry["status"] == "pending" and entry["attempts"] == 1
    cycle = agent.poll_once()
    assert (cycle.run, cycle.uploaded, cycle.duplicates) == (0, 1, 1)
    assert len(fake.bodies) == 2 and fake.bodies[0] == fake.bodies[1]  # the same bytes twice
    assert list(fake.results) == [task_id]
    uploads = [r for r in agent.state.audit.records() if r["event"] == "upload"]
    assert [u["outcome"] for u in uploads] == ["retry", "duplicate"]
    assert uploads[0]["sha256"] == uploads[1]["sha256"]


def test_offline_coordinator_then_back(agent: Agent, fake, library_spec, caplog) -> None:
    fake.stop()
    with pytest.raises(CoordinatorUnavailable, match="unreachable: connection refused"):
        agent.poll_once()
    fake.start()  # same port
    task_id = fake.issue(fake.task(NODE, library_spec))["payload"]["task_id"]
    cycle = agent.poll_once()
    assert (cycle.tasks, cycle.uploaded) == (1, 1) and task_id in fake.results


def test_results_wait_in_the_outbox_while_uploads_fail(agent: Agent, fake, library_spec):
    fake.issue(fake.task(NODE, library_spec))
    fake.fail_results = True
    with pytest.raises(CoordinatorUnavailable, match="HTTP 503"):
        agent.poll_once()
    assert [e["status"] for e in agent.state.store.outbox()] == ["pending"]
    fake.fail_results = False
    assert agent.poll_once().uploaded == 1


def test_restart_loses_nothing(enrolled: Path, fake, library_spec, local_spec) -> None:
    config = load_config(enrolled)
    first = Agent(config)
    run_id = fake.issue(fake.task(NODE, library_spec))["payload"]["task_id"]
    held_id = fake.issue(fake.task(NODE, local_spec))["payload"]["task_id"]
    fake.fail_results = True
    with pytest.raises(CoordinatorUnavailable):
        first.poll_once()
    first.close()  # the node stops with a result in its outbox and a task held
    fake.fail_results = False
    second = Agent(config)
    try:
        cycle = second.poll_once()
        # Nothing is run or decided twice; the stored result goes out.
        assert (cycle.tasks, cycle.run, cycle.uploaded) == (0, 0, 1)
        assert run_id in fake.results
        states = {t["task_id"]: t["state"] for t in second.state.store.tasks()}
        assert states == {run_id: "sent", held_id: "held"}
        count, problems = second.state.audit.verify()
        assert problems == [] and count > 5
    finally:
        second.close()


def test_admin_mistakes_are_one_line_errors(agent: Agent, fake, library_spec) -> None:
    with pytest.raises(Exception, match="no task 'nope'"):
        agent.state.approve("nope", "alice")
    task_id = fake.issue(fake.task(NODE, library_spec))["payload"]["task_id"]
    agent.poll_once()
    with pytest.raises(Exception, match="is sent; only a held task can be rejected"):
        agent.state.reject(task_id, "late", "alice")
    with pytest.raises(Exception, match="give a reason"):
        agent.state.reject(task_id, "  ", "alice")


def test_one_agent_per_state_folder(agent: Agent) -> None:
    with pytest.raises(Exception, match="another agent is running on the state folder"):
        Agent(agent.config)


def test_hostile_tasks_are_refused_on_their_own_and_the_others_run(
    agent: Agent, fake: FakeCoordinator, library_spec: str
) -> None:
    # Each of these once raised in every cycle while listed, so that no other task ran.
    unsigned = fake.task(NODE, library_spec, round_id=10**30)
    fake.tasks.append((NODE, {"payload": unsigned, "signer": "coordinator", "key_id": "x"}))
    deep = fake.task(NODE, library_spec)
    deep["spec"] = "description: " + "[" * 500 + "]" * 500
    fake.issue(deep)
    fake.issue(fake.task(NODE, library_spec, round_id=10**30))
    good = fake.issue(fake.task(NODE, library_spec))
    cycle = agent.poll_once()
    assert (cycle.tasks, cycle.refused, cycle.run, cycle.uploaded) == (4, 3, 1, 1)
    reasons = [r["reason"] for r in agent.state.store.tasks() if r["state"] == "refused"]
    assert [r.split(":")[0] for r in reasons] == ["bad_signature", "spec_invalid", "malformed"]
    assert "nested deeper than 32 levels" in reasons[1] and "round_id" in reasons[2]
    assert good["payload"]["task_id"] in fake.results
    assert agent.poll_once().tasks == 0  # refused once, not again every cycle
