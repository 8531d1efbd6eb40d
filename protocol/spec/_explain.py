"""Render a spec as the plain-language text a reviewer reads before approving it."""

from __future__ import annotations

import textwrap

from ._events import EventCriterion, Window
from ._explain_values import (
    code_lists,
    describe_condition,
    describe_range,
    describe_unit,
    describe_value,
    describe_value_measure,
)
from ._loading import spec_hash
from ._measures import (
    SumDaysMeasure,
    SumValueMeasure,
    UnitsMeasure,
    UnitsWithMeasure,
    UnitsWithValueMeasure,
)
from ._model import QuerySpec
from ._omop import EVENT_TABLES, concept_label
from ._vocabulary import DIMENSIONS

__all__ = ["explain"]

ANCHOR_NAMES = {
    "death_date": "the date of death",
    "visit_start_date": "the admission date",
    "visit_end_date": "the discharge date",
    "event_date": "the event date",
    "year_start": "1 January of the year",
}


def _days(n: int) -> str:
    return "1 day" if abs(n) == 1 else f"{abs(n)} days"


def _relative(n: int, anchor: str) -> str:
    if n == 0:
        return anchor
    return f"{_days(n)} {'before' if n < 0 else 'after'} {anchor}"


def describe_window(window: Window, default_anchor: str, what: str = "dated") -> str:
    """Say in words which dates a closed day window admits."""
    anchor = ANCHOR_NAMES[window.relative_to or default_anchor]
    low, high = window.from_, window.to
    if low is not None and high is not None:
        if low == high:
            return f"{what} {'on' if low == 0 else 'exactly'} {_relative(low, anchor)}"
        return (
            f"{what} from {_relative(low, anchor)} to {_relative(high, anchor)}"
            f" (both days included; {high - low + 1} days)"
        )
    if high is not None:
        return f"{what} at any time up to {_relative(high, anchor)} (inclusive)"
    assert low is not None
    return f"{what} at any time from {_relative(low, anchor)} (inclusive)"


def describe_event(criterion: EventCriterion, default_anchor: str) -> list[str]:
    """Describe an event criterion as a few lines of plain language."""
    info = EVENT_TABLES[criterion.table]
    count = "at least 1" if criterion.at_least == 1 else f"at least {criterion.at_least}"
    lines = [f"{count} {info.label} ({criterion.table} row)"]
    if criterion.label:
        lines[0] += f": {criterion.label}"
    codes = code_lists(criterion)
    if codes:
        how = " (source codes match by prefix after removing dots, any case)"
        lines.append("with " + " or ".join(codes) + (how if criterion.any_codes else ""))
    if criterion.value_range is not None:
        lines.append(describe_range(criterion.value_range))
    if criterion.value is not None:
        lines.append(f"and a value {describe_condition(criterion.value)}")
    if criterion.same_visit:
        lines.append("recorded on the same visit (same visit_occurrence_id)")
    if criterion.same_side:
        lines.append("on the same side (the same code character as the unit's side)")
    if criterion.same_year:
        lines.append(f"{info.date} in the unit's calendar year")
    if criterion.window is not None:
        lines.append(describe_window(criterion.window, default_anchor, f"{info.date}"))
    if criterion.end_window is not None:
        text = describe_window(criterion.end_window, default_anchor, f"{info.end_date}")
        if criterion.end_window.include_missing:
            text += f", or {info.end_date} empty (still open)"
        lines.append(text)
    return lines


def _value_window(window: Window, value: object, index: str) -> str:
    table = value.event.table  # type: ignore[attr-defined]
    return describe_window(window, index, EVENT_TABLES[table].date)


def explain(spec: QuerySpec, min_cell: int | None = None) -> str:
    """Return the plain-language reading of a spec that a reviewer approves."""
    cohort = spec.cohort
    index = cohort.index
    k = max(spec.disclosure.min_cell, min_cell or 0)
    unit = cohort.unit.replace("_", "-")
    out: list[str] = [
        f"{spec.title}",
        f"Query {spec.id}, version {spec.version}, content hash {spec_hash(spec)}",
        "",
        *textwrap.wrap(spec.description, 88),
        "",
        f"WHO IS COUNTED (cohort {cohort.name!r}, one unit = one {unit})",
    ]
    if cohort.unit == "person":
        out.append("  - people with a recorded date of death; the index date is the date of death")
    elif cohort.unit in ("event", "person_year"):
        first, *rest = describe_unit(cohort)
        out.append(f"  - {first}")
        out.extend("      " + line for line in rest)
    else:
        kinds = ", ".join(map(concept_label, cohort.visit_concepts))
        out.append(
            "  - visits (visit_occurrence rows)"
            + (f" of concept {kinds}" if kinds else "")
            + f"; the index date is {ANCHOR_NAMES[index]}"
        )
    if cohort.age is not None:
        lo, hi = cohort.age.min, cohort.age.max
        rng = (
            f"{lo} to {hi}"
            if lo is not None and hi is not None
            else f"{lo} or older"
            if lo is not None
            else f"{hi} or younger"
        )
        out.append(f"  - aged {rng} at the index date (year of index minus year of birth)")
        if lo == 0:
            out.append("    (so a unit dated before the person's year of birth is excluded)")
    for name in cohort.require_dates:
        out.append(f"  - with {ANCHOR_NAMES[name]} recorded ({name} not empty)")
    for criterion in cohort.require:
        lines = describe_event(criterion, index)
        out.append("  - who have " + lines[0])
        out.extend("      " + line for line in lines[1:])
    for criterion in cohort.exclude:
        lines = describe_event(criterion, index)
        out.append("  - who do NOT have " + lines[0])
        out.extend("      " + line for line in lines[1:])
    for value in cohort.values:
        first, *rest = describe_value(value, lambda w, v=value: _value_window(w, v, index))
        out.append(f"  - who have {first}")
        out.extend("      " + line for line in rest)
    if cohort.values:
        out.append("    (a unit without each of these values is not in the cohort)")
    out.append("  - always excluded: people whose year of death is before their year of birth")
    if cohort.unit == "visit":
        out.append("    and visits that end before they start")
    out += ["", "WHAT IS COUNTED (per cell)"]
    for m in spec.measures:
        label = f" - {m.label}" if m.label else ""
        if isinstance(m, UnitsMeasure):
            out.append(f"  {m.name}: number of {unit}s in the cohort{label}")
        elif isinstance(m, UnitsWithMeasure):
            lines = describe_event(m.event, index)
            out.append(f"  {m.name}: number of {unit}s in the cohort with {lines[0]}{label}")
            out.extend("      " + line for line in lines[1:])
        elif isinstance(m, UnitsWithValueMeasure | SumValueMeasure):
            out.append(describe_value_measure(m, unit))
        elif isinstance(m, SumDaysMeasure):
            out.append(
                f"  {m.name}: sum over the cohort of the days from {ANCHOR_NAMES[m.from_]}"
                f" to {ANCHOR_NAMES[m.to]}{label}"
            )
    out += ["", "BROKEN DOWN BY"]
    if spec.dimensions:
        out += [f"  {d}: {DIMENSIONS[d]}" for d in spec.dimensions]
        out.append("  Every combination is published, plus every total over each dimension.")
    else:
        out.append("  nothing: one total per measure")
    out += [
        "",
        "DISCLOSURE CONTROL",
        f"  Minimum cell size k = {k} (a node may raise it, never lower it).",
        "  A count of 1 to k-1 is never published: counts below k, numerators whose complement",
        "  (denominator - numerator) is below k, and sums whose count is withheld are suppressed;",
        "  further cells are suppressed until a linear-programming audit proves that no withheld",
        f"  value can be narrowed to an interval less than {k} wide from what is published.",
        "  Withheld values are published as null.",
        "",
        "WHAT LEAVES THE NODE",
        "  Only the counts and sums above per cell, with the query id, version, hash and k;",
        "  no identifiers, no dates, no row-level data.",
    ]
    return "\n".join(out) + "\n"
