"""Tables of secure aggregation: one row per group attempt, one per key or share received."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime

__all__ = ["STATES", "AggAttempt", "AggMessage"]

STATES = ("keys", "shares", "done", "restarted", "failed")
"""An attempt collects keys, then shares; it ends done, restarted (attempt+1) or failed."""


class AggAttempt(Base):
    """One attempt at aggregating one group of a round: fixed members, layout and state."""

    __tablename__ = "agg_attempts"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "level", "area", "attempt", name="uq_agg_attempts_attempt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    level: Mapped[str] = mapped_column(sa.String(20))
    area: Mapped[str] = mapped_column(sa.String(32))
    attempt: Mapped[int]
    # JSON: the sorted member node ids, and the cell layout every share follows.
    members: Mapped[str] = mapped_column(sa.Text)
    layout: Mapped[str] = mapped_column(sa.Text)
    layout_hash: Mapped[str] = mapped_column(sa.String(80))
    state: Mapped[str] = mapped_column(sa.String(20))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # JSON: the unmasked sum, in layout order; set only when the attempt is done.
    totals: Mapped[str | None] = mapped_column(sa.Text)

    messages: Mapped[list[AggMessage]] = relationship(
        back_populates="attempt_row", order_by="AggMessage.node_id"
    )


class AggMessage(Base):
    """A node's signed key or masked share for one attempt, stored as received."""

    __tablename__ = "agg_messages"
    __table_args__ = (
        sa.UniqueConstraint("attempt_id", "node_id", "kind", name="uq_agg_messages_node_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("agg_attempts.id"))
    node_id: Mapped[str] = mapped_column(sa.ForeignKey("nodes.id"))
    kind: Mapped[str] = mapped_column(sa.String(10))
    envelope: Mapped[str] = mapped_column(sa.Text)
    # SHA-256 of the canonical payload: a repeated upload is compared by this.
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    public_key: Mapped[str | None] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    attempt_row: Mapped[AggAttempt] = relationship(back_populates="messages")
