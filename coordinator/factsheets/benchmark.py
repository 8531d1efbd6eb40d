"""The open benchmark: every provider's own published figure, and its position among its peers.

Only what each node published itself is shown: a value the node suppressed is
"withheld", never a bound or a zero.  Positions run from the lowest figure
(1) up; ties share a position.  Whether low is good depends on the indicator,
so the page ranks and does not judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from coordinator.merge.model import NATIONAL, MergedResult, MergedValue, NodeCube
from protocol import Key, QuerySpec

from .pages import columns, row_data

__all__ = ["WITHHELD_BY_PROVIDER", "benchmark_data"]

WITHHELD_BY_PROVIDER = "suppressed by the provider (small numbers)"


def _published(node: NodeCube, names: Sequence[str], top: Key) -> dict[str, MergedValue]:
    values = node.cube.cells.get(top)
    if values is None:  # the node saw no unit at all: its total is exactly zero
        return {n: MergedValue(0, 0) for n in names}
    return {n: MergedValue(v, v) for n in names if (v := values[n]) is not None}


def _sort_value(values: dict[str, MergedValue], shape: dict[str, Any]) -> Fraction:
    return Fraction(values[shape["top"]].low, values[shape["bottom"]].low)


def benchmark_data(spec: QuerySpec, merged: MergedResult) -> dict[str, Any]:
    """Return the benchmark page of one indicator: each provider's figure and position."""
    shape = columns(spec, merged.measures)
    names = [c["name"] for c in shape["columns"]]
    top: Key = (None,) * len(merged.dimensions)
    national = merged.groups.get(("national", NATIONAL))
    if national is not None and national.published:
        reference = row_data(shape, national.cells.get(top), "National")
    else:
        reason = national.withheld if national is not None else "no providers answered"
        reference = row_data(shape, None, "National", reason or "")
    rows: list[dict[str, Any]] = []
    ranked: list[tuple[Fraction, int]] = []
    for node_id, node in sorted(merged.nodes.items()):
        membership = merged.memberships[node_id]
        values = _published(node, names, top)
        row = row_data(shape, values, membership.organisation, WITHHELD_BY_PROVIDER)
        row.update(
            node=node_id,
            organisation=membership.organisation,
            network=membership.network,
            zorgkantoor=membership.zorgkantoor,
            province=membership.province,
            position=None,
        )
        if shape["figure"] != "count" and row["figure"]["status"] == "exact":
            ranked.append((_sort_value(values, shape), len(rows)))
        rows.append(row)
    ranked.sort()
    for i, (value, index) in enumerate(ranked):
        previous = ranked[i - 1] if i else None
        same = previous is not None and previous[0] == value
        rows[index]["position"] = rows[previous[1]]["position"] if same and previous else i + 1
    rows.sort(
        key=lambda r: (r["position"] is None, r["position"] or 0, r["organisation"], r["node"])
    )
    return {
        "kind": "benchmark",
        "id": spec.id,
        "version": spec.version,
        "title": spec.title,
        "description": spec.description,
        "spec_hash": merged.spec_hash,
        **shape,
        "national": reference,
        "ranked": len(ranked),
        "providers": rows,
    }
