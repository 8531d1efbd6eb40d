"""Merge node cubes up the hierarchy: nation, networks, zorgkantoor regions, provinces.

Each node's suppressed values are bounded once (``protocol.suppressed_bounds``:
what anyone can infer from its published cube) and every group sums them:
published values exactly, suppressed ones as their interval.  Because the
nodes' cubes are independent, the summed interval of one cell is exactly the
set of totals consistent with what the nodes published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.compiler import AGE_BANDS
from node.runner import SEXES, measure_defs
from protocol import Key, QuerySpec, spec_hash

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
    min_cell: int | None = None,
) -> MergedResult:
    """Merge every node's published result for one spec into every level and area.

    ``results`` maps node id to the published result dict; ``memberships`` maps
    node id to ``{"organisation", "network", "zorgkantoor", "province"}``.
    ``exact_totals`` (from secure aggregation, issue 4) replaces intervals by
    exact group totals where given; ``min_cell`` is the round's k.
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
        groups[group] = merge_group(group, members, answered, len(organisations), measures, totals)
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
) -> MergedGroup:
    """Sum the node cubes of one area, or withhold it when fewer than 3 providers answered."""
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
        _apply_exact(group, cells, exact_totals)
    return MergedGroup(level, area, members, node_ids, providers, cells)


def _apply_exact(
    group: GroupId,
    cells: dict[Key, dict[str, MergedValue]],
    exact_totals: Mapping[Key, Mapping[str, int | None]],
) -> None:
    for key, totals in exact_totals.items():
        if key not in cells:
            raise MergeInputError(f"exact totals for {group}: no cell {key!r}")
        for name, total in totals.items():
            if name not in cells[key]:
                raise MergeInputError(f"exact totals for {group}: no measure {name!r}")
            if total is None:
                continue  # withheld by the linked-table audit: the interval stands
            merged = cells[key][name]
            # The nodes' published cubes already bound the truth; a total outside is corrupt.
            if not merged.low <= total <= merged.high:
                raise MergeInputError(
                    f"exact total {total} of {name} in {group} cell {key!r} lies outside"
                    f" [{merged.low}, {merged.high}] that the node cubes allow"
                )
            cells[key][name] = MergedValue(total, total, merged.suppressed_at, "exact_total")


def _order(key: Key) -> tuple[int, tuple[tuple[int, int], ...]]:
    # Finest cells first, then margins; years by number, sexes and age bands in contract order.
    return (
        sum(v is None for v in key),
        tuple((1, 0) if v is None else (0, _rank(v)) for v in key),
    )


def _rank(value: object) -> int:
    # Validated values: a year (int), or a sex or age band of the contract (str).
    return _RANK[value] if isinstance(value, str) else int(value)  # type: ignore[call-overload]
