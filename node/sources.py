"""Where a node's extract lives: a folder of CSV/Parquet files, or a SQL database.

Both give the compiler the same thing: ``table(name)``, a SQLAlchemy table
whose columns are the contract's, keyed by their canonical lower-case names
whatever case the source uses.  A folder is read in place by an in-memory
DuckDB through one view per table; nothing is loaded into Python.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from protocol import TABLES

from .errors import DataSourceError

__all__ = ["DataSource", "FolderSource", "SqlSource", "open_source"]

SA_TYPES: dict[str, type[sa.types.TypeEngine]] = {
    "integer": sa.BigInteger,
    "date": sa.Date,
    "text": sa.Text,
    "number": sa.Float,
}
DUCKDB_TYPES = {"integer": "BIGINT", "date": "DATE", "text": "VARCHAR", "number": "DOUBLE"}
SUFFIXES = (".csv", ".csv.gz", ".parquet")
EXPECTED = {
    "date": "an ISO date (YYYY-MM-DD)",
    "integer": "a whole number",
    "number": "a number",
}
"""What a value of each contract type must look like, as messages say it."""
_PATTERNS = {  # what DuckDB's casts accept beyond these (2020/1/5, 0x10, .5, epoch) is refused
    "date": r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9:.+Z-]*)?\s*",
    "integer": r"\s*[+-]?[0-9]+(\.0*)?\s*",
    "number": r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*",
}


def first_line(exc: BaseException) -> str:
    """Return the first line of a (database) error's message."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def bad_value_sql(real: str, stored: str, kind: str) -> str | None:
    """Return a DuckDB predicate: the column holds a value that is not of the contract's type.

    ``real`` is the quoted column, ``stored`` its DuckDB type.  Text must read as
    an ISO date (a time may follow) or a whole number; blanks are missing
    values.  None when the stored type needs no conversion.  `lhs node check`
    counts the rows this finds; a query over such a table stops with an error.
    """
    target = DUCKDB_TYPES[kind]
    if kind == "text" or stored.upper() == target:
        return None
    if stored.upper() != "VARCHAR":
        return f"({real} IS NOT NULL AND TRY_CAST({real} AS {target}) IS NULL)"
    shape = f"regexp_full_match({real}, {_literal(_PATTERNS[kind])})"
    return (
        f"({real} IS NOT NULL AND TRIM({real}) <> ''"
        f" AND NOT ({shape} AND TRY_CAST({real} AS {target}) IS NOT NULL))"
    )


def value_sql(table: str, column: str, real: str, stored: str, kind: str) -> str:
    """Return a DuckDB expression reading the column as the contract's type.

    A value that is not of that type stops the query with an error naming the
    table and column (never the value): the values `bad_value_sql` finds.
    """
    target = DUCKDB_TYPES[kind]
    if stored.upper() == target:
        return real
    if kind == "text":
        return f"CAST({real} AS {target})"
    message = (
        f"{table}.{column} has values that are not {EXPECTED[kind]} (lhs node check counts them)"
    )
    error = f"error({_literal(message)})"
    value = f"COALESCE(TRY_CAST({real} AS {target}), {error})"
    if stored.upper() != "VARCHAR":
        return f"CASE WHEN {real} IS NULL THEN NULL ELSE {value} END"
    # The common case first, and cheaply: one pattern match and one cast per value.
    shape = f"regexp_full_match({real}, {_literal(_PATTERNS[kind])})"
    return (
        f"CASE WHEN {real} IS NULL THEN NULL WHEN {shape} THEN {value}"
        f" WHEN TRIM({real}) = '' THEN NULL ELSE {error} END"
    )


class DataSource:
    """An extract the compiler can query: tables by canonical name, one connection."""

    location: str
    dialect: str
    schema: str | None = None

    def __init__(self) -> None:
        self._tables: dict[str, sa.Table] = {}

    def has_table(self, name: str) -> bool:
        """Return whether the extract has the table (in any case)."""
        raise NotImplementedError

    def table(self, name: str) -> sa.Table:
        """Return the contract's table ``name``, columns keyed by canonical names."""
        if name not in self._tables:
            if name not in TABLES:
                raise DataSourceError(f"'{name}' is not a table of the contract")
            self._tables[name] = self._build_table(name)
        return self._tables[name]

    def _build_table(self, name: str) -> sa.Table:
        raise NotImplementedError

    def _missing_columns(self, name: str, present: dict[str, str]) -> None:
        missing = [c for c in TABLES[name] if c not in present]
        if missing:
            raise DataSourceError(
                f"table '{name}' in {self.location} lacks column(s) {', '.join(missing)}"
            )

    def _no_table(self, name: str) -> DataSourceError:
        return DataSourceError(f"extract has no table '{name}' (looked in {self.location})")

    @contextlib.contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """Yield a connection for the compiled statements."""
        try:
            with self.engine.connect() as connection:
                yield connection
        except sa.exc.OperationalError as exc:
            raise DataSourceError(
                f"lost the connection to {self.location}: {first_line(exc)}"
            ) from None

    def rows(self, connection: sa.Connection, statement: sa.Executable) -> list[dict[str, Any]]:
        """Run a compiled statement; a database error names the extract, in one line."""
        try:
            return [dict(row._mapping) for row in connection.execute(statement)]
        except sa.exc.SQLAlchemyError as exc:
            raise DataSourceError(
                f"the extract at {self.location} could not be queried: {first_line(exc)}"
            ) from None

    def columns(self, connection: sa.Connection, statement: sa.Executable) -> dict[str, Any]:
        """Run a compiled statement and return each result column as one NumPy array."""
        try:
            result = connection.execute(statement)
            names = list(result.keys())
            rows = result.fetchall()
        except sa.exc.SQLAlchemyError as exc:
            raise DataSourceError(
                f"the extract at {self.location} could not be queried: {first_line(exc)}"
            ) from None
        if not rows:
            return {name: np.zeros(0, dtype=np.int64) for name in names}
        return {
            name: np.array(column)
            for name, column in zip(names, zip(*rows, strict=True), strict=True)
        }

    engine: sa.Engine

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()


class FolderSource(DataSource):
    """A folder of CSV or Parquet files, one per table, read in place by DuckDB."""

    dialect = "duckdb"

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.location = str(folder)
        self.files = self._scan(folder)
        # One shared in-memory database: the views must be visible to every statement.
        self.engine = sa.create_engine("duckdb:///:memory:", poolclass=StaticPool)
        self._raw_columns: dict[str, dict[str, tuple[str, str]]] = {}

    @staticmethod
    def _scan(folder: Path) -> dict[str, Path]:
        if not folder.exists():
            raise DataSourceError(f"extract folder {folder} does not exist")
        if not folder.is_dir():
            raise DataSourceError(f"{folder} is not a folder (give a folder of CSV/Parquet files)")
        files: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            lower = path.name.lower()
            suffix = next((s for s in SUFFIXES if lower.endswith(s)), None)
            if suffix is None or not path.is_file():
                continue
            table = lower[: -len(suffix)]
            if table in files:
                raise DataSourceError(
                    f"two files for table '{table}' in {folder}: "
                    f"{files[table].name} and {path.name}"
                )
            files[table] = path
        if not files:
            raise DataSourceError(f"no CSV or Parquet files in {folder}")
        return files

    def _reader(self, path: Path) -> str:
        if path.name.lower().endswith(".parquet"):
            return f"read_parquet({_literal(str(path))})"
        # Every column as text, cast by the view: no guessing of types from a sample of rows.
        return f"read_csv({_literal(str(path))}, header=true, all_varchar=true, auto_detect=true)"

    def raw_columns(self, name: str) -> dict[str, tuple[str, str]]:
        """Return the file's columns: canonical lower-case name -> (real name, DuckDB type)."""
        if name not in self._raw_columns:
            path = self.files.get(name)
            if path is None:
                raise self._no_table(name)
            try:
                with self.engine.connect() as connection:
                    described = connection.exec_driver_sql(
                        f"DESCRIBE SELECT * FROM {self._reader(path)}"
                    ).all()
            except sa.exc.SQLAlchemyError as exc:
                raise DataSourceError(f"cannot read {path}: {first_line(exc)}") from None
            self._raw_columns[name] = {row[0].lower(): (row[0], row[1]) for row in described}
        return self._raw_columns[name]

    def has_table(self, name: str) -> bool:
        """Return whether the folder has a file for the table."""
        return name in self.files

    def reader_sql(self, name: str) -> str:
        """Return the DuckDB table function reading this table's file."""
        path = self.files.get(name)
        if path is None:
            raise self._no_table(name)
        return self._reader(path)

    def _build_table(self, name: str) -> sa.Table:
        present = self.raw_columns(name)
        self._missing_columns(name, present)
        selects = []
        for column, kind in TABLES[name].items():
            real, stored = present[column]
            expr = value_sql(name, column, _quote(real), stored, kind)
            selects.append(f"{expr} AS {_quote(column)}")
        sql = (
            f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS SELECT {', '.join(selects)}"
            f" FROM {self._reader(self.files[name])}"
        )
        try:
            with self.engine.begin() as connection:
                connection.exec_driver_sql(sql)
        except sa.exc.SQLAlchemyError as exc:
            raise DataSourceError(f"cannot read {self.files[name]}: {first_line(exc)}") from None
        return sa.Table(
            name,
            sa.MetaData(),
            *(sa.Column(c, SA_TYPES[t]()) for c, t in TABLES[name].items()),
        )


class SqlSource(DataSource):
    """Tables in a database reached by a SQLAlchemy URL, optionally in a schema."""

    def __init__(self, url: str, schema: str | None) -> None:
        super().__init__()
        try:
            parsed = sa.engine.make_url(url)
        except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
            masked = _PASSWORD.sub(r"\1***@", url)
            raise DataSourceError(
                f"{masked!r} is neither a folder nor a valid database URL"
            ) from None
        self.location = parsed.render_as_string(hide_password=True)
        if schema:
            self.location += f" (schema {schema})"
        self.schema = schema or None
        database = parsed.database or ""
        if (
            parsed.get_backend_name() in ("sqlite", "duckdb")
            and database
            and not database.startswith((":memory:", "file:", "md:"))
            and not Path(database).exists()
        ):  # connecting would create an empty database file
            raise DataSourceError(f"database file {database} does not exist")
        try:
            self.engine = sa.create_engine(parsed, pool_pre_ping=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise DataSourceError(f"cannot use {self.location}: {first_line(exc)}") from None
        self.dialect = self.engine.dialect.name
        try:
            inspector = sa.inspect(self.engine)
            names = inspector.get_table_names(schema=self.schema)
            names += inspector.get_view_names(schema=self.schema)
        except sa.exc.SQLAlchemyError as exc:
            self.engine.dispose()
            raise DataSourceError(f"cannot open {self.location}: {first_line(exc)}") from None
        self._names = {n.lower(): n for n in names}

    def has_table(self, name: str) -> bool:
        """Return whether the database has the table, in any case."""
        return name in self._names

    def real_columns(self, name: str) -> dict[str, str]:
        """Return the table's columns: canonical lower-case name -> real name."""
        if name not in self._names:
            raise self._no_table(name)
        # The columns of an empty result, not reflection: duckdb-engine cannot reflect
        # columns under SQLAlchemy 2.1, and this works on every dialect.
        empty = sa.select(sa.text("*")).select_from(sa.table(self._names[name], schema=self.schema))
        try:
            with self.engine.connect() as connection:
                columns = list(connection.execute(empty.where(sa.false())).keys())
        except sa.exc.SQLAlchemyError as exc:
            raise DataSourceError(f"cannot read table '{name}': {first_line(exc)}") from None
        return {c.lower(): c for c in columns}

    def _build_table(self, name: str) -> sa.Table:
        present = self.real_columns(name)
        self._missing_columns(name, present)
        return sa.Table(
            self._names[name],
            sa.MetaData(),
            *(sa.Column(present[c], SA_TYPES[t](), key=c) for c, t in TABLES[name].items()),
            schema=self.schema,
        )


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+._-]*://")
_PASSWORD = re.compile(r"(://[^/@:]*:).*@")  # user:password@ in a URL make_url refuses


def open_source(location: str, *, schema: str | None = None) -> DataSource:
    """Open an extract: a folder path or a SQLAlchemy URL (with an optional schema)."""
    if _URL.match(location):
        return SqlSource(location, schema)
    if schema:
        raise DataSourceError("--schema applies to a database URL, not to a folder of files")
    return FolderSource(Path(location))
