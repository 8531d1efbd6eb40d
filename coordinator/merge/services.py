"""Merge a round up the hierarchy: nation, networks, zorgkantoor regions, provinces.

A group with a protected group table (secure aggregation's exact sums, protected jointly)
takes its values from it: exact, or withheld.  Members the table does not sum add what
they published themselves.  A group without a table sums its members' publications alone:
each node's suppressed values are bounded once (``protocol.suppressed_bounds``: what anyone
can infer from its publication), published values add exactly, suppressed ones as their
interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from protocol import BAND_DIMENSIONS, SEXES, Key, QuerySpec, measure_defs, spec_hash

from .model import (
    FEWER_THAN_3,
    LEVELS,
    MIN_PROVIDERS,
    ExactTotals,
    GroupId,
    GroupTable,
    Membership,
    MergedGroup,
    MergedResult,
    MergedValue,
    NodeCube,
)
from .validate import MergeInputError, validate_memberships, validate_result

__all__ = ["group_members", "merge", "merge_group"]

_RANK: dict[str, int] = {
    **{sex: i for i, sex in enumerate(SEXES)},
    **{label: i for bands in BAND_DIMENSIONS.values() for i, (label, _, _) in enumerate(bands)},
}


def group_members(memberships: Mapping[str, Membership]) -> dict[GroupId, tuple[str, ...]]:
    """Return the member nodes of every area at every level, levels widest first."""
    out: dict[GroupId, list[str]] = {}
    for level in LEVELS:
        for node_id in sorted(memberships):
            area = memberships[node_id].area(level)
            if area is not None:
                out.setdefault((level, area), []).append(node_id)
    return {group: tuple(nodes) for group, nodes in out.items()}


def merge(
    spec: QuerySpec,
    results: Mapping[str, Any],
    memberships: Mapping[str, Mapping[str, Any]],
    *,
    group_tables: ExactTotals | None = None,
    summed: Mapping[GroupId, Sequence[str]] | None = None,
    min_cell: int | None = None,
) -> MergedResult:
    """Merge every node's published result for one spec into every level and area.

    ``results`` maps node id to the published result dict; ``memberships`` maps
    node id to ``{"organisation", "network", "zorgkantoor", "province"}``.
    ``group_tables`` are the protected group tables; ``summed`` names the nodes each
    sums (default: every answered member): the others' published values are added to
    them.  ``min_cell`` is the round's k.
    """
    typed = validate_memberships(memberships, list(results))
    nodes = {
        node_id: validate_result(spec, result, node_id=node_id, min_cell=min_cell)
        for node_id, result in sorted(results.items())
    }
    measures = [m.name for m in measure_defs(spec)]
    groups: dict[GroupId, MergedGroup] = {}
    for group, members in group_members(typed).items():
        answered = [nodes[n] for n in members if n in nodes]
        organisations = {typed[n.node_id].organisation for n in answered}
        groups[group] = merge_group(
            group,
            members,
            answered,
            len(organisations),
            measures,
            (group_tables or {}).get(group),
            (summed or {}).get(group),
        )
    unknown = set(group_tables or {}) - set(groups)
    if unknown:
        raise MergeInputError(f"a group table for unknown group(s) {sorted(unknown)}")
    return MergedResult(
        query=spec.id,
        version=spec.version,
        spec_hash=spec_hash(spec),
        dimensions=tuple(spec.dimensions),
        measures=measure_defs(spec),
        min_cell=max((n.min_cell for n in nodes.values()), default=0),
        nodes=nodes,
        memberships=typed,
        groups=groups,
    )


def merge_group(
    group: GroupId,
    members: tuple[str, ...],
    nodes: list[NodeCube],
    providers: int,
    measures: list[str],
    table: GroupTable | None = None,
    summed: Sequence[str] | None = None,
) -> MergedGroup:
    """Merge one area, or withhold it when fewer than 3 providers answered.

    ``table`` is the group's protected table, summing the nodes ``summed`` (default:
    every node given); without one, the nodes' publications are summed.
    """
    level, area = group
    node_ids = tuple(n.node_id for n in nodes)
    if providers < MIN_PROVIDERS:
        if table:
            raise MergeInputError(f"a group table for {level} {area}, which has {FEWER_THAN_3}")
        return MergedGroup(level, area, members, node_ids, providers, withheld=FEWER_THAN_3)
    inside = set(node_ids if summed is None else summed)
    stray = sorted(inside - set(node_ids))
    if table and stray:
        raise MergeInputError(f"the group table of {group} sums nodes without a result: {stray}")
    keys: dict[Key, None] = dict.fromkeys(table or ())
    for node in nodes:
        keys.update(dict.fromkeys(node.cube.cells))
    within = [n for n in nodes if n.node_id in inside]
    outside = [n for n in nodes if n.node_id not in inside]
    cells: dict[Key, dict[str, MergedValue]] = {}
    for key in sorted(keys, key=_order):
        if table and key in table:
            # The table sums the members inside; those outside add what they published.
            bounds, rest = _sum(within, key, measures), _sum(outside, key, measures)
            cells[key] = _with_table(group, key, table[key], bounds, rest)
        else:
            cells[key] = _sum(nodes, key, measures)
    return MergedGroup(level, area, members, node_ids, providers, cells)


def _sum(nodes: list[NodeCube], key: Key, measures: list[str]) -> dict[str, MergedValue]:
    """Return a cell's values summed over what each node published: exact, or an interval."""
    values: dict[str, MergedValue] = {}
    for name in measures:
        hidden = 0
        low: float = 0  # both stay whole numbers unless a node's bound is unbounded
        high: float = 0
        for node in nodes:
            lo, hi, suppressed = node.contribution(key, name)
            low, high, hidden = low + lo, high + hi, hidden + suppressed
        values[name] = MergedValue.summed(low, high, hidden)
    return values


def _with_table(
    group: GroupId,
    key: Key,
    row: Mapping[str, int | None],
    bounds: dict[str, MergedValue],
    rest: dict[str, MergedValue],
) -> dict[str, MergedValue]:
    """Return a cell's values from its row of the group table, plus what the members it leaves
    out add (``rest``); ``bounds`` is what the members it sums published themselves."""
    out = {}
    for name, added in rest.items():
        if name not in row:
            raise MergeInputError(f"the group table of {group} has no measure {name!r}")
        total = row[name]
        if total is None:
            out[name] = MergedValue.withheld()
            continue
        # The members' own publications bound the truth; a total outside them is corrupt.
        low, high = bounds[name].low, bounds[name].high
        if bounds[name].source == "withheld":
            low = -math.inf  # a signed sum: the members' publications bound nothing
        if not low <= total <= high:
            raise MergeInputError(
                f"the group table's {name} {total} in {group} cell {key!r} lies outside"
                f" [{low}, {high}] that its members' publications allow"
            )
        if added.source == "withheld":
            out[name] = MergedValue.withheld()  # a signed sum no member outside bounds
            continue
        out[name] = MergedValue.summed(
            total + added.low, total + added.high, added.suppressed_at, "group_table"
        )
    return out


def _order(key: Key) -> tuple[int, tuple[tuple[int, int], ...]]:
    # Finest cells first, then margins; years by number, sexes and age bands in contract order.
    return (
        sum(v is None for v in key),
        tuple((1, 0) if v is None else (0, _rank(v)) for v in key),
    )


def _rank(value: object) -> int:
    # Validated values: a year (int), or a sex or age band of the contract (str).
    return _RANK[value] if isinstance(value, str) else int(value)  # type: ignore[call-overload]
