"""Fixtures shared by every test folder: synthetic extracts made once per session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from demo.synth import generate


@pytest.fixture(scope="session")
def synth_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic 6,000-person extract as CSV files."""
    out = tmp_path_factory.mktemp("synth") / "csv"
    generate(6_000, seed=7, out=out, fmt="csv")
    return out


@pytest.fixture(scope="session")
def synth_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic 6,000-person extract as Parquet files (same seed as the CSV one)."""
    out = tmp_path_factory.mktemp("synth") / "parquet"
    generate(6_000, seed=7, out=out, fmt="parquet")
    return out


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A fresh schema on the test PostgreSQL server, dropped afterwards."""
    url = os.environ.get("LHS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("LHS_TEST_POSTGRES_URL is not set")
    schema = f"lhs_test_{uuid.uuid4().hex[:10]}"
    yield url, schema
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
