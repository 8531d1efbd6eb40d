"""The database: declarative Base, engine, one session per request, Alembic migrations.

The schema is owned by the Alembic migrations shipped in ``coordinator/migrations``;
``init_db`` applies them (``lhs coordinator init`` calls it), so SQLite and PostgreSQL get
the same tables and a later release can change them in place without losing data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

__all__ = [
    "MIGRATIONS",
    "Base",
    "UTCDateTime",
    "alembic_config",
    "get_session",
    "init_app",
    "init_db",
    "make_engine",
    "schema_is_current",
    "session_scope",
]

MIGRATIONS = Path(__file__).parent / "migrations"

# Named constraints let Alembic alter them later, on SQLite (batch mode) as on PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every coordinator table."""

    metadata = sa.MetaData(naming_convention=NAMING)


class UTCDateTime(sa.TypeDecorator):
    """A UTC timestamp: stored naive (SQLite has no zones), always read back aware."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Store an aware time as naive UTC; refuse a naive one (its zone is unknown)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing a naive datetime: give times in UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Read a stored time back as aware UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


def make_engine(url: str) -> sa.Engine:
    """Create an engine; SQLite gets foreign keys on and waits for locks instead of failing."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    memory = parsed.database in (None, "", ":memory:")
    if not memory:
        # The database holds accounts, results and every group's exact table: the owner's alone.
        path = Path(parsed.database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else None,
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """Return an Alembic config for the shipped migrations, bound to a connection or URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def init_db(engine: sa.Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def schema_is_current(engine: sa.Engine) -> bool:
    """Return whether the database carries the newest migration."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def init_app(app: Flask, url: str) -> None:
    """Give the app its engine and session factory, and close each request's session."""
    engine = make_engine(url)
    app.extensions["lhs_engine"] = engine
    app.extensions["lhs_sessions"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["lhs_sessions"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    # Whatever a view did not commit is rolled back here, so a failed request leaves no trace.
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
