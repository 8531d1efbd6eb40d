"""A cohort's units before its event criteria: persons, visits, events or person-years.

Each unit gets a stable integer id (the release ledger compares ids across releases and
extracts), its person, its anchor dates and its dimension values.  Events and person-years
are built from rows of one table: one unit per person and date (and side character), or per
person and calendar year with two qualifying rows far enough apart.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from protocol import (
    BAND_DIMENSIONS,
    EVENT_TABLES,
    GENDER_CONCEPTS,
    Cohort,
    IndexEvent,
    ValueCondition,
    ValueRange,
    normalize_code,
)

from .sqlfuncs import days_between, year_of

__all__ = ["SIDE_CHARACTERS", "UnitBuilder", "code_match", "side_of", "value_match"]

TableLookup = Callable[[str], sa.Table]

SIDE_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""Characters a side may be; each has a number in an event unit's id (others: 0)."""

_EPOCH = datetime.date(1970, 1, 1)
_DAY_BITS = 18  # days from 1970 offset by 2**17: about 1611 to 2328
_SIDE_BITS = 6


def normalized(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """Return a source-code column as matched: dots removed, upper case."""
    return sa.func.upper(sa.func.replace(column, ".", ""))


def code_match(
    column: sa.ColumnElement[Any], codes: Sequence[str], loinc: Sequence[str] = ()
) -> sa.ColumnElement[bool]:
    """Return whether a source code matches any prefix or range of ``codes``, or a LOINC code."""
    norm = normalized(column)
    prefixes: dict[int, list[str]] = {}
    clauses: list[sa.ColumnElement[bool]] = []
    for code in loinc:  # a LOINC code's hyphen is part of it, never a range
        prefixes.setdefault(len(normalize_code(code)), []).append(normalize_code(code))
    for code in codes:
        if "-" in code:
            low, high = (normalize_code(part) for part in code.split("-"))
            clauses.append(sa.func.substr(norm, 1, len(low)).between(low, high))
        else:
            value = normalize_code(code)
            prefixes.setdefault(len(value), []).append(value)
    for length, values in sorted(prefixes.items()):
        clauses.append(sa.func.substr(norm, 1, length).in_(sorted(set(values))))
    return sa.or_(*clauses)


def side_of(column: sa.ColumnElement[Any], position: int) -> sa.ColumnElement[str]:
    """Return the character at ``position`` (1-based) of a normalized source code."""
    return sa.func.substr(normalized(column), position, 1)


def value_match(
    value: sa.ColumnElement[Any], valid: ValueRange | None, condition: ValueCondition | None
) -> list[sa.ColumnElement[bool]]:
    """Return the conditions a row's value must meet: valid, and as the condition says."""
    out: list[sa.ColumnElement[bool]] = []
    if valid is not None:
        out.append(value.is_not(None))
        if valid.min is not None:
            out.append(value >= valid.min)
        if valid.max is not None:
            out.append(value <= valid.max)
    if condition is not None:
        out += condition_on(value, condition)
    return out


def condition_on(
    value: sa.ColumnElement[Any], condition: ValueCondition
) -> list[sa.ColumnElement[bool]]:
    """Return the comparisons of a value condition."""
    out: list[sa.ColumnElement[bool]] = []
    if condition.at_least is not None:
        out.append(value >= condition.at_least)
    if condition.at_most is not None:
        out.append(value <= condition.at_most)
    if condition.above is not None:
        out.append(value > condition.above)
    if condition.below is not None:
        out.append(value < condition.below)
    return out


def event_rows(table: sa.Table, event: IndexEvent) -> list[sa.ColumnElement[bool]]:
    """Return the conditions that make a row one of ``event``'s rows."""
    info = EVENT_TABLES[event.table]
    matches: list[sa.ColumnElement[bool]] = []
    if event.any_codes:
        assert info.source_value is not None
        matches.append(code_match(table.c[info.source_value], event.codes, event.loinc))
    if event.concepts:
        assert info.concept is not None
        matches.append(table.c[info.concept].in_(sorted(set(event.concepts))))
    out = [table.c[info.date].is_not(None), sa.or_(*matches)]
    if info.value is not None:
        out += value_match(table.c[info.value], event.value_range, event.value)
    return out


class UnitBuilder:
    """Builds the units CTE of one cohort."""

    def __init__(
        self, cohort: Cohort, table: TableLookup, first_death: Callable[[], sa.CTE]
    ) -> None:
        self.cohort = cohort
        self.table = table
        self._first_death = first_death

    @property
    def deaths(self) -> sa.CTE:
        """One death date per person: the earliest."""
        return self._first_death()

    def units(self) -> sa.CTE:
        """The cohort's units with their anchors and dimension values, before event criteria."""
        person = self.table("person")  # first: a missing person table is named first
        deaths, cohort = self.deaths, self.cohort
        build = {
            "person": self._persons,
            "visit": self._visits,
            "event": self._events,
            "person_year": self._person_years,
        }[cohort.unit]
        source, unit_id, anchors, extra, year, conditions = build(person)
        if year is None:
            year = year_of(anchors[cohort.index])
        if cohort.unit != "person":
            # A person whose year of death is before the year of birth is never in a cohort.
            conditions.append(
                sa.or_(
                    deaths.c.death_date.is_(None),
                    year_of(deaths.c.death_date) >= person.c.year_of_birth,
                )
            )
        conditions += [anchors[n].is_not(None) for n in sorted(cohort.dates()) if n in anchors]
        conditions.append(person.c.year_of_birth.is_not(None))
        age = year - person.c.year_of_birth
        if cohort.age is not None:
            if cohort.age.min is not None:
                conditions.append(age >= cohort.age.min)
            if cohort.age.max is not None:
                conditions.append(age <= cohort.age.max)
        sex = sa.case(
            *((person.c.gender_concept_id == cid, code) for cid, code in GENDER_CONCEPTS.items()),
            else_="U",
        )
        bands = [
            sa.case(
                *(
                    (age <= high if high is not None else age >= low, label)
                    for label, low, high in labels
                )
            ).label(dim)
            for dim, labels in BAND_DIMENSIONS.items()
        ]
        return (
            sa.select(
                unit_id.label("unit_id"),
                person.c.person_id.label("person_id"),
                *(col.label(name) for name, col in anchors.items()),
                *(col.label(name) for name, col in extra.items()),
                year.label("year"),
                sex.label("sex"),
                *bands,
            )
            .select_from(source)
            .where(*conditions)
            .cte("units")
        )

    def _persons(self, person: sa.Table) -> tuple:
        deaths = self.deaths
        source = person.join(deaths, deaths.c.person_id == person.c.person_id)
        conditions = [year_of(deaths.c.death_date) >= person.c.year_of_birth]
        anchors = {"death_date": deaths.c.death_date}
        return source, person.c.person_id, anchors, {}, None, conditions

    def _visits(self, person: sa.Table) -> tuple:
        visits = self.table("visit_occurrence")
        anchors = {
            "visit_start_date": visits.c.visit_start_date,
            "visit_end_date": visits.c.visit_end_date,
        }
        source = visits.join(person, person.c.person_id == visits.c.person_id).outerjoin(
            self.deaths, self.deaths.c.person_id == person.c.person_id
        )
        conditions = [valid_visit(visits)]
        if self.cohort.visit_concepts:
            concepts = sorted(set(self.cohort.visit_concepts))
            conditions.append(visits.c.visit_concept_id.in_(concepts))
        return source, visits.c.visit_occurrence_id, anchors, {}, None, conditions

    def _events(self, person: sa.Table) -> tuple:
        event = self.cohort.event
        assert event is not None
        info = EVENT_TABLES[event.table]
        rows = self.table(event.table)
        date = rows.c[info.date]
        keys = [rows.c.person_id.label("person_id"), date.label("event_date")]
        if event.side_character is not None:
            assert info.source_value is not None
            keys.append(side_of(rows.c[info.source_value], event.side_character).label("side"))
        # One unit per person and date (and side), however many rows record it.
        found = sa.select(*keys).where(*event_rows(rows, event)).group_by(*keys).subquery("events")
        source = found.join(person, person.c.person_id == found.c.person_id).outerjoin(
            self.deaths, self.deaths.c.person_id == person.c.person_id
        )
        day = days_between(found.c.event_date, sa.literal(_EPOCH, sa.Date)) + 2 ** (_DAY_BITS - 1)
        side: sa.ColumnElement[Any] = sa.literal(0)
        extra: dict[str, sa.ColumnElement[Any]] = {}
        if event.side_character is not None:
            side = sa.case(
                *((found.c.side == c, i + 1) for i, c in enumerate(SIDE_CHARACTERS)), else_=0
            )
            extra["side"] = found.c.side
        unit_id = (person.c.person_id * 2**_DAY_BITS + day) * 2**_SIDE_BITS + side
        anchors = {"event_date": found.c.event_date}
        return source, unit_id, anchors, extra, None, []

    def _person_years(self, person: sa.Table) -> tuple:
        qualifying = self.cohort.qualifying
        assert qualifying is not None
        info = EVENT_TABLES[qualifying.event.table]
        rows = self.table(qualifying.event.table)
        date = rows.c[info.date]
        year = year_of(date)
        found = (
            sa.select(rows.c.person_id.label("person_id"), year.label("year"))
            .where(*event_rows(rows, qualifying.event))
            .group_by(rows.c.person_id, year)
            .having(
                sa.func.count() >= 2,
                days_between(sa.func.max(date), sa.func.min(date)) >= qualifying.days_apart,
            )
            .subquery("person_years")
        )
        source = found.join(person, person.c.person_id == found.c.person_id).outerjoin(
            self.deaths, self.deaths.c.person_id == person.c.person_id
        )
        unit_id = person.c.person_id * 10_000 + found.c.year
        return source, unit_id, {}, {}, found.c.year, []


def valid_visit(visits: sa.Table | sa.FromClause) -> sa.ColumnElement[bool]:
    """A visit that ends before it starts is a data error: never a unit, never an event."""
    return sa.or_(
        visits.c.visit_end_date.is_(None), visits.c.visit_end_date >= visits.c.visit_start_date
    )
