"""Trends across the rounds of a cycle, and the periods before and after an improvement action.

A cycle's round covers a data period.  When the spec breaks down by year and the period lies
in one calendar year, an area's point of that round is the year's row of its (protected)
table; otherwise it is the round's overall figure.  A provider's point is its own headline,
which counts all its data: its points are compared one at a time, never added up.

Before and after an action: an area's periods of distinct years are added up on each side
(each period's exact numerator and denominator; a withheld or incomplete one is left out and
named), a provider's latest headline before is set beside its latest after.  The intervals
come from ``figures`` like every other figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from coordinator.merge.model import MergedResult, MergedValue
from protocol import Key, QuerySpec

from .benchmark import benchmark_data
from .messages import N_
from .pages import columns, row_data

__all__ = ["SeriesRound", "action_data", "area_trend", "midpoint", "provider_trend"]

GroupId = tuple[str, str]


@dataclass(frozen=True)
class SeriesRound:
    """One round of a cycle: its period, and its spec with the merged (protected) result."""

    cycle: str
    period_start: date
    period_end: date
    round_id: int
    spec: QuerySpec
    merged: MergedResult

    @property
    def year(self) -> int | None:
        """Return the period's calendar year, if the spec has year rows and the period one."""
        same = self.period_start.year == self.period_end.year
        return self.period_start.year if same and "year" in self.spec.dimensions else None

    def point(self, row: dict[str, Any]) -> dict[str, Any]:
        """Return a trend point of this round showing ``row``."""
        return {
            "cycle": self.cycle,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "round_id": self.round_id,
            "scope": self.year if self.year is not None else "all",
            "row": row,
        }


def midpoint(point: Mapping[str, Any]) -> date:
    """Return the middle of a trend point's period: where a chart draws it."""
    start = date.fromisoformat(point["period_start"])
    return start + (date.fromisoformat(point["period_end"]) - start) / 2


def _key(entry: SeriesRound) -> Key:
    dims = entry.spec.dimensions
    return tuple(entry.year if d == "year" else None for d in dims)


def area_trend(series: Sequence[SeriesRound], group: GroupId) -> list[dict[str, Any]]:
    """Return an area's point of every round of a series (withheld ones say why)."""
    points = []
    for entry in series:
        shape = columns(entry.spec, entry.merged.measures)
        found = entry.merged.groups.get(group)
        label = str(entry.year) if entry.year is not None else entry.period_start.isoformat()
        if found is None or not found.published:
            reason = found.withheld if found is not None else N_("no providers answered")
            points.append(entry.point(row_data(shape, None, label, reason or "")))
            continue
        zeros = {c["name"]: MergedValue(0, 0) for c in shape["columns"]}
        points.append(entry.point(row_data(shape, found.cells.get(_key(entry), zeros), label)))
    return points


def provider_trend(series: Sequence[SeriesRound], node_id: str) -> list[dict[str, Any]]:
    """Return a provider's own headline in every round of a series it answered."""
    points = []
    for entry in series:
        page = benchmark_data(entry.spec, entry.merged)
        for row in page["providers"]:
            if row["node"] == node_id:
                label = entry.period_start.isoformat()
                points.append(entry.point({**row, "label": label}) | {"scope": "all"})
    return points


def _exact(row: Mapping[str, Any], name: str) -> int | None:
    figure = row["counts"].get(name) or {}
    return figure.get("value") if figure.get("status") == "exact" else None


def _side(points: Sequence[dict[str, Any]], shape: Mapping[str, Any]) -> dict[str, Any]:
    """Return one side of a comparison: the periods added up, and those left out."""
    used, left_out = [], []
    latest: dict[object, dict[str, Any]] = {}
    for point in points:  # of periods in the same year, the latest round counts
        latest[point["scope"]] = point
    totals = {c["name"]: 0 for c in shape["columns"]}
    for point in latest.values():
        values = {name: _exact(point["row"], name) for name in totals}
        if any(v is None for v in values.values()):
            left_out.append(point["row"]["label"])
            continue
        used.append(point["row"]["label"])
        for name, value in values.items():
            totals[name] += value
    values_ = {n: MergedValue(v, v) for n, v in totals.items()} if used else None
    return {
        "periods": used,
        "left_out": left_out,
        "row": row_data(dict(shape), values_, ", ".join(used), N_("no period to compare")),
    }


def action_data(
    action: Mapping[str, Any], series: Mapping[str, Sequence[SeriesRound]]
) -> dict[str, Any]:
    """Return an action's page: per indicator, its trend and the periods before and after."""
    taken = date.fromisoformat(action["date"])
    indicators = []
    for query_id, rounds in sorted(series.items()):
        if action.get("query") not in (None, query_id) or not rounds:
            continue
        spec = rounds[-1].spec
        shape = columns(spec, rounds[-1].merged.measures)
        if action.get("node"):
            points = provider_trend(rounds, action["node"])
            # Each headline counts all the provider's data: set the latest ones side by side.
            before = [p for p in points if date.fromisoformat(p["period_end"]) < taken][-1:]
            after = [p for p in points if date.fromisoformat(p["period_start"]) >= taken][-1:]
            before = [p | {"scope": "latest"} for p in before]
            after = [p | {"scope": "latest"} for p in after]
        else:
            points = area_trend(rounds, (action["level"], action["area"]))
            before = [p for p in points if date.fromisoformat(p["period_end"]) < taken]
            after = [p for p in points if date.fromisoformat(p["period_start"]) >= taken]
        indicators.append(
            {
                "id": query_id,
                "title": spec.title,
                **shape,
                "trend": points,
                "actions": [{**action, "marker": "A1"}],
                "before": _side(before, shape),
                "after": _side(after, shape),
            }
        )
    return {"kind": "action", "action": dict(action), "indicators": indicators}
