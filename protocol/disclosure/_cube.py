"""Result cubes: the finest cells of a query plus every margin.

A cube has dimensions (``year``, ``sex``, ...) and measures.  Each cell is keyed
by one value per dimension, ``None`` meaning "all values" (rolled up).  Counts
of units are additive over any dimension, so margins are sums of finest cells.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Cube", "Key", "MeasureDef"]

Key = tuple[object, ...]
"""One value per dimension, in the cube's dimension order; ``None`` = rolled up."""


@dataclass(frozen=True)
class MeasureDef:
    """One measure of a cube and its disclosure role.

    ``kind="count"`` with ``parent=None`` counts the cohort's units (a
    denominator).  ``kind="count"`` with a parent counts a subset of the
    parent's units (a numerator: ``0 <= value <= parent``).  ``kind="sum"`` is a
    sum over the units of ``parent`` (a count) and is published only where that
    count is published; a ``signed`` sum's terms may be negative (a change between
    two values), so nothing bounds it below.
    """

    name: str
    kind: Literal["count", "sum"] = "count"
    parent: str | None = None
    signed: bool = False


@dataclass
class Cube:
    """The finest cells and every margin of one query result."""

    dimensions: tuple[str, ...]
    measures: tuple[MeasureDef, ...]
    cells: dict[Key, dict[str, int]] = field(default_factory=dict)
    persons: dict[Key, dict[str, int]] | None = None
    """Where units are not persons (visits): the distinct persons behind each cell's counts."""

    @classmethod
    def from_finest(
        cls,
        dimensions: Sequence[str],
        measures: Sequence[MeasureDef],
        rows: Iterable[Mapping[str, object]],
        domains: Mapping[str, Sequence[object]] | None = None,
    ) -> Cube:
        """Build a cube from finest-cell rows, filling every margin by summation.

        ``domains`` lists the values each dimension can take; combinations with
        no row become cells of zeros, so every node publishes the same grid.
        """
        dims = tuple(dimensions)
        names = [m.name for m in measures]
        finest: dict[Key, dict[str, int]] = {}
        for row in rows:
            key = tuple(row[d] for d in dims)
            if any(v is None for v in key):
                raise ValueError(f"finest cell {key!r} has a missing dimension value")
            acc = finest.setdefault(key, dict.fromkeys(names, 0))
            for n in names:
                acc[n] += int(row.get(n) or 0)
        if domains is not None:
            values = [list(domains[d]) for d in dims]
            for key in itertools.product(*values):
                finest.setdefault(tuple(key), dict.fromkeys(names, 0))
        cells: dict[Key, dict[str, int]] = {}
        for key, acc in finest.items():
            for mask in itertools.product((False, True), repeat=len(dims)):
                rolled = tuple(None if up else v for v, up in zip(key, mask, strict=True))
                target = cells.setdefault(rolled, dict.fromkeys(names, 0))
                for n in names:
                    target[n] += acc[n]
        # An empty cohort still publishes its grand total: zeros, not a missing row.
        cells.setdefault((None,) * len(dims), dict.fromkeys(names, 0))
        return cls(dims, tuple(measures), cells)

    def measure(self, name: str) -> MeasureDef:
        """Return the measure called ``name``."""
        for m in self.measures:
            if m.name == name:
                return m
        raise KeyError(name)

    def relations(self) -> Iterator[tuple[Key, list[Key]]]:
        """Yield every additive relation ``cells[total] == sum(cells[part] for part in parts)``.

        One relation per margin cell and per dimension it rolls up: the margin
        equals the sum of the cells that fix that dimension to each of its values.
        """
        children: dict[tuple[Key, int], list[Key]] = {}
        for key in self.cells:
            for i, v in enumerate(key):
                if v is not None:
                    parent = (*key[:i], None, *key[i + 1 :])
                    children.setdefault((parent, i), []).append(key)
        for (parent, _i), parts in children.items():
            yield parent, sorted(parts, key=_sort_key)

    def sorted_keys(self) -> list[Key]:
        """Return the cell keys with finest cells first, then margins, in a stable order."""
        return sorted(self.cells, key=lambda k: (sum(v is None for v in k), _sort_key(k)))


def _sort_key(key: Key) -> tuple[tuple[int, str], ...]:
    return tuple((1, "") if v is None else (0, f"{v!s:>12}") for v in key)
