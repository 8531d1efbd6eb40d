"""Secure aggregation: group attempts and the keys and masked shares nodes send for them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the attempt and message tables of secure aggregation."""
    op.create_table(
        "agg_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("layout", sa.Text(), nullable=False),
        sa.Column("layout_hash", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("totals", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_agg_attempts_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agg_attempts")),
        sa.UniqueConstraint("round_id", "level", "area", "attempt", name="uq_agg_attempts_attempt"),
    )
    op.create_index(op.f("ix_agg_attempts_round_id"), "agg_attempts", ["round_id"])
    op.create_table(
        "agg_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["agg_attempts.id"],
            name=op.f("fk_agg_messages_attempt_id_agg_attempts"),
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_agg_messages_node_id_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agg_messages")),
        sa.UniqueConstraint("attempt_id", "node_id", "kind", name="uq_agg_messages_node_kind"),
    )


def downgrade() -> None:
    """Drop the tables of secure aggregation."""
    op.drop_table("agg_messages")
    op.drop_table("agg_attempts")
