"""Plain words for events, person-years, values and the measures over them."""

from __future__ import annotations

from ._events import EventCriterion, IndexEvent, ValueCondition, ValueRange
from ._measures import ChosenValue, SumValueMeasure, UnitsWithValueMeasure
from ._model import Cohort
from ._omop import EVENT_TABLES, concept_label

__all__ = [
    "code_lists",
    "describe_condition",
    "describe_index_event",
    "describe_range",
    "describe_term",
    "describe_unit",
    "describe_value",
    "describe_value_measure",
]


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def describe_range(valid: ValueRange) -> str:
    """Say which values are values at all."""
    if valid.min is not None and valid.max is not None:
        span = f"from {_number(valid.min)} to {_number(valid.max)}"
    elif valid.min is not None:
        span = f"of {_number(valid.min)} or more"
    else:
        assert valid.max is not None
        span = f"of {_number(valid.max)} or less"
    return f"with value_as_number {span} (a row without a value, or outside this range, is ignored)"


def describe_condition(condition: ValueCondition) -> str:
    """Say a value condition, e.g. '13 or more', 'below 60'."""
    parts = []
    if condition.at_least is not None:
        parts.append(f"{_number(condition.at_least)} or more")
    if condition.above is not None:
        parts.append(f"above {_number(condition.above)}")
    if condition.at_most is not None:
        parts.append(f"{_number(condition.at_most)} or less")
    if condition.below is not None:
        parts.append(f"below {_number(condition.below)}")
    return " and ".join(parts)


def code_lists(criterion: EventCriterion | IndexEvent) -> list[str]:
    """Return each code list an event names ("ICD-10 C00, C97", ...), for "with ... or ..."."""
    parts = []
    if criterion.icd10:
        parts.append("ICD-10 " + ", ".join(criterion.icd10))
    if criterion.atc:
        parts.append("ATC " + ", ".join(criterion.atc))
    if criterion.source_codes:
        parts.append("source codes " + ", ".join(criterion.source_codes))
    if criterion.loinc:
        parts.append("LOINC " + ", ".join(criterion.loinc))
    if criterion.concepts:
        parts.append("OMOP concept " + ", ".join(map(concept_label, criterion.concepts)))
    return parts


def describe_index_event(event: IndexEvent) -> list[str]:
    """Describe the rows a cohort's units are made of."""
    info = EVENT_TABLES[event.table]
    lines = [f"{info.label} ({event.table} rows)" + (f": {event.label}" if event.label else "")]
    codes = " or ".join(code_lists(event))
    if codes:
        how = " (codes match by prefix after removing dots, any case)" if event.any_codes else ""
        lines.append(f"with {codes}{how}")
    if event.value_range is not None:
        lines.append(describe_range(event.value_range))
    if event.value is not None:
        lines.append(f"and a value {describe_condition(event.value)}")
    return lines


def describe_unit(cohort: Cohort) -> list[str]:
    """Describe the units of an event or person-year cohort (the first line of WHO IS COUNTED)."""
    if cohort.unit == "event":
        assert cohort.event is not None
        event = cohort.event
        lines = describe_index_event(event)
        one = "one person on one day"
        if event.side_character is not None:
            one += f" with one side (character {event.side_character} of the code)"
        lines[0] = f"events: {lines[0]}"
        lines.append(f"all such rows of {one} are one unit; the index date is their date")
        if event.side_character is not None:
            lines.append(
                f"(so both sides on one day are two units; character {event.side_character}"
                " of the code is the unit's side)"
            )
        return lines
    assert cohort.qualifying is not None
    lines = describe_index_event(cohort.qualifying.event)
    days = cohort.qualifying.days_apart
    return [
        "person-years: a person's calendar year, counted when the person has two rows of",
        *lines,
        f"dated in that year at least {days} days apart (the first and the last);"
        " the year is the unit's year, and age is age in that year",
    ]


def describe_value(value: ChosenValue, describe_window: object) -> list[str]:
    """Describe how a unit's value is chosen (``describe_window`` words its window)."""
    event = value.event
    info = EVENT_TABLES[event.table]
    which = "earliest" if value.choose == "first" else "latest"
    label = f" ({value.label})" if value.label else ""
    lines = [f"a value {value.name!r}{label}: the {which} {info.label} ({event.table} row)"]
    codes = " or ".join(code_lists(event))
    if codes:
        lines.append(f"with {codes} (codes match by prefix after removing dots, any case)")
    if event.value_range is not None:
        lines.append(describe_range(event.value_range))
    if event.value is not None:
        lines.append(f"and a value {describe_condition(event.value)}")
    for window in event.windows():
        lines.append(describe_window(window))  # type: ignore[operator]
    if event.same_year:
        lines.append(f"{info.date} in the unit's calendar year")
    lines.append(f"of several on that day, the {value.on_tie} value counts")
    return lines


def describe_term(m: UnitsWithValueMeasure | SumValueMeasure) -> str:
    """Say the per-unit term of a value measure."""
    if m.change is not None:
        change = m.change
        return f"change from {change.from_!r} to {change.to!r} ({change.to} minus {change.from_})"
    return f"value {m.value!r}"


def describe_value_measure(m: UnitsWithValueMeasure | SumValueMeasure, unit: str) -> str:
    """Describe a measure over values."""
    label = f" - {m.label}" if m.label else ""
    if isinstance(m, UnitsWithValueMeasure):
        return (
            f"  {m.name}: number of {unit}s in the cohort whose {describe_term(m)} is"
            f" {describe_condition(m.condition)}{label}"
        )
    what = "the squares of the " if m.squared else "the "
    return (
        f"  {m.name}: sum over the cohort of {what}{describe_term(m)}, each rounded to a whole"
        f" number{label}"
    )
