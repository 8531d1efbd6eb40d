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
    AGE_BANDS,
    EVENT_TABLES,
    GENDER_CONCEPTS,
    EventCriterion,
    QuerySpec,
    SumDaysMeasure,
    UnitsMeasure,
    UnitsWithMeasure,
    normalize_code,
)

from .sqlfuncs import days_between, year_of

__all__ = ["CompiledGroup", "compile_specs", "group_specs"]

DIMENSION_ORDER = ("year", "sex", "age_band")

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


def _code_match(column: sa.ColumnElement[Any], codes: Sequence[str]) -> sa.ColumnElement[bool]:
    normalized = sa.func.upper(sa.func.replace(column, ".", ""))
    prefixes: dict[int, list[str]] = {}
    clauses: list[sa.ColumnElement[bool]] = []
    for code in codes:
        if "-" in code:
            low, high = (normalize_code(part) for part in code.split("-"))
            clauses.append(sa.func.substr(normalized, 1, len(low)).between(low, high))
        else:
            norm = normalize_code(code)
            prefixes.setdefault(len(norm), []).append(norm)
    for length, values in sorted(prefixes.items()):
        clauses.append(sa.func.substr(normalized, 1, length).in_(sorted(set(values))))
    return sa.or_(*clauses)


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


def _valid_visit(visits: sa.Table) -> sa.ColumnElement[bool]:
    # A visit that ends before it starts is a data error: never a unit, never an event.
    return sa.or_(
        visits.c.visit_end_date.is_(None), visits.c.visit_end_date >= visits.c.visit_start_date
    )


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

    def units(self) -> sa.CTE:
        """The cohort's units with their anchors and dimension values, before event criteria."""
        person = self.table("person")
        deaths = self.first_death()
        cohort = self.cohort
        if cohort.unit == "person":
            anchors = {"death_date": deaths.c.death_date}
            source = person.join(deaths, deaths.c.person_id == person.c.person_id)
            unit_id = person.c.person_id
            conditions = [year_of(deaths.c.death_date) >= person.c.year_of_birth]
        else:
            visits = self.table("visit_occurrence")
            anchors = {
                "visit_start_date": visits.c.visit_start_date,
                "visit_end_date": visits.c.visit_end_date,
            }
            source = visits.join(person, person.c.person_id == visits.c.person_id).outerjoin(
                deaths, deaths.c.person_id == person.c.person_id
            )
            unit_id = visits.c.visit_occurrence_id
            conditions = [
                sa.or_(
                    deaths.c.death_date.is_(None),
                    year_of(deaths.c.death_date) >= person.c.year_of_birth,
                ),
                _valid_visit(visits),
            ]
            if cohort.visit_concepts:
                conditions.append(visits.c.visit_concept_id.in_(sorted(set(cohort.visit_concepts))))
        index = anchors[cohort.index]
        conditions += [anchors[name].is_not(None) for name in sorted(cohort.dates())]
        conditions.append(person.c.year_of_birth.is_not(None))
        age = year_of(index) - person.c.year_of_birth
        if cohort.age is not None:
            if cohort.age.min is not None:
                conditions.append(age >= cohort.age.min)
            if cohort.age.max is not None:
                conditions.append(age <= cohort.age.max)
        sex = sa.case(
            *((person.c.gender_concept_id == cid, code) for cid, code in GENDER_CONCEPTS.items()),
            else_="U",
        )
        band = sa.case(
            *(
                (age <= high if high is not None else age >= low, label)
                for label, low, high in AGE_BANDS
            ),
        )
        return (
            sa.select(
                unit_id.label("unit_id"),
                person.c.person_id.label("person_id"),
                *(col.label(name) for name, col in anchors.items()),
                year_of(index).label("year"),
                sex.label("sex"),
                band.label("age_band"),
            )
            .select_from(source)
            .where(*conditions)
            .cte("units")
        )

    def matching_units(self, units: sa.CTE, criterion: EventCriterion, name: str) -> sa.CTE:
        """Units with at least ``criterion.at_least`` matching events, one row each."""
        info = EVENT_TABLES[criterion.table]
        events = self.first_death() if criterion.table == "death" else self.table(criterion.table)
        date = events.c[info.date]
        if criterion.same_visit:
            join_on = events.c[info.visit_link] == units.c.unit_id
        else:
            join_on = events.c.person_id == units.c.person_id
        conditions: list[sa.ColumnElement[bool]] = []
        matches: list[sa.ColumnElement[bool]] = []
        if criterion.codes:
            matches.append(_code_match(events.c[info.source_value], criterion.codes))
        if criterion.concepts:
            matches.append(events.c[info.concept].in_(sorted(set(criterion.concepts))))
        if matches:
            conditions.append(sa.or_(*matches))
        if criterion.table == "visit_occurrence":
            conditions.append(_valid_visit(events))
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
        query = (
            sa.select(units.c.unit_id).select_from(units.join(events, join_on)).where(*conditions)
        )
        if criterion.at_least > 1:
            query = query.group_by(units.c.unit_id).having(sa.func.count() >= criterion.at_least)
        else:
            query = query.distinct()
        return query.cte(name)

    def compile(self) -> CompiledGroup:
        units = self.units()
        cohort_units: sa.CTE | sa.Table = units
        if self.cohort.require:
            conditions = [
                units.c.unit_id.in_(
                    sa.select(self.matching_units(units, c, f"require_{i}").c.unit_id)
                )
                for i, c in enumerate(self.cohort.require)
            ]
            cohort_units = sa.select(units).where(*conditions).cte("cohort")
        wanted = {d for spec in self.specs for d in spec.dimensions}
        dims = tuple(d for d in DIMENSION_ORDER if d in wanted)
        columns: dict[tuple[str, str], str] = {}
        select_cols: list[sa.ColumnElement[Any]] = [cohort_units.c[d] for d in dims]
        flags: list[sa.ColumnElement[Any]] = []
        labels: dict[str, str] = {}
        source: sa.FromClause = cohort_units
        for spec in self.specs:
            for measure in spec.measures:
                key = json.dumps(
                    measure.model_dump(mode="json", by_alias=True, exclude={"name", "label"}),
                    sort_keys=True,
                )
                if key not in labels:
                    label = f"m{len(labels)}"
                    labels[key] = label
                    if isinstance(measure, UnitsMeasure):
                        select_cols.append(sa.func.count().label(label))
                        flags.append(sa.literal(1).label(label))
                    elif isinstance(measure, UnitsWithMeasure):
                        matched = self.matching_units(
                            cohort_units, measure.event, f"measure_{label}"
                        )
                        source = source.outerjoin(
                            matched, matched.c.unit_id == cohort_units.c.unit_id
                        )
                        select_cols.append(sa.func.count(matched.c.unit_id).label(label))
                        counted = sa.case((matched.c.unit_id.is_not(None), 1), else_=0)
                        flags.append(sa.func.max(counted).label(label))
                    elif isinstance(measure, SumDaysMeasure):
                        days = days_between(
                            cohort_units.c[measure.to], cohort_units.c[measure.from_]
                        )
                        select_cols.append(sa.func.coalesce(sa.func.sum(days), 0).label(label))
                columns[(spec.id, measure.name)] = labels[key]
        statement = sa.select(*select_cols).select_from(source)
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
            .select_from(source)
            .group_by(*(cohort_units.c[d] for d in dims), unit, person)
        )
        return CompiledGroup(self.specs, dims, statement, columns, members)


def _compile_group(specs: list[QuerySpec], table: TableLookup) -> CompiledGroup:
    return _GroupCompiler(specs, table).compile()
