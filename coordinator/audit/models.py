"""The append-only table of audit events."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime

__all__ = ["AuditEvent"]


class AuditEvent(Base):
    """One recorded action: who (actor), when, what (action) and on what (subject)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(100))
    subject: Mapped[str] = mapped_column(sa.String(200), index=True)
    # JSON text of the details (reason, refusal code, ...); null when there are none.
    detail: Mapped[str | None] = mapped_column(sa.Text)
