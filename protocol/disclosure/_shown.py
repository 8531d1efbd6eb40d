"""What a round shows: the cells of a group table, and a provider's headline.

Factsheets show, per group, the overall value and every one-way breakdown; these are the only
cells secure aggregation sums.  A provider's headline is its overall values, protected at the
node; it also tells the coordinator (never the public) the first and last year it counted
units in, so that every group can sum the same years.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from ._cube import Cube, Key
from ._protect import protect

__all__ = [
    "MIN_MEMBERS",
    "GroupId",
    "Headline",
    "protect_headline",
    "shown_cell",
    "shown_keys",
]

GroupId = tuple[str, str]
"""(level, area), e.g. ("network", "N1")."""

MIN_MEMBERS = 3
"""A group of fewer members is as revealing as a provider's own table: never summed."""


Headline = tuple[dict[str, int | None], tuple[int, int] | None]
"""A provider's published overall values (None: suppressed) and the years it counted units in."""


def protect_headline(cube: Cube, k: int, withhold: Collection[str] = ()) -> Headline:
    """Return a provider's headline from its exact cube: overall values protected with ``k``,
    and the counts named in ``withhold`` withheld whatever their size."""
    top: Key = (None,) * len(cube.dimensions)
    exact = cube.cells.get(top) or {m.name: 0 for m in cube.measures}
    persons = {top: cube.persons[top]} if cube.persons and top in cube.persons else None
    overall = Cube(cube.dimensions, cube.measures, {top: dict(exact)}, persons)
    (row,) = protect(overall, k, [(top, name) for name in withhold]).rows()
    values = {m.name: row[m.name] for m in cube.measures}
    if "year" not in cube.dimensions:
        return values, None
    at = cube.dimensions.index("year")
    units = [m.name for m in cube.measures if m.kind == "count" and m.parent is None]
    years = sorted(
        int(key[at])
        for key, cell in cube.cells.items()
        if shown_cell(key) and key[at] is not None and any(cell[u] > 0 for u in units)
    )
    return values, ((years[0], years[-1]) if years else None)


def shown_cell(key: Key) -> bool:
    """Return whether factsheets show a cell: the overall value or a one-way breakdown."""
    return sum(v is not None for v in key) <= 1


def shown_keys(dimensions: Sequence[str], domains: Mapping[str, Sequence[object]]) -> list[Key]:
    """Return the cells factsheets show: the overall value, then each one-way breakdown."""
    top: Key = (None,) * len(dimensions)
    keys = [top]
    for i, dim in enumerate(dimensions):
        keys += [(*top[:i], value, *top[i + 1 :]) for value in domains[dim]]
    return keys
