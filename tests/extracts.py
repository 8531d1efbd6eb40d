"""Load an extract folder into a SQL database, for tests on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from protocol import TABLES
from tests.reference import load_extract

SA_TYPES = {"integer": sa.BigInteger, "date": sa.Date, "text": sa.Text, "number": sa.Float}


def load_extract_into(url: str, folder: Path, schema: str | None) -> None:
    """Create the contract's tables at ``url`` (in ``schema``) and copy the folder's rows in."""
    frames = load_extract(folder)
    engine = sa.create_engine(url)
    metadata = sa.MetaData(schema=schema)
    tables = {
        name: sa.Table(name, metadata, *(sa.Column(c, SA_TYPES[t]()) for c, t in cols.items()))
        for name, cols in TABLES.items()
        if name in frames
    }
    with engine.begin() as connection:
        if schema:
            connection.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
        metadata.create_all(connection)
        for name, table in tables.items():
            frame = frames[name][list(TABLES[name])]
            records = frame.astype(object).where(frame.notna(), None).to_dict("records")
            rows = [{k: None if v is None else _plain(v) for k, v in r.items()} for r in records]
            if rows:
                connection.execute(table.insert(), rows)
    engine.dispose()


def _plain(value: object) -> object:
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    if hasattr(value, "item"):
        return value.item()
    return value
