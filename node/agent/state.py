"""A node's local state and the decisions its admin takes on held tasks.

Every event goes to two places at once: the hash-chained audit log (the
record) and the ``node.agent`` logger (one readable line for the operator).
"""

from __future__ import annotations

import getpass
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from protocol import parse_time

from ..config import NodeConfig
from ..ledger import Ledger
from .aggstore import AggStore
from .audit import AuditLog
from .errors import AgentError
from .store import Store

__all__ = ["NodeState", "admin_name", "task_payload"]

log = logging.getLogger("node.agent")


def admin_name() -> str:
    """Return who runs this command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


def task_payload(row: dict[str, Any]) -> dict[str, Any]:
    """Return the payload of a recorded task's envelope (as it arrived)."""
    envelope = json.loads(row["envelope"])
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    return payload if isinstance(payload, dict) else {}


class NodeState:
    """The task database, outbox, aggregation state, audit log and release ledger under a
    node's state folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.store = Store(folder / "agent.sqlite")
        self.audit = AuditLog(folder / "audit.jsonl")
        self.aggregation = AggStore(self.store.engine)
        self.ledger = Ledger(folder / "ledger")

    @classmethod
    def open(cls, config: NodeConfig) -> NodeState:
        """Open the state folder named by a node's config."""
        return cls(Path(config.state))

    def close(self) -> None:
        """Release the database."""
        self.store.close()

    def event(self, name: str, message: str, level: int = logging.INFO, **fields: Any) -> None:
        """Record an event in the audit log and log it as one line."""
        self.audit.append(name, **fields)
        log.log(level, "%s: %s", name, message)

    def _held(self, task_id: str, verb: str) -> dict[str, Any]:
        row = self.store.task(task_id)
        if row is None:
            raise AgentError(f"no task {task_id!r} (see 'lhs node tasks')")
        if row["state"] != "held":
            raise AgentError(f"task {task_id} is {row['state']}; only a held task can be {verb}")
        return row

    def approve(self, task_id: str, by: str) -> None:
        """Approve a held task so that the agent runs it on its next cycle."""
        row = self._held(task_id, "approved")
        if parse_time(row["deadline"], "deadline") <= datetime.now(UTC):
            raise AgentError(f"task {task_id}: its deadline {row['deadline']} has passed")
        if not self.store.set_state(task_id, "approved", f"approved by {by}", expect="held"):
            raise AgentError(f"task {task_id} changed while it was being approved; look again")
        self.event(
            "task_approved",
            f"{task_id} ({row['spec_id']}) approved by {by}",
            task_id=task_id,
            spec_hash=row["spec_hash"],
            by=f"admin:{by}",
        )

    def reject(self, task_id: str, reason: str, by: str) -> None:
        """Reject a held task for good, with the admin's reason."""
        if not reason.strip():
            raise AgentError("give a reason for the rejection (--reason)")
        row = self._held(task_id, "rejected")
        if not self.store.set_state(task_id, "rejected", reason, expect="held"):
            raise AgentError(f"task {task_id} changed while it was being rejected; look again")
        self.event(
            "task_rejected",
            f"{task_id} ({row['spec_id']}) rejected by {by}: {reason}",
            task_id=task_id,
            spec_hash=row["spec_hash"],
            by=f"admin:{by}",
            reason=reason,
        )
