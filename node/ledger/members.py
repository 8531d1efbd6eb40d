"""The units behind every count of a spec's cube, fetched once per cohort as arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from protocol import COUNT_KINDS, Key, QuerySpec

from ..compiler import compile_specs
from ..sources import DataSource

__all__ = ["Members", "fetch_members"]


@dataclass(frozen=True)
class Members:
    """One entry per unit of a spec's cohort: its dimension values, id, person and counts."""

    unit: str
    """"person" or "visit"."""
    dimensions: tuple[str, ...]
    values: dict[str, np.ndarray]
    units: np.ndarray
    persons: np.ndarray
    counted: dict[str, np.ndarray]
    """Per count measure, whether each unit is counted in it."""

    def of(self, key: Key, measure: str) -> np.ndarray:
        """Return the ids of the units a cell's count counts (sorted)."""
        mask = self.counted[measure].copy()
        for dim, value in zip(self.dimensions, key, strict=True):
            if value is not None:
                mask &= self.values[dim] == value
        return np.sort(self.units[mask])


def fetch_members(specs: Sequence[QuerySpec], source: DataSource) -> dict[str, Members]:
    """Return, per spec id, the units of its cohort (one statement per shared cohort)."""
    out: dict[str, Members] = {}
    with source.connect() as connection:
        for group in compile_specs(specs, source.table):
            assert group.members is not None
            columns = source.columns(connection, group.members)
            units = np.asarray(columns["unit_id"], dtype=np.int64)
            persons = np.asarray(columns["person_id"], dtype=np.int64)
            for spec in group.specs:
                counted = {
                    m.name: np.asarray(columns[group.columns[(spec.id, m.name)]], dtype=bool)
                    for m in spec.measures
                    if m.kind in COUNT_KINDS
                }
                values = {d: _values(columns[d]) for d in spec.dimensions}
                out[spec.id] = Members(
                    spec.cohort.unit, tuple(spec.dimensions), values, units, persons, counted
                )
    return out


def _values(column: np.ndarray) -> np.ndarray:
    # Years compare as integers, sex and age bands as strings, as cube keys hold them.
    if column.dtype.kind in "iu":
        return column
    return np.asarray(column, dtype=object)
