"""Tables of submitted specs and the decisions taken on them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import Base, UTCDateTime

__all__ = ["STATUSES", "Decision", "Spec"]

STATUSES = ("submitted", "approved", "rejected")


class Spec(Base):
    """A submitted query spec: its YAML text exactly as sent, and its content hash."""

    __tablename__ = "specs"

    id: Mapped[int] = mapped_column(primary_key=True)
    spec_hash: Mapped[str] = mapped_column(sa.String(80), unique=True)
    query_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    yaml: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20))
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())

    submitted_by: Mapped[User] = relationship()
    decisions: Mapped[list[Decision]] = relationship(back_populates="spec", order_by="Decision.id")


class Decision(Base):
    """An approval or rejection of a spec, with who, when and why."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    spec_id: Mapped[int] = mapped_column(sa.ForeignKey("specs.id"), index=True)
    decision: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.Text)
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The round an approval opened; null for a rejection.
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rounds.id"))

    spec: Mapped[Spec] = relationship(back_populates="decisions")
    decided_by: Mapped[User] = relationship()
