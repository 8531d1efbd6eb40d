"""Date arithmetic that compiles on every dialect the node supports.

SQLAlchemy has no portable "days between two dates"; each database spells it
differently, so one construct compiles to the right SQL per dialect.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["days_between", "year_of"]


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
