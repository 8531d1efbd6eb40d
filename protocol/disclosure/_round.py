"""A round's group tables as pages show them: with the year rows, or without when they tell.

A page shows the years from the first to the last that a summed member counted units in, so
anyone can tell that the members together counted at least one unit in each of the two
(``floors`` of ``protect_group_tables``).  Where that alone, beside the providers' headlines,
narrows a count below k whatever is withheld (one provider holding almost every unit, say),
the round's tables are protected without their year rows: no page of the round shows a year.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from ..errors import DisclosureError
from ._cube import Key, MeasureDef
from ._groups import Cell, GroupTables, protect_group_tables
from ._shown import GroupId

__all__ = ["protect_shown_tables"]


def protect_shown_tables(
    tables: Mapping[GroupId, Mapping[Key, Mapping[str, int]]],
    groups: Mapping[GroupId, Sequence[str]],
    dimensions: Sequence[str],
    measures: Sequence[MeasureDef],
    k: int,
    headlines: Mapping[str, Mapping[str, int | None]] | None = None,
    withhold: Collection[Cell] = (),
    known: Collection[Cell] = (),
    differences: Collection[Cell] = (),
) -> GroupTables:
    """Protect a round's group tables jointly, with the knowledge their year rows give and
    what earlier releases tell (``withhold``, ``known``, ``differences``: see
    ``protect_group_tables``)."""
    earlier = {"withhold": withhold, "known": known, "differences": differences}
    at = list(dimensions).index("year") if "year" in dimensions else None
    keys = list(next(iter(tables.values()), {}))
    years = sorted({key[at] for key in keys if key[at] is not None}) if at is not None else []
    if not years:
        return protect_group_tables(tables, groups, measures, k, headlines, **earlier)
    floors = [key for key in keys if key[at] in (years[0], years[-1])]
    try:
        return protect_group_tables(
            tables, groups, measures, k, headlines, floors=floors, **earlier
        )
    except DisclosureError:
        without = {
            group: {key: values for key, values in table.items() if key[at] is None}
            for group, table in tables.items()
        }
        return protect_group_tables(without, groups, measures, k, headlines, **earlier)
