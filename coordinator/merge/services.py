"""Merge node cubes up the hierarchy: nation, networks, zorgkantoor regions, provinces.

Each node's suppressed values are bounded once (``protocol.suppressed_bounds``:
what anyone can infer from its published cube) and every group sums them:
published values exactly, suppressed ones as their interval.  Because the
nodes' cubes are independent, the summed interval of one cell is exactly the
set of totals consistent with what the nodes published.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from protocol import AGE_BANDS, SEXES, Key, QuerySpec, measure_defs, spec_hash

from .model import (
    FEWER_THAN_3,
    LEVELS,
    MIN_PROVIDERS,
    ExactTotals,
    GroupId,
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
    **{label: i for i, (label, _, _) in enumerate(AGE_BANDS)},
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
    exact_totals: ExactTotals | None = None,
    exact_members: Mapping[GroupId, Sequence[str]] | None = None,
    min_cell: int | None = None,
) -> MergedResult:
    """Merge every node's published result for one spec into every level and area.

    ``results`` maps node id to the published result dict; ``memberships`` maps
    node id to ``{"organisation", "network", "zorgkantoor", "province"}``.
    ``exact_totals`` (from secure aggregation) replaces intervals by
    exact group totals where given; ``exact_members`` names the nodes a group's
    totals sum when not all of its answered nodes (a member dropped out or
    declined): the others' published values are added to them.  ``min_cell``
    is the round's k.
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
        totals = (exact_totals or {}).get(group)
        summed = (exact_members or {}).get(group)
        groups[group] = merge_group(
            group, members, answered, len(organisations), measures, totals, summed
        )
    unknown = set(exact_totals or {}) - set(groups)
    if unknown:
        raise MergeInputError(f"exact totals for unknown group(s) {sorted(unknown)}")
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
    exact_totals: Mapping[Key, Mapping[str, int | None]] | None = None,
    summed: Sequence[str] | None = None,
) -> MergedGroup:
    """Sum the node cubes of one area, or withhold it when fewer than 3 providers answered.

    ``exact_totals`` sum the nodes ``summed`` (default: every node given) exactly.
    """
    level, area = group
    node_ids = tuple(n.node_id for n in nodes)
    if providers < MIN_PROVIDERS:
        if exact_totals:
            raise MergeInputError(f"exact totals for {level} {area}, which has {FEWER_THAN_3}")
        return MergedGroup(level, area, members, node_ids, providers, withheld=FEWER_THAN_3)
    keys: dict[Key, None] = {}
    for node in nodes:
        keys.update(dict.fromkeys(node.cube.cells))
    cells: dict[Key, dict[str, MergedValue]] = {}
    for key in sorted(keys, key=_order):
        values: dict[str, MergedValue] = {}
        for name in measures:
            low, hidden = 0, 0
            high: float = 0  # stays a whole number unless a node's bound is unbounded
            for node in nodes:
                lo, hi, suppressed = node.contribution(key, name)
                low, high, hidden = low + lo, high + hi, hidden + suppressed
            values[name] = MergedValue(low, high, hidden)
        cells[key] = values
    if exact_totals:
        summed = node_ids if summed is None else tuple(summed)
        stray = sorted(set(summed) - set(node_ids))
        if stray:
            raise MergeInputError(f"exact totals for {group} sum nodes without a result: {stray}")
        _apply_exact(group, cells, exact_totals, nodes, set(summed))
    return MergedGroup(level, area, members, node_ids, providers, cells)


def _apply_exact(
    group: GroupId,
    cells: dict[Key, dict[str, MergedValue]],
    exact_totals: Mapping[Key, Mapping[str, int | None]],
    nodes: list[NodeCube],
    summed: set[str],
) -> None:
    for key, totals in exact_totals.items():
        if key not in cells:
            raise MergeInputError(f"exact totals for {group}: no cell {key!r}")
        for name, total in totals.items():
            if name not in cells[key]:
                raise MergeInputError(f"exact totals for {group}: no measure {name!r}")
            if total is None:
                continue  # withheld by the linked-table audit: the interval stands
            inside = [n.contribution(key, name) for n in nodes if n.node_id in summed]
            rest = [n.contribution(key, name) for n in nodes if n.node_id not in summed]
            low, high = sum(c[0] for c in inside), sum(c[1] for c in inside)
            # The nodes' published cubes already bound the truth; a total outside is corrupt.
            if not low <= total <= high:
                raise MergeInputError(
                    f"exact total {total} of {name} in {group} cell {key!r} lies outside"
                    f" [{low}, {high}] that the node cubes allow"
                )
            # Nodes the total leaves out add their published values, or their bounds.
            add_low, add_high = sum(c[0] for c in rest), sum(c[1] for c in rest)
            hidden = sum(c[2] for c in rest)
            cells[key][name] = (
                MergedValue(
                    total + add_low, total + add_low, cells[key][name].suppressed_at, "exact_total"
                )
                if not hidden
                else MergedValue(total + add_low, total + add_high, hidden)
            )


def _order(key: Key) -> tuple[int, tuple[tuple[int, int], ...]]:
    # Finest cells first, then margins; years by number, sexes and age bands in contract order.
    return (
        sum(v is None for v in key),
        tuple((1, 0) if v is None else (0, _rank(v)) for v in key),
    )


def _rank(value: object) -> int:
    # Validated values: a year (int), or a sex or age band of the contract (str).
    return _RANK[value] if isinstance(value, str) else int(value)  # type: ignore[call-overload]
