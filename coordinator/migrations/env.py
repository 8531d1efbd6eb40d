"""Alembic environment of the coordinator's migrations.

Run through ``coordinator.db.init_db`` (``lhs coordinator init``), which passes an open
connection.  To write a new migration after changing the models::

    python -c "from alembic import command; from coordinator.db import alembic_config;
    command.revision(alembic_config(url='sqlite:///dev.sqlite3'), 'what changed',
    autogenerate=True)"
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

import coordinator.models  # noqa: F401  (fills Base.metadata)
from coordinator.db import Base


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as own:
        _run(own)
    engine.dispose()
