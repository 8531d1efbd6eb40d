"""Compile query specs to one dialect-neutral SQL statement per cohort.

Specs that share a cohort share one statement: the cohort is computed once
and every measure of every spec becomes one column of the same GROUP BY over
the finest cells.  Margins are not computed in SQL; counts of units are
additive, so ``protocol.Cube`` sums them exactly from the finest cells.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from protocol import (
    EVENT_TABLES,
    ChosenValue,
    EventCriterion,
    QuerySpec,
    SumDaysMeasure,
    SumValueMeasure,
    UnitsMeasure,
    UnitsWithMeasure,
    UnitsWithValueMeasure,
)

from .sqlfuncs import days_between, round_whole, year_of
from .units import UnitBuilder, code_match, condition_on, side_of, valid_visit, value_match

__all__ = ["CompiledGroup", "compile_specs", "group_specs"]

DIMENSION_ORDER = ("year", "sex", "age_band", "maternal_age_band")

TableLookup = Callable[[str], sa.Table]


@dataclass
class CompiledGroup:
    """One SQL statement answering every spec of a shared cohort."""

    specs: list[QuerySpec]
    dimensions: tuple[str, ...]
    statement: sa.Select[Any]
    columns: dict[tuple[str, str], str] = field(default_factory=dict)
    """(spec id, measure name) -> result column label."""
    members: sa.Select[Any] | None = None
    """One row per unit: its dimension values, ``unit_id``, ``person_id`` and a 0/1 column per
    count (same labels): whether the unit is counted there.  For the persons behind a count
    of visits and for the release ledger; never leaves the node."""


def _cohort_key(spec: QuerySpec) -> str:
    return json.dumps(spec.cohort.model_dump(mode="json", by_alias=True), sort_keys=True)


def group_specs(specs: Sequence[QuerySpec]) -> list[list[QuerySpec]]:
    """Group specs whose cohorts are identical, keeping first-seen order."""
    groups: dict[str, list[QuerySpec]] = {}
    for spec in specs:
        groups.setdefault(_cohort_key(spec), []).append(spec)
    return list(groups.values())


def compile_specs(specs: Sequence[QuerySpec], table: TableLookup) -> list[CompiledGroup]:
    """Compile specs to one statement per shared cohort, with tables from ``table(name)``."""
    return [_compile_group(group, table) for group in group_specs(specs)]


def _in_window(
    date: sa.ColumnElement[Any], anchor: sa.ColumnElement[Any], low: int | None, high: int | None
) -> sa.ColumnElement[bool]:
    diff = days_between(date, anchor)
    clauses = [date.is_not(None)]
    if low is not None:
        clauses.append(diff >= low)
    if high is not None:
        clauses.append(diff <= high)
    return sa.and_(*clauses)


class _GroupCompiler:
    def __init__(self, specs: list[QuerySpec], table: TableLookup) -> None:
        self.specs = specs
        self.cohort = specs[0].cohort
        self.table = table
        self._first_death: sa.CTE | None = None

    def first_death(self) -> sa.CTE:
        """One death date per person: the earliest."""
        if self._first_death is None:
            death = self.table("death")
            self._first_death = (
                sa.select(death.c.person_id, sa.func.min(death.c.death_date).label("death_date"))
                .where(death.c.death_date.is_not(None))
                .group_by(death.c.person_id)
                .cte("first_death")
            )
        return self._first_death

    def events(
        self, units: sa.CTE | sa.FromClause, criterion: EventCriterion
    ) -> tuple[sa.FromClause, sa.Table | sa.CTE, list[sa.ColumnElement[bool]]]:
        """The units joined to their matching events: (join, events table, conditions)."""
        info = EVENT_TABLES[criterion.table]
        events = self.first_death() if criterion.table == "death" else self.table(criterion.table)
        date = events.c[info.date]
        if criterion.same_visit:
            join_on = events.c[info.visit_link] == units.c.unit_id
        else:
            join_on = events.c.person_id == units.c.person_id
        conditions: list[sa.ColumnElement[bool]] = []
        matches: list[sa.ColumnElement[bool]] = []
        if criterion.any_codes:
            source_value = events.c[info.source_value]
            matches.append(code_match(source_value, criterion.codes, criterion.loinc))
        if criterion.concepts:
            matches.append(events.c[info.concept].in_(sorted(set(criterion.concepts))))
        if matches:
            conditions.append(sa.or_(*matches))
        if info.value is not None:
            conditions += value_match(events.c[info.value], criterion.value_range, criterion.value)
        if criterion.table == "visit_occurrence":
            conditions.append(valid_visit(events))
        default_anchor = self.cohort.index
        if criterion.window is not None:
            w = criterion.window
            anchor = units.c[w.relative_to or default_anchor]
            conditions.append(_in_window(date, anchor, w.from_, w.to))
        if criterion.end_window is not None:
            w = criterion.end_window
            end = events.c[info.end_date]
            anchor = units.c[w.relative_to or default_anchor]
            in_window = _in_window(end, anchor, w.from_, w.to)
            conditions.append(sa.or_(in_window, end.is_(None)) if w.include_missing else in_window)
        if criterion.same_year:
            conditions += [date.is_not(None), year_of(date) == units.c.year]
        if criterion.same_side:
            side = self.cohort.event.side_character  # type: ignore[union-attr]
            conditions.append(side_of(events.c[info.source_value], side) == units.c.side)
        return units.join(events, join_on), events, conditions

    def matching_units(self, units: sa.CTE, criterion: EventCriterion, name: str) -> sa.CTE:
        """Units with at least ``criterion.at_least`` matching events, one row each."""
        joined, _, conditions = self.events(units, criterion)
        query = sa.select(units.c.unit_id).select_from(joined).where(*conditions)
        if criterion.at_least > 1:
            query = query.group_by(units.c.unit_id).having(sa.func.count() >= criterion.at_least)
        else:
            query = query.distinct()
        return query.cte(name)

    def chosen_value(self, units: sa.CTE, value: ChosenValue, name: str) -> sa.CTE:
        """Each unit's chosen value: the first or latest matching row, the highest on a tie."""
        joined, events, conditions = self.events(units, value.event)
        info = EVENT_TABLES[value.event.table]
        date, number = events.c[info.date], events.c[info.value]
        order = [
            date.asc() if value.choose == "first" else date.desc(),
            number.desc() if value.on_tie == "highest" else number.asc(),
        ]
        ranked = (
            sa.select(
                units.c.unit_id,
                number.label("value"),
                sa.func.row_number().over(partition_by=units.c.unit_id, order_by=order).label("n"),
            )
            .select_from(joined)
            .where(*conditions)
            .subquery(f"{name}_ranked")
        )
        return sa.select(ranked.c.unit_id, ranked.c.value).where(ranked.c.n == 1).cte(name)

    def cohort_units(self, units: sa.CTE) -> sa.CTE:
        """The units meeting every requirement and no exclusion, with their chosen values."""
        cohort = self.cohort
        if not (cohort.require or cohort.exclude or cohort.values):
            return units
        source: sa.FromClause = units
        columns: list[sa.ColumnElement[Any]] = list(units.c)
        conditions = [
            units.c.unit_id.in_(sa.select(self.matching_units(units, c, f"require_{i}").c.unit_id))
            for i, c in enumerate(cohort.require)
        ]
        for i, criterion in enumerate(cohort.exclude):
            # An anti-join: DuckDB plans NOT IN/NOT EXISTS over the CSV views poorly.
            excluded = self.matching_units(units, criterion, f"exclude_{i}")
            source = source.outerjoin(excluded, excluded.c.unit_id == units.c.unit_id)
            conditions.append(excluded.c.unit_id.is_(None))
        for i, value in enumerate(cohort.values):
            chosen = self.chosen_value(units, value, f"value_{i}")
            source = source.join(chosen, chosen.c.unit_id == units.c.unit_id)
            columns.append(chosen.c.value.label(f"value_{value.name}"))
        return sa.select(*columns).select_from(source).where(*conditions).cte("cohort")

    def compile(self) -> CompiledGroup:
        units = UnitBuilder(self.cohort, self.table, self.first_death).units()
        cohort_units = self.cohort_units(units)
        wanted = {d for spec in self.specs for d in spec.dimensions}
        dims = tuple(d for d in DIMENSION_ORDER if d in wanted)
        columns: dict[tuple[str, str], str] = {}
        select_cols: list[sa.ColumnElement[Any]] = [cohort_units.c[d] for d in dims]
        flags: list[sa.ColumnElement[Any]] = []
        labels: dict[str, str] = {}
        self.source: sa.FromClause = cohort_units
        for spec in self.specs:
            for measure in spec.measures:
                key = json.dumps(
                    measure.model_dump(mode="json", by_alias=True, exclude={"name", "label"}),
                    sort_keys=True,
                )
                if key not in labels:
                    label = f"m{len(labels)}"
                    labels[key] = label
                    column, flag = self.measure(cohort_units, measure, label)
                    select_cols.append(column.label(label))
                    if flag is not None:
                        flags.append(flag.label(label))
                columns[(spec.id, measure.name)] = labels[key]
        statement = sa.select(*select_cols).select_from(self.source)
        if dims:
            statement = statement.group_by(*(cohort_units.c[d] for d in dims))
        unit, person = cohort_units.c.unit_id, cohort_units.c.person_id
        members = (
            sa.select(
                *(cohort_units.c[d] for d in dims),
                unit.label("unit_id"),
                person.label("person_id"),
                *flags,
            )
            .select_from(self.source)
            .group_by(*(cohort_units.c[d] for d in dims), unit, person)
        )
        return CompiledGroup(self.specs, dims, statement, columns, members)

    def measure(
        self, units: sa.CTE, measure: Any, label: str
    ) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any] | None]:
        """Return a measure's column of the GROUP BY and, for a count, its per-unit 0/1 flag."""
        if isinstance(measure, UnitsMeasure):
            return sa.func.count(), sa.literal(1)
        if isinstance(measure, UnitsWithMeasure):
            matched = self.matching_units(units, measure.event, f"measure_{label}")
            self.source = self.source.outerjoin(matched, matched.c.unit_id == units.c.unit_id)
            counted = sa.case((matched.c.unit_id.is_not(None), 1), else_=0)
            return sa.func.count(matched.c.unit_id), sa.func.max(counted)
        if isinstance(measure, UnitsWithValueMeasure):
            met = sa.and_(*condition_on(_term(units, measure), measure.condition))
            return sa.func.count(sa.case((met, 1))), sa.func.max(sa.case((met, 1), else_=0))
        if isinstance(measure, SumValueMeasure):
            whole = round_whole(_term(units, measure))
            return sa.func.coalesce(
                sa.func.sum(whole * whole if measure.squared else whole), 0
            ), None
        assert isinstance(measure, SumDaysMeasure)
        days = days_between(units.c[measure.to], units.c[measure.from_])
        return sa.func.coalesce(sa.func.sum(days), 0), None


def _term(units: sa.CTE, measure: UnitsWithValueMeasure | SumValueMeasure) -> sa.ColumnElement[Any]:
    """A unit's value, or the change between two of its values."""
    if measure.change is not None:
        return units.c[f"value_{measure.change.to}"] - units.c[f"value_{measure.change.from_}"]
    return units.c[f"value_{measure.value}"]


def _compile_group(specs: list[QuerySpec], table: TableLookup) -> CompiledGroup:
    return _GroupCompiler(specs, table).compile()
