"""Tables of rounds, their signed tasks, uploaded results and seen poll nonces."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import Base, UTCDateTime
from ..review.models import Spec

__all__ = ["PollNonce", "Result", "Round", "Task"]


class Round(Base):
    """One run of an approved spec over its target nodes, with k and a deadline."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    spec_id: Mapped[int] = mapped_column(sa.ForeignKey("specs.id"), index=True)
    min_cell: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    spec: Mapped[Spec] = relationship()
    opened_by: Mapped[User] = relationship()
    tasks: Mapped[list[Task]] = relationship(back_populates="round", order_by="Task.node_id")


class Task(Base):
    """The signed task envelope of one node in one round, stored as sent."""

    __tablename__ = "tasks"
    __table_args__ = (sa.UniqueConstraint("round_id", "node_id", name="uq_tasks_round_node"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"))
    node_id: Mapped[str] = mapped_column(sa.ForeignKey("nodes.id"), index=True)
    envelope: Mapped[str] = mapped_column(sa.Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    round: Mapped[Round] = relationship(back_populates="tasks")
    result: Mapped[Result | None] = relationship(back_populates="task")


class Result(Base):
    """A node's signed result for one task: the envelope as received and its cube."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("tasks.id"), unique=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    node_id: Mapped[str] = mapped_column(sa.ForeignKey("nodes.id"))
    envelope: Mapped[str] = mapped_column(sa.Text)
    result: Mapped[str] = mapped_column(sa.Text)
    # SHA-256 of the canonical JSON of the cube: a repeated upload is compared by this.
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    task: Mapped[Task] = relationship(back_populates="result")


class PollNonce(Base):
    """A nonce a node's poll used; kept for a while so the same poll cannot be replayed."""

    __tablename__ = "poll_nonces"

    node_id: Mapped[str] = mapped_column(sa.ForeignKey("nodes.id"), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
