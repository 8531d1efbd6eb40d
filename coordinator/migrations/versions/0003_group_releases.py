"""Group releases: every group value of a publication, shown or withheld, for later audits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table of published group values."""
    op.create_table(
        "group_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("cell", sa.String(length=200), nullable=False),
        sa.Column("measure", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_group_releases_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_releases")),
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
    op.create_index(op.f("ix_group_releases_round_id"), "group_releases", ["round_id"])


def downgrade() -> None:
    """Drop the table of published group values."""
    op.drop_index(op.f("ix_group_releases_round_id"), table_name="group_releases")
    op.drop_table("group_releases")
