"""Recurring cycles, the round each period of a cycle opened, and improvement actions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables of cycles, cycle rounds and improvement actions."""
    op.create_table(
        "cycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("queries", sa.Text(), nullable=False),
        sa.Column("cadence_months", sa.Integer(), nullable=False),
        sa.Column("period_months", sa.Integer(), nullable=False),
        sa.Column("first_period", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_cycles_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycles")),
        sa.UniqueConstraint("name", name=op.f("uq_cycles_name")),
    )
    op.create_table(
        "cycle_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("query_id", sa.String(length=64), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_cycle_rounds_cycle_id_cycles")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_cycle_rounds_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_rounds")),
        sa.UniqueConstraint("cycle_id", "period_start", "query_id", name="uq_cycle_rounds_period"),
        sa.UniqueConstraint("round_id", name=op.f("uq_cycle_rounds_round_id")),
    )
    op.create_table(
        "improvement_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=True),
        sa.Column("area", sa.String(length=32), nullable=True),
        sa.Column("query_id", sa.String(length=64), nullable=True),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(node_id IS NULL) <> (area IS NULL) AND (level IS NULL) = (area IS NULL)",
            name=op.f("ck_improvement_actions_provider_or_area"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_improvement_actions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_improvement_actions_node_id_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_actions")),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("improvement_actions")
    op.drop_table("cycle_rounds")
    op.drop_table("cycles")
