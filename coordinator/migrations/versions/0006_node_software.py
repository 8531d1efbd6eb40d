"""What each node runs, as its last poll named it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nodes' software column."""
    with op.batch_alter_table("nodes") as batch:
        batch.add_column(sa.Column("software", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop the nodes' software column."""
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("software")
