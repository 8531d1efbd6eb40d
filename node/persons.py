"""Distinct persons behind every count of a cohort whose units are not persons (visits,
events such as deliveries or knee replacements, person-years): a count needs k persons, not only
k units.

Eleven admissions of five people are five people: the cell is as small as a count of five.
For such a cohort the compiler gives one row per unit, with its person and a 0/1 column
per count (``CompiledGroup.members``); here each cell's persons are collected and every
margin's are the union of its cells' (a person in two years counts once overall).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from protocol import COUNT_KINDS, Key, QuerySpec

from .compiler import CompiledGroup, compile_specs
from .sources import DataSource

__all__ = ["Persons", "fetch_persons"]

Persons = dict[Key, dict[str, int]]
"""Per cell (finest and margins) and count measure: how many distinct persons it counts."""


def fetch_persons(specs: Sequence[QuerySpec], source: DataSource) -> dict[str, Persons]:
    """Return the persons behind every count of every spec whose units are not persons
    (person cohorts: absent)."""
    out: dict[str, Persons] = {}
    visits = [s for s in specs if s.cohort.unit != "person"]
    if not visits:
        return out
    with source.connect() as connection:
        for group in compile_specs(visits, source.table):
            assert group.members is not None
            rows = source.rows(connection, group.members)
            for spec in group.specs:
                out[spec.id] = _persons(spec, group, rows)
    return out


def _persons(spec: QuerySpec, group: CompiledGroup, rows: list[dict[str, Any]]) -> Persons:
    counts = [m.name for m in spec.measures if m.kind in COUNT_KINDS]
    sets: dict[Key, dict[str, set[Any]]] = {}
    for row in rows:
        key = tuple(row[d] for d in spec.dimensions)
        for mask in itertools.product((False, True), repeat=len(key)):
            cell = tuple(None if up else v for v, up in zip(key, mask, strict=True))
            found = sets.setdefault(cell, {name: set() for name in counts})
            for name in counts:
                if row[group.columns[(spec.id, name)]]:
                    found[name].add(row["person_id"])
    return {key: {name: len(ids) for name, ids in found.items()} for key, found in sets.items()}
