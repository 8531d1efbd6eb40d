"""Gather what a node's report shows, read-only, from its state folder and keys.

Everything comes from what the agent keeps: the task database and outbox
(``agent.sqlite``), the secure-aggregation requests answered, the hash-chained audit
log and the release ledger.  Nothing is written, nothing secret is read (no exact cube,
no private key): the database is opened read-only.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..agent.aggstore import agg_requests
from ..agent.audit import AuditLog
from ..agent.state import task_payload
from ..agent.store import outbox, tasks
from ..config import NodeConfig
from ..errors import NodeError
from ..ledger import Ledger

__all__ = ["Message", "NodeReport", "Task", "gather", "group_name"]

DECLINED = ("rejected", "refused", "failed")
"""Task states in which nothing of the task was sent: declined here, or refused there."""


@dataclass(frozen=True)
class Task:
    """A task as it arrived and what became of it."""

    task_id: str
    received_at: str
    spec: str
    spec_hash: str
    round_id: int | None
    min_cell: int | None
    deadline: str
    library: bool
    state: str
    reason: str
    spec_text: str


@dataclass(frozen=True)
class Message:
    """Exact bytes this node sent (or will send), with their hash as recorded and as read."""

    kind: str
    name: str
    about: str
    state: str
    at: str
    body: bytes
    recorded_sha256: str

    @property
    def sha256(self) -> str:
        """The SHA-256 of the bytes, computed now."""
        return "sha256:" + hashlib.sha256(self.body).hexdigest()

    @property
    def text(self) -> str:
        """The bytes as text (the messages are UTF-8 JSON)."""
        return self.body.decode("utf-8", errors="replace")


@dataclass
class NodeReport:
    """Everything the report page shows."""

    node_id: str
    coordinator: str
    generated_at: str
    enrolment: dict[str, Any]
    tasks: list[Task]
    sent: list[Message]
    waiting: list[Message]
    declined_requests: list[dict[str, Any]]
    audit_records: int
    audit_problems: list[str]
    audit_events: dict[str, int]
    audit_path: str
    releases: list[dict[str, Any]] = field(default_factory=list)

    def in_state(self, *states: str) -> list[Task]:
        """Return the tasks in any of the given states."""
        return [t for t in self.tasks if t.state in states]


def _engine(path: Path) -> sa.Engine:
    # Read-only: the report must never change what the agent keeps.
    return sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")


def _task(row: dict[str, Any]) -> Task:
    payload = task_payload(row)
    spec = f"{row['spec_id'] or '?'} v{row['spec_version'] or '?'}"
    return Task(
        task_id=row["task_id"] or row["digest"],
        received_at=row["received_at"],
        spec=spec,
        spec_hash=row["spec_hash"] or "",
        round_id=row["round_id"],
        min_cell=row["min_cell"],
        deadline=row["deadline"] or "",
        library=bool(row["library"]),
        state=row["state"],
        reason=row["reason"] or "",
        spec_text=str(payload.get("spec", "")),
    )


def _results(rows: list[dict[str, Any]]) -> list[Message]:
    return [
        Message(
            kind="result",
            name=f"result-{number:03d}.json",
            about=row["task_id"],
            state=row["status"] if row["attempts"] else "waiting",
            at=row["sent_at"] or row["created_at"],
            body=row["body"],
            recorded_sha256=row["sha256"],
        )
        for number, row in enumerate(rows, start=1)
    ]


def group_name(stored: str | None) -> str:
    """Return a group as people read it ("network NPZ-A"), from its stored JSON pair."""
    try:
        level, area = json.loads(stored or "")
    except (ValueError, TypeError):
        return str(stored)
    return f"{level} {area}"


def _aggregation(rows: list[dict[str, Any]]) -> list[Message]:
    return [
        Message(
            kind=f"aggregation {row['phase'] or ''}".strip(),
            name=f"aggregation-{number:03d}.json",
            about=f"round {row['round_id']}, {group_name(row['group'])}, attempt {row['attempt']}",
            state=row["state"],
            at=row["updated_at"],
            body=row["body"],
            recorded_sha256=row["sha256"] or "",
        )
        for number, row in enumerate(rows, start=1)
    ]


def _read_state(path: Path) -> tuple[list[dict], list[dict], list[dict]]:
    engine = _engine(path)
    try:
        with engine.connect() as c:
            task_rows = [dict(r._mapping) for r in c.execute(sa.select(tasks).order_by(tasks.c.id))]
            out_rows = [
                dict(r._mapping) for r in c.execute(sa.select(outbox).order_by(outbox.c.created_at))
            ]
            agg_rows: list[dict] = []
            if sa.inspect(c).has_table(agg_requests.name):
                query = sa.select(agg_requests).order_by(agg_requests.c.received_at)
                agg_rows = [dict(r._mapping) for r in c.execute(query)]
    except sa.exc.SQLAlchemyError as exc:
        raise NodeError(f"{path}: cannot be read as the agent's database ({exc.orig})") from None
    finally:
        engine.dispose()
    return task_rows, out_rows, agg_rows


def _releases(folder: Path) -> list[dict[str, Any]]:
    if not folder.is_dir():
        return []
    return [
        {
            "at": r.at,
            "query": r.query,
            "scope": r.scope,
            "k": r.k,
            "published": sum(c.value is not None for c in r.cells),
            "withheld": sum(c.value is None for c in r.cells),
        }
        for r in Ledger(folder).releases()
    ]


def _enrolment(config: NodeConfig) -> dict[str, Any]:
    path = Path(config.keys) / "enrolment.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def gather(config: NodeConfig) -> NodeReport:
    """Read a node's state folder and keys into a report; refuse a folder that is not one."""
    folder = Path(config.state)
    database = folder / "agent.sqlite"
    if not folder.is_dir():
        raise NodeError(f"no state folder {folder}: has this node been enrolled and served?")
    if not database.is_file():
        raise NodeError(f"{folder} holds no agent database (agent.sqlite): not a node's state")
    task_rows, out_rows, agg_rows = _read_state(database)
    audit = AuditLog(folder / "audit.jsonl")
    count, problems = audit.verify()
    # As `lhs node show-sent`: a result tried at least once has left (maybe unconfirmed).
    tried = {row["task_id"] for row in out_rows if row["attempts"]}
    results = _results(out_rows)
    answered = _aggregation([r for r in agg_rows if r["body"] is not None])
    sent = [m for m in results if m.about in tried] + [m for m in answered if m.state != "pending"]
    waiting = [m for m in results if m.about not in tried]
    waiting += [m for m in answered if m.state == "pending"]
    enrolment = _enrolment(config)
    return NodeReport(
        node_id=config.node_id or enrolment.get("node_id", "?"),
        coordinator=config.coordinator or enrolment.get("coordinator", "?"),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        enrolment=enrolment,
        tasks=[_task(r) for r in task_rows],
        sent=sent,
        waiting=waiting,
        declined_requests=[r for r in agg_rows if r["body"] is None],
        audit_records=count,
        audit_problems=[str(p) for p in problems],
        audit_events=dict(Counter(r.get("event", "?") for r in audit.records())),
        audit_path=str(audit.path),
        releases=_releases(folder / "ledger"),
    )
