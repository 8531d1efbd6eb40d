"""The agent's commands as a node's IT staff meet them: enrol, serve --once, the admin tools."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from lhs.cli import cli
from tests.cli import one_line_error
from tests.node.agent.fakecoord import NODE, FakeCoordinator


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), prog_name="lhs", env=env)


def test_enrol_pins_the_key_and_prints_both_fingerprints(config_path: Path, fake) -> None:
    code = fake.add_node(NODE)
    result = _run("node", "enrol", "--config", str(config_path), env={"LHS_ENROLMENT_CODE": code})
    assert result.exit_code == 0, result.output
    keys = config_path.parent / "keys"
    assert stat.S_IMODE((keys / "node.key").stat().st_mode) == 0o600
    assert (keys / "coordinator.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert not (keys / "node.key.pending").exists()
    assert "node key fingerprint:        ed25519:" in result.output
    assert f"coordinator key fingerprint: {fake.key_id}" in result.output
    assert code not in (keys / "enrolment.json").read_text()
    audit = (config_path.parent / "state" / "audit.jsonl").read_text()
    assert '"event":"enrolled"' in audit and code not in audit
    again = _run("node", "enrol", "--config", str(config_path))
    assert again.exit_code == 0 and again.output.startswith("already enrolled")


def test_enrol_with_a_bad_code_then_a_good_one(config_path: Path, fake) -> None:
    good = fake.add_node(NODE)
    bad = _run("node", "enrol", "--config", str(config_path), "--code", "wrong")
    one_line_error(bad, "HTTP 403", "bad_code")
    pending = (config_path.parent / "keys" / "node.key.pending").read_bytes()
    ok = _run("node", "enrol", "--config", str(config_path), "--code", good)
    assert ok.exit_code == 0, ok.output
    assert (config_path.parent / "keys" / "node.key").read_bytes() == pending


def test_enrol_refuses_a_key_it_did_not_make(config_path: Path, fake) -> None:
    keys = config_path.parent / "keys"
    keys.mkdir()
    (keys / "node.key").write_text("someone else's key")
    one_line_error(
        _run("node", "enrol", "--config", str(config_path), "--code", fake.add_node(NODE)),
        "exists but no enrolment is recorded",
    )


def test_enrol_refuses_a_changed_coordinator_key(config_path: Path, fake) -> None:
    keys = config_path.parent / "keys"
    keys.mkdir()
    other = FakeCoordinator()
    (keys / "coordinator.pub").write_bytes(_pem(other.key))
    one_line_error(
        _run("node", "enrol", "--config", str(config_path), "--code", fake.add_node(NODE)),
        "is pinned",
    )


def test_enrol_needs_a_code_and_a_config(config_path: Path) -> None:
    one_line_error(_run("node", "enrol", "--config", str(config_path)), "LHS_ENROLMENT_CODE")
    result = _run("node", "enrol", env={"LHS_NODE_CONFIG": ""})
    assert result.exit_code == 2 and "give --config" in result.output


def test_serve_once_then_the_admin_tools(enrolled: Path, fake, library_spec, local_spec) -> None:
    config = ("--config", str(enrolled))
    ran = fake.issue(fake.task(NODE, library_spec))["payload"]["task_id"]
    held = fake.issue(fake.task(NODE, local_spec))["payload"]["task_id"]
    once = _run("node", "serve", "--once", *config)
    assert once.exit_code == 0, once.output
    assert "2 new task(s): 0 refused, 1 held; 1 run; 1 uploaded" in once.output
    listing = _run("node", "tasks", *config).output
    assert f"{ran:<38} sent" in listing and f"{held:<38} held" in listing
    assert "hip_fracture_los v1 (library)" in listing
    one_line_error(_run("node", "approve", ran, *config), "is sent", "only a held task")
    approved = _run("node", "approve", held, *config)
    assert approved.exit_code == 0 and "runs on the agent's next cycle" in approved.output
    assert _run("node", "serve", "--once", *config).exit_code == 0
    assert held in fake.results
    one_line_error(_run("node", "reject", held, "--reason", "late", *config), "is sent")
    assert "no tasks in state held" in _run("node", "tasks", "--state", "held", *config).output


def test_reject_from_the_command_line(enrolled: Path, fake, local_spec) -> None:
    config = ("--config", str(enrolled))
    held = fake.issue(fake.task(NODE, local_spec))["payload"]["task_id"]
    _run("node", "serve", "--once", *config)
    result = _run("node", "reject", held, "--reason", "outside our remit", *config)
    assert result.exit_code == 0, result.output
    assert "rejected" in _run("node", "tasks", *config).output
    assert "outside our remit" in _run("node", "log", "--tail", "1", *config).output


def test_show_sent_prints_exactly_what_was_sent(enrolled: Path, fake, library_spec) -> None:
    config = ("--config", str(enrolled))
    task_id = fake.issue(fake.task(NODE, library_spec))["payload"]["task_id"]
    one_line_error(_run("node", "show-sent", *config), "nothing sent yet")
    assert _run("node", "serve", "--once", *config).exit_code == 0
    (sent,) = fake.bodies
    raw = _run("node", "show-sent", task_id, "--raw", *config)
    assert raw.stdout_bytes == sent
    shown = _run("node", "show-sent", *config).output.splitlines()
    digest = hashlib.sha256(sent).hexdigest()
    assert shown[0].startswith(f"# task {task_id}: {len(sent)} bytes, sha256:{digest}, sent")
    # In secure aggregation only the headline leaves; the page says where the rest is.
    assert shown[1].startswith("# the headline only") and "lhs node run" in shown[1]
    assert shown[2].encode() == sent
    uploads = [json.loads(x) for x in _run("node", "log", *config).output.splitlines()]
    assert [u["bytes"] for u in uploads if u["event"] == "upload"] == [len(sent)]


def test_serve_once_with_the_coordinator_away(enrolled: Path, fake) -> None:
    fake.stop()
    result = _run("node", "serve", "--once", "--config", str(enrolled))
    one_line_error(result, f"coordinator {fake.url} unreachable: connection refused")


def test_serve_before_enrolment(config_path: Path) -> None:
    one_line_error(_run("node", "serve", "--once", "--config", str(config_path)), "enrol first")


def test_log_verify_detects_an_edited_line(enrolled: Path, fake, library_spec) -> None:
    config = ("--config", str(enrolled))
    fake.issue(fake.task(NODE, library_spec))
    _run("node", "serve", "--once", *config)
    ok = _run("node", "log", "--verify", *config)
    assert ok.exit_code == 0 and "hash chain intact" in ok.output
    log = enrolled.parent / "state" / "audit.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if '"event":"task_run"' in line)
    lines[number] = lines[number].replace('"k":10', '"k":5')
    log.write_text("".join(lines))
    bad = _run("node", "log", "--verify", *config)
    assert bad.exit_code == 1
    assert f"line {number + 2}: 'prev' does not match the SHA-256 of the line before" in bad.output
    assert bad.output.rstrip().splitlines()[-1].startswith("lhs: error: ")
    assert "the audit log was altered" in bad.output


def test_config_refuses_plain_http_to_another_host(tmp_path: Path) -> None:
    path = tmp_path / "node.yaml"
    path.write_text("coordinator: http://coordinator.example.org\nnode_id: a\n")
    one_line_error(_run("node", "tasks", "--config", str(path)), "plain http", "use https")


def _pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LHS_NODE_CONFIG", raising=False)
    monkeypatch.delenv("LHS_ENROLMENT_CODE", raising=False)
    assert "LHS_NODE_CONFIG" not in os.environ
