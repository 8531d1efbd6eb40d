"""Date arithmetic that compiles on every dialect the node supports.

SQLAlchemy has no portable "days between two dates"; each database spells it
differently, so one construct compiles to the right SQL per dialect.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["days_between", "round_whole", "year_of"]


class days_between(FunctionElement[int]):
    """``later - earlier`` in whole days."""

    type = sa.Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_default(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(later, **kw)})"
        f" - julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


@compiles(days_between, "mysql")
@compiles(days_between, "mariadb")
def _days_mysql(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"DATEDIFF({compiler.process(later, **kw)}, {compiler.process(earlier, **kw)})"


@compiles(days_between, "mssql")
def _days_mssql(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"DATEDIFF(day, {compiler.process(earlier, **kw)}, {compiler.process(later, **kw)})"


def year_of(date: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """Return the calendar year of a date column as an integer."""
    return sa.cast(sa.extract("year", date), sa.Integer)


class round_whole(FunctionElement[int]):
    """A number rounded to the nearest whole number, halves away from zero, as an integer."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "round_whole"


@compiles(round_whole)
def _round_default(element: round_whole, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST(ROUND({compiler.process(value, **kw)}) AS BIGINT)"


@compiles(round_whole, "sqlite")
def _round_sqlite(element: round_whole, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST(ROUND({compiler.process(value, **kw)}) AS INTEGER)"


@compiles(round_whole, "postgresql")
def _round_postgresql(element: round_whole, compiler: Any, **kw: Any) -> str:
    # ROUND of a double rounds halves to even on PostgreSQL; of a numeric, away from zero.
    (value,) = list(element.clauses)
    return f"CAST(ROUND(CAST({compiler.process(value, **kw)} AS NUMERIC)) AS BIGINT)"
