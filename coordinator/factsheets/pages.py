"""Page data: one JSON-ready dict per factsheet, benchmark and index page.

The templates only format what is here, and the JSON twin is this dict, so a
number on a page is always the number in its twin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coordinator.merge.model import MergedGroup, MergedResult, MergedValue
from protocol import Key, MeasureDef, QuerySpec, SumDaysMeasure, SumValueMeasure

from .figures import Figure, count_figure, mean_figure, rate_figure

__all__ = [
    "DIMENSION_LABELS",
    "NOT_IN_AREA",
    "RoundSet",
    "columns",
    "indicator_data",
    "row_data",
    "value_labels",
]

RoundSet = Sequence[tuple[QuerySpec, MergedResult]]
"""The indicators of one round: each spec with its merged result."""

DIMENSION_LABELS = {
    "year": "Year",
    "sex": "Sex",
    "age_band": "Age band",
    "maternal_age_band": "Mother's age band",
}
SEX_LABELS = {"F": "female", "M": "male", "U": "unknown"}
NOT_IN_AREA = "no provider in this area took part in this query"
_STAY = ("visit_start_date", "visit_end_date")


def value_labels(dimension: str, value: object) -> str:
    """Return how a dimension value reads on a page."""
    if dimension == "sex":
        return SEX_LABELS.get(str(value), str(value))
    return str(value)


def columns(spec: QuerySpec, measures: Sequence[MeasureDef]) -> dict[str, Any]:
    """Return the headline figure of a spec: its kind, label, measures and table columns.

    The first measure with a parent makes the figure: a count over its parent
    is a rate, a sum of days over its parent a mean; a spec without one shows
    its counts only.
    """
    labels = {m.name: m.label or m.name for m in spec.measures}
    for m in measures:
        if m.parent is None:
            continue
        squares: str | None = None
        unit = "days"
        if m.kind == "count":
            kind, label, order = "rate", "Rate (95% CI)", [m.name, m.parent]
        else:
            source = next(x for x in spec.measures if x.name == m.name)
            stay = isinstance(source, SumDaysMeasure) and (source.from_, source.to) == _STAY
            kind, label = "mean", "Mean length of stay (days)" if stay else "Mean days per unit"
            order = [m.parent, m.name]  # how many, then their total, then the mean
            if isinstance(source, SumValueMeasure):
                if source.squared:
                    continue  # a sum of squares only widens its sum's mean into an interval
                unit = ""
                label = "Mean change (95% CI)" if source.change else "Mean (95% CI)"
                squares = _squares_of(spec, source)
                order += [squares] if squares else []
        return {
            "figure": kind,
            "figure_label": label,
            "top": m.name,
            "bottom": m.parent,
            "squares": squares,
            "unit": unit,
            "columns": [{"name": n, "label": labels[n]} for n in order],
        }
    return {
        "figure": "count",
        "figure_label": "",
        "top": None,
        "bottom": None,
        "columns": [{"name": m.name, "label": labels[m.name]} for m in measures],
    }


def row_data(
    shape: dict[str, Any], values: dict[str, MergedValue] | None, label: str, reason: str = ""
) -> dict[str, Any]:
    """Return one table row of a figure shape (see ``columns``): its counts and its figure."""
    known = values or {}  # a value missing here is withheld, for ``reason``
    counts = {c["name"]: count_figure(known.get(c["name"]), reason) for c in shape["columns"]}
    figure: Figure | None = None
    if shape["figure"] == "rate":
        figure = rate_figure(known.get(shape["top"]), known.get(shape["bottom"]), reason)
    elif shape["figure"] == "mean":
        squares = known.get(shape["squares"]) if shape.get("squares") else None
        figure = mean_figure(
            known.get(shape["top"]),
            known.get(shape["bottom"]),
            reason,
            squares=squares,
            unit=shape.get("unit", "days"),
        )
    return {"label": label, "counts": counts, "figure": figure}


def indicator_data(spec: QuerySpec, merged: MergedResult, group: MergedGroup | None) -> dict:
    """Return one indicator's section of a factsheet page for one area."""
    shape = columns(spec, merged.measures)
    out: dict[str, Any] = {
        "id": spec.id,
        "version": spec.version,
        "title": spec.title,
        "description": spec.description,
        "spec_hash": merged.spec_hash,
        "min_cell": merged.min_cell,
        **shape,
        "members": len(group.members) if group else 0,
        "nodes": len(group.nodes) if group else 0,
        "providers": group.providers if group else 0,
        "withheld": NOT_IN_AREA if group is None else group.withheld,
        "overall": None,
        "breakdowns": [],
        "incomplete": False,
    }
    if group is None or not group.published:
        return out
    dims = merged.dimensions
    top: Key = (None,) * len(dims)
    out["overall"] = row_data(shape, group.cells.get(top, _zeros(shape)), "All")
    for i, dim in enumerate(dims):
        rows = [
            row_data(shape, values, value_labels(dim, key[i]))
            for key, values in group.cells.items()
            if key[i] is not None and all(v is None for j, v in enumerate(key) if j != i)
        ]
        out["breakdowns"].append({"dimension": dim, "label": DIMENSION_LABELS[dim], "rows": rows})
    rows = [out["overall"], *(r for b in out["breakdowns"] for r in b["rows"])]
    out["incomplete"] = any(_incomplete(r) for r in rows)
    return out


def _squares_of(spec: QuerySpec, total: SumValueMeasure) -> str | None:
    """Return the measure summing the squares of what ``total`` sums, if the spec has one."""
    term = total.model_dump(include={"value", "change"})
    return next(
        (
            m.name
            for m in spec.measures
            if isinstance(m, SumValueMeasure)
            and m.squared
            and m.model_dump(include={"value", "change"}) == term
        ),
        None,
    )


def _incomplete(row: dict[str, Any]) -> bool:
    figures = [*row["counts"].values(), row["figure"] or {}]
    return any(f.get("status") == "incomplete" for f in figures)


def _zeros(shape: dict[str, Any]) -> dict[str, MergedValue]:
    # No node saw any unit: the all-cell is absent from every cube, and exactly zero.
    return {c["name"]: MergedValue(0, 0) for c in shape["columns"]}
