"""Run approved specs on a data source and protect every result before it leaves.

The database does the counting (one statement per shared cohort); this module
turns the finest cells into a cube with every margin and applies disclosure
control with the effective k: the highest of the node's floor, the spec's own
setting and what the operator asked for.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from protocol import (
    CUBE,
    HEADLINE,
    K_FLOOR,
    Cube,
    Key,
    ProtectedCube,
    QuerySpec,
    dimension_domains,
    measure_defs,
    protect,
    protect_headline,
    spec_hash,
)

from .compiler import CompiledGroup, compile_specs
from .errors import NodeError
from .ledger import Ledger, decide, fetch_members
from .persons import Persons, fetch_persons
from .sources import DataSource

__all__ = ["QueryResult", "effective_k", "fetch_finest", "run_specs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueryResult:
    """One spec's protected cube, ready to publish."""

    spec: QuerySpec
    spec_hash: str
    protected: ProtectedCube
    withheld: frozenset[tuple[Key, str]] = frozenset()
    """Counts withheld because, with what the ledger holds, they would narrow a small group."""

    @property
    def k(self) -> int:
        """Return the minimum cell size the cube was protected with."""
        return self.protected.k

    def to_dict(self) -> dict[str, Any]:
        """Return the full published form: query, version, hash, k and every cell."""
        return {**self._about(), "scope": CUBE, "cells": self.protected.rows()}

    def headline(self) -> dict[str, Any]:
        """Return the headline form: the overall values protected with k, and the years seen."""
        top = dict.fromkeys(self.spec.dimensions)
        names = sorted(name for key, name in self.withheld if all(v is None for v in key))
        values, years = protect_headline(self.protected.cube, self.k, names)
        return {
            **self._about(),
            "scope": HEADLINE,
            "cells": [{**top, **values}],
            "years": list(years) if years else None,
        }

    def _about(self) -> dict[str, Any]:
        return {
            "query": self.spec.id,
            "version": self.spec.version,
            "spec_hash": self.spec_hash,
            "min_cell": self.k,
        }


def effective_k(spec: QuerySpec, floor: int = K_FLOOR, requested: int | None = None) -> int:
    """Return the k a spec runs with: never below the floor, the spec's or the request's."""
    if floor < K_FLOOR:
        raise NodeError(f"the node's minimum cell size {floor} is below the contract's {K_FLOOR}")
    if requested is not None and requested < floor:
        raise NodeError(
            f"--min-cell {requested} is below this node's floor of {floor}; it can only raise it"
        )
    return max(floor, spec.disclosure.min_cell, requested or 0)


def _domains(dims: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    years = [int(r["year"]) for r in rows] if "year" in dims else []
    return dimension_domains(dims, (min(years), max(years)) if years else None)


def fetch_finest(
    specs: Sequence[QuerySpec], source: DataSource
) -> dict[str, tuple[list[dict[str, Any]], dict[str, list[Any]]]]:
    """Count the finest cells of every spec (one statement per shared cohort, one connection).

    Returns, per spec id, the finest-cell rows (dimension values and measures)
    and the domain of each dimension.
    """
    groups = compile_specs(specs, source.table)
    finest: dict[str, tuple[list[dict[str, Any]], dict[str, list[Any]]]] = {}
    with source.connect() as connection:
        for group in groups:
            started = time.perf_counter()
            rows = source.rows(connection, group.statement)
            log.info(
                "cohort %s: %d finest cells for %s in %.2fs",
                group.specs[0].cohort.name,
                len(rows),
                ", ".join(s.id for s in group.specs),
                time.perf_counter() - started,
            )
            domains = _domains(group.dimensions, rows)
            for spec in group.specs:
                finest[spec.id] = (_project(spec, group, rows), domains)
    return finest


def _project(spec: QuerySpec, group: CompiledGroup, rows: list[dict[str, Any]]) -> list[dict]:
    # A group counts the union of its specs' dimensions; a spec with fewer sums over the rest.
    cells: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[d] for d in spec.dimensions)
        cell = cells.setdefault(
            key,
            {**dict(zip(spec.dimensions, key, strict=True)), **{m.name: 0 for m in spec.measures}},
        )
        for m in spec.measures:
            cell[m.name] += int(row[group.columns[(spec.id, m.name)]] or 0)
    return list(cells.values())


def run_specs(
    specs: Sequence[QuerySpec],
    source: DataSource,
    *,
    floor: int = K_FLOOR,
    min_cell: int | None = None,
    ledger: Ledger | None = None,
    scope: str = CUBE,
    progress: Callable[[str], None] | None = None,
) -> list[QueryResult]:
    """Run specs on a source (one connection, cohorts shared) and protect each result.

    With a ledger, each result's ``scope`` form is audited with everything the ledger holds
    (and the results before it), withheld where it must be, and added to the ledger's
    pending releases; the caller commits them once the results are safely out.
    ``progress`` is called with each spec's id once its result is ready.
    """
    ks = {spec.id: effective_k(spec, floor, min_cell) for spec in specs}
    finest = fetch_finest(specs, source)
    persons = fetch_persons(specs, source)
    members = fetch_members(specs, source) if ledger is not None else {}
    results = []
    protected = _protect_all(specs, finest, ks, persons)
    for spec, result in zip(specs, protected, strict=True):
        if ledger is not None:
            decision = decide(
                ledger, spec.id, result.spec_hash, result.protected, members[spec.id], scope
            )
            result = QueryResult(spec, result.spec_hash, decision.protected, decision.withheld)
        results.append(result)
        if progress is not None:
            progress(spec.id)
    return results


def _protect_all(
    specs: Sequence[QuerySpec],
    finest: dict[str, tuple[list[dict[str, Any]], dict[str, list[Any]]]],
    ks: dict[str, int],
    persons: dict[str, Persons],
) -> Iterator[QueryResult]:
    """Protect every spec's cube, in order; side by side on as many threads as cores.

    Most of protecting is HiGHS, which runs without the GIL, so threads pay; each cube's
    pattern is the same whichever thread protects it.
    """
    workers = min(len(specs), os.cpu_count() or 1)
    if workers <= 1:
        return (_protect_one(s, *finest[s.id], ks[s.id], persons.get(s.id)) for s in specs)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="protect")
    futures = [
        pool.submit(_protect_one, s, *finest[s.id], ks[s.id], persons.get(s.id)) for s in specs
    ]
    pool.shutdown(wait=False)
    return (future.result() for future in futures)


def _protect_one(
    spec: QuerySpec,
    finest: list[dict[str, Any]],
    domains: dict[str, list[Any]],
    k: int,
    persons: Persons | None = None,
) -> QueryResult:
    started = time.perf_counter()
    cube = Cube.from_finest(
        spec.dimensions, measure_defs(spec), finest, {d: domains[d] for d in spec.dimensions}
    )
    cube.persons = persons
    protected = protect(cube, k)
    report = protected.report
    reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(report.by_reason.items()))
    log.info(
        "%s: %d values, %d suppressed (primary %d, secondary %d%s), LP audit passed"
        " (%d LPs), k=%d, %.2fs",
        spec.id,
        report.values,
        report.primary + report.secondary,
        report.primary,
        report.secondary,
        f"; {reasons}" if reasons else "",
        report.audit_lps,
        k,
        time.perf_counter() - started,
    )
    return QueryResult(spec, spec_hash(spec), protected)
