"""The agent's durable state: every task seen and the outbox of signed results (SQLite).

A task is recorded the moment it arrives, keyed by the SHA-256 of its
envelope so a task the coordinator lists again is recognised without a second
decision.  A result is written to the outbox, in the same transaction that
marks its task as run, before any upload is tried; it leaves the ``pending``
state only when the coordinator has confirmed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..private import private_file
from .audit import now_text

__all__ = ["STATES", "Store"]

STATES = ("held", "approved", "rejected", "refused", "failed", "run", "sent")
"""A task's life: held or approved, then run (result in the outbox) and sent."""

_meta = sa.MetaData()
tasks = sa.Table(
    "tasks",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest", sa.String(80), nullable=False, unique=True),
    sa.Column("task_id", sa.String(200), index=True),
    sa.Column("accepted", sa.Boolean, nullable=False),
    sa.Column("round_id", sa.Integer),
    sa.Column("spec_id", sa.String(200)),
    sa.Column("spec_version", sa.Integer),
    sa.Column("spec_hash", sa.String(80)),
    sa.Column("min_cell", sa.Integer),
    sa.Column("deadline", sa.String(40)),
    sa.Column("library", sa.Boolean),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("envelope", sa.Text, nullable=False),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
outbox = sa.Table(
    "outbox",
    _meta,
    sa.Column("task_id", sa.String(200), primary_key=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("bytes", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(80), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("http_status", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("sent_at", sa.String(40)),
)


def _pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL lets an admin's command read while the agent writes; FULL makes a commit survive a crash.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """The SQLite database of one node's agent."""

    def __init__(self, path: Path) -> None:
        self.path = private_file(path)
        self.engine = sa.create_engine(f"sqlite:///{path}")
        sa.event.listen(self.engine, "connect", _pragmas)
        _meta.create_all(self.engine)

    def close(self) -> None:
        """Release the database."""
        self.engine.dispose()

    def by_digest(self, digest: str) -> dict[str, Any] | None:
        """Return the task recorded for an envelope digest, if any."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(tasks).where(tasks.c.digest == digest)).first()
        return dict(row._mapping) if row else None

    def task(self, task_id: str) -> dict[str, Any] | None:
        """Return the accepted task (one that passed every check) with this id, if any."""
        query = sa.select(tasks).where(tasks.c.task_id == task_id, tasks.c.accepted.is_(True))
        with self.engine.connect() as c:
            row = c.execute(query.order_by(tasks.c.id)).first()
        return dict(row._mapping) if row else None

    def add_task(self, **values: Any) -> None:
        """Record a task that has just arrived."""
        stamp = now_text()
        with self.engine.begin() as c:
            c.execute(sa.insert(tasks).values(received_at=stamp, updated_at=stamp, **values))

    def set_state(
        self, task_id: str, state: str, reason: str | None = None, *, expect: str | None = None
    ) -> bool:
        """Move an accepted task to a state (only from ``expect`` when given); True if it moved."""
        query = sa.update(tasks).where(tasks.c.task_id == task_id, tasks.c.accepted.is_(True))
        if expect is not None:
            query = query.where(tasks.c.state == expect)
        values: dict[str, Any] = {"state": state, "updated_at": now_text()}
        if reason is not None:
            values["reason"] = reason
        with self.engine.begin() as c:
            return c.execute(query.values(**values)).rowcount > 0

    def tasks(self, state: str | None = None) -> list[dict[str, Any]]:
        """Return every recorded task (or those in one state), oldest first."""
        query = sa.select(tasks).order_by(tasks.c.id)
        if state is not None:
            query = query.where(tasks.c.state == state, tasks.c.accepted.is_(True))
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(query)]

    def store_result(self, task_id: str, body: bytes, sha256: str) -> None:
        """Put a signed result in the outbox and mark its task run, in one transaction."""
        with self.engine.begin() as c:
            c.execute(
                sa.insert(outbox).values(
                    task_id=task_id,
                    body=body,
                    bytes=len(body),
                    sha256=sha256,
                    status="pending",
                    created_at=now_text(),
                    attempts=0,
                )
            )
            c.execute(
                sa.update(tasks)
                .where(tasks.c.task_id == task_id, tasks.c.accepted.is_(True))
                .values(state="run", updated_at=now_text())
            )

    def outbox(self, status: str | None = None, task_id: str | None = None) -> Iterator[dict]:
        """Yield outbox entries (by status or task), oldest first."""
        query = sa.select(outbox).order_by(outbox.c.created_at, outbox.c.task_id)
        if status is not None:
            query = query.where(outbox.c.status == status)
        if task_id is not None:
            query = query.where(outbox.c.task_id == task_id)
        with self.engine.connect() as c:
            rows = [dict(r._mapping) for r in c.execute(query)]
        yield from rows

    def record_attempt(
        self, task_id: str, status: str, http_status: int | None, error: str | None
    ) -> None:
        """Record an upload attempt; a confirmed one marks the entry and its task sent."""
        values: dict[str, Any] = {
            "status": status,
            "http_status": http_status,
            "error": error,
            "attempts": outbox.c.attempts + 1,
        }
        if status == "sent":
            values["sent_at"] = now_text()
        with self.engine.begin() as c:
            c.execute(sa.update(outbox).where(outbox.c.task_id == task_id).values(**values))
            if status == "sent":
                c.execute(
                    sa.update(tasks)
                    .where(tasks.c.task_id == task_id, tasks.c.accepted.is_(True))
                    .values(state="sent", updated_at=now_text())
                )

    def requeue(self, task_id: str) -> bool:
        """Mark a sent result pending again (the coordinator lists its task once more)."""
        query = sa.update(outbox).where(outbox.c.task_id == task_id, outbox.c.status == "sent")
        with self.engine.begin() as c:
            return c.execute(query.values(status="pending")).rowcount > 0
