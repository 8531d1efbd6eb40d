"""The audit log's hash chain shows every kind of tampering."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from node.agent.audit import GENESIS, AuditLog, digest


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.jsonl")
    for n in range(5):
        audit.append("upload", task_id=f"t{n}", bytes=100 + n, sha256="sha256:ab", status=201)
    return audit


def _lines(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines(keepends=True)


def test_an_intact_chain(log: AuditLog) -> None:
    assert log.verify() == (5, [])
    lines = [line.rstrip("\n").encode() for line in _lines(log)]
    assert json.loads(lines[0])["prev"] == GENESIS
    assert json.loads(lines[3])["prev"] == digest(lines[2])
    first = json.loads(lines[0])
    assert list(first) == ["time", "event", "task_id", "bytes", "sha256", "status", "prev"]


@pytest.mark.parametrize("index", [0, 2])
def test_an_edited_line(log: AuditLog, index: int) -> None:
    lines = _lines(log)
    lines[index] = lines[index].replace('"bytes":10', '"bytes":90')
    log.path.write_text("".join(lines))
    _, problems = log.verify()
    assert problems[0].line == index + 2
    assert "edited, inserted or removed" in str(problems[0])


def test_an_edited_last_line(log: AuditLog) -> None:
    lines = _lines(log)
    lines[-1] = lines[-1].replace('"status":201', '"status":409')
    log.path.write_text("".join(lines))
    _, problems = log.verify()
    assert problems and "differs from the recorded last line" in str(problems[-1])


def test_removed_lines(log: AuditLog) -> None:
    lines = _lines(log)
    log.path.write_text("".join(lines[:2] + lines[3:]))
    assert log.verify()[1][0].line == 3
    log.path.write_text("".join(lines[:-1]))
    (problem,) = log.verify()[1]
    assert "lines were removed from its end" in str(problem)


def test_a_line_that_is_not_json(log: AuditLog) -> None:
    log.path.write_text("".join(_lines(log)[:-1]) + "garbage\n")
    assert any("not a JSON record" in str(p) for p in log.verify()[1])


def test_appends_from_two_writers_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"

    def write(name: str) -> None:
        writer = AuditLog(path)  # the agent and an admin's command: two objects, one file
        for n in range(25):
            writer.append("task_seen", by=name, n=n)

    threads = [threading.Thread(target=write, args=(who,)) for who in ("agent", "admin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AuditLog(path).verify() == (50, [])


def test_no_log_yet(tmp_path: Path) -> None:
    assert AuditLog(tmp_path / "audit.jsonl").verify() == (0, [])
