"""Fixtures of the coordinator tests: an app on a fresh database, people, nodes with real keys.

Tests run on SQLite; a module that defines ``database_url`` from ``both_database_url`` runs
on PostgreSQL too when ``LHS_TEST_POSTGRES_URL`` is set (each test in a fresh schema).
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from coordinator import create_app
from coordinator.db import init_db, make_engine
from coordinator.keys import create_key_file
from tests.coordinator.coord_world import MAX_BODY, World


@pytest.fixture(autouse=True)
def quick_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash new test passwords with a cheaper scrypt (each hash records its own cost)."""
    monkeypatch.setattr("coordinator.accounts.services._N", 2**10)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; tests copy it rather than migrate again."""
    path = tmp_path_factory.mktemp("template") / "coordinator.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    return path


@pytest.fixture
def database_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A fresh SQLite database file, already at the newest schema."""
    path = tmp_path / "coordinator.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def both_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty SQLite file, then an empty PostgreSQL schema (skipped without a server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'coordinator.sqlite3'}"
        return
    url = os.environ.get("LHS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("LHS_TEST_POSTGRES_URL is not set")
    schema = f"lhs_coord_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Settings of a test coordinator: its own database and key file, a small body limit."""
    key_file = tmp_path / "keys" / "coordinator.key"
    create_key_file(key_file)
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "COORDINATOR_KEY_FILE": key_file,
        "MAX_CONTENT_LENGTH": MAX_BODY,
    }


@pytest.fixture
def app(config: dict[str, Any]) -> Iterator[Flask]:
    """A coordinator app on a migrated database."""
    app = create_app(config)
    init_db(app.extensions["lhs_engine"])
    yield app
    app.extensions["lhs_engine"].dispose()


@pytest.fixture
def world(app: Flask) -> World:
    """The app with a researcher (rita), a coordinator (carl) and an admin (ada)."""
    world = World(app)
    world.user("rita", "researcher")
    world.user("carl", "coordinator")
    world.user("ada", "admin")
    return world


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a free localhost port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
