"""Tables of guessing control: failures per key, and refused anonymous requests per day."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime

__all__ = ["RefusalCount", "Throttle"]


class Throttle(Base):
    """Failures of one key (``login:user:alice``, ``enrol:addr:10.0.0.7``) in its window."""

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    failures: Mapped[int]
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RefusalCount(Base):
    """How many requests without a known caller were refused, per day and code (one row
    each would let anyone grow the database)."""

    __tablename__ = "refusal_counts"

    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    count: Mapped[int]
