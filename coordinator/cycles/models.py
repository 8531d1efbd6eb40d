"""Tables of recurring cycles, the rounds each period opened, and improvement actions."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import Base, UTCDateTime
from ..rounds.models import Round

__all__ = ["Cycle", "CycleRound", "ImprovementAction"]


class Cycle(Base):
    """A named set of library specs run again every ``cadence_months``, each round over a
    data period of ``period_months`` starting at ``first_period`` (then one cadence later)."""

    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    queries: Mapped[str] = mapped_column(sa.Text)
    """The library spec ids, as a JSON list."""
    cadence_months: Mapped[int]
    period_months: Mapped[int]
    first_period: Mapped[date] = mapped_column(sa.Date)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    created_by: Mapped[User] = relationship()
    rounds: Mapped[list[CycleRound]] = relationship(
        back_populates="cycle", order_by="(CycleRound.period_start, CycleRound.query_id)"
    )


class CycleRound(Base):
    """The round one period of a cycle opened for one of its specs.

    The unique constraint makes opening a period twice (two schedulers at once) harmless:
    the second insert fails and its round is rolled back with it.
    """

    __tablename__ = "cycle_rounds"
    __table_args__ = (
        sa.UniqueConstraint("cycle_id", "period_start", "query_id", name="uq_cycle_rounds_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycles.id"))
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)
    query_id: Mapped[str] = mapped_column(sa.String(64))
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"), unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())

    cycle: Mapped[Cycle] = relationship(back_populates="rounds")
    round: Mapped[Round] = relationship()


class ImprovementAction(Base):
    """Something a provider or an area did to improve, on a date: a marker on its trends.

    Either ``node_id`` (a provider) or ``level`` and ``area`` (an area) is set; ``query_id``
    names the indicator it aims at, or is empty for all of them.
    """

    __tablename__ = "improvement_actions"
    __table_args__ = (
        sa.CheckConstraint(
            "(node_id IS NULL) <> (area IS NULL) AND (level IS NULL) = (area IS NULL)",
            name="provider_or_area",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[str | None] = mapped_column(sa.ForeignKey("nodes.id"))
    level: Mapped[str | None] = mapped_column(sa.String(20))
    area: Mapped[str | None] = mapped_column(sa.String(32))
    query_id: Mapped[str | None] = mapped_column(sa.String(64))
    taken_on: Mapped[date] = mapped_column(sa.Date)
    text: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    created_by: Mapped[User] = relationship()
