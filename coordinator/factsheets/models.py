"""What factsheets published of each group table: every value, kept for later audits."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime

__all__ = ["GroupRelease"]


class GroupRelease(Base):
    """One group value of a publication: round, group, cell, measure, exact value, and
    whether it was shown (False: withheld; the coordinator holds the exact tables anyway).

    ``cell`` is JSON: the cell's fixed dimensions as ``[[dimension, value], ...]`` (``[]``
    for the overall value), so specs with other breakdowns name the same cell alike.
    """

    __tablename__ = "group_releases"
    __table_args__ = (
        sa.UniqueConstraint(
            "round_id",
            "level",
            "area",
            "cell",
            "measure",
            "value",
            "shown",
            name="uq_group_releases_value",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    level: Mapped[str] = mapped_column(sa.String(20))
    area: Mapped[str] = mapped_column(sa.String(32))
    cell: Mapped[str] = mapped_column(sa.String(200))
    measure: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[int] = mapped_column(sa.BigInteger)
    shown: Mapped[bool]
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
