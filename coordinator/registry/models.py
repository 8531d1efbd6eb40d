"""Tables of organisations, regions, nodes and one-time enrolment codes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime

__all__ = ["REGION_KINDS", "EnrolmentCode", "Membership", "Node", "Organisation", "Region"]

REGION_KINDS = ("network", "zorgkantoor", "province")
"""Palliative-care network, zorgkantoor region (ZKnn) and province."""


class Organisation(Base):
    """A care provider that runs one or more nodes."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation")
    nodes: Mapped[list[Node]] = relationship(back_populates="organisation")


class Region(Base):
    """An area factsheets are made for: a network, a zorgkantoor region or a province."""

    __tablename__ = "regions"
    __table_args__ = (sa.UniqueConstraint("kind", "code", name="uq_regions_kind_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))


class Membership(Base):
    """An organisation's place in one kind of region (at most one region per kind)."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "kind", name="uq_memberships_organisation_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    # Copied from the region so the database itself allows one region per kind.
    kind: Mapped[str] = mapped_column(sa.String(20))

    organisation: Mapped[Organisation] = relationship(back_populates="memberships")
    region: Mapped[Region] = relationship()


class Node(Base):
    """A provider's node agent; its public key is registered at enrolment."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    public_key: Mapped[str | None] = mapped_column(sa.String(64))
    key_id: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the node runs (e.g. "lhs 0.1.0"), as its last poll named it.
    software: Mapped[str | None] = mapped_column(sa.String(64))

    organisation: Mapped[Organisation] = relationship(back_populates="nodes")

    @property
    def actor(self) -> str:
        """Return how the audit log names this node."""
        return f"node:{self.id}"


class EnrolmentCode(Base):
    """A one-time code an admin issued for a node, stored only as its SHA-256."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[str] = mapped_column(sa.ForeignKey("nodes.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
