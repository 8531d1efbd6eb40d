"""The query spec language: a closed, declarative vocabulary over the OMOP subset.

A spec names a cohort (unit: person, visit, event or person-year) with an index
date, events relative to it in closed day windows, code lists, values chosen
from measurements and observations, measures and dimensions from a fixed set.
There is no free SQL and no way to name an identifier as a dimension: the
models below forbid unknown fields and the compiler only knows the tables and
columns of ``_omop``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._events import AnchorName, ConceptId, EventCriterion, IndexEvent
from ._measures import (
    NAME_RE,
    ChosenValue,
    Measure,
    SumDaysMeasure,
    SumValueMeasure,
    UnitsMeasure,
    UnitsWithMeasure,
    UnitsWithValueMeasure,
)
from ._vocabulary import DIMENSIONS, K_FLOOR, MAX_MIN_CELL

__all__ = ["AgeRange", "Cohort", "Disclosure", "QuerySpec", "RepeatedEvent"]

ANCHORS: dict[str, tuple[str, ...]] = {
    "person": ("death_date",),
    "visit": ("visit_start_date", "visit_end_date"),
    "event": ("event_date",),
    "person_year": ("year_start",),
}
"""Dates a window can be relative to, per unit."""

_IDENTIFIER_RE = re.compile(r"(^|_)(id|ids|source_value|datetime|date)$|^(person|patient|bsn)")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class AgeRange(_Model):
    """Age at the index date (calendar year of index - year of birth), inclusive bounds."""

    min: int | None = Field(None, ge=0, le=150)
    max: int | None = Field(None, ge=0, le=150)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min is None and self.max is None:
            raise ValueError("an age range needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"age 'min' ({self.min}) is above 'max' ({self.max})")
        return self


class RepeatedEvent(_Model):
    """A person-year's qualifying events: two dated in the year at least ``days_apart`` apart."""

    event: IndexEvent
    days_apart: int = Field(ge=0, le=365, description="Least days between the first and last.")

    @model_validator(mode="after")
    def _no_side(self) -> RepeatedEvent:
        if self.event.side_character is not None:
            raise ValueError("a person-year has no side: drop side_character")
        return self


class Cohort(_Model):
    """Who or what is counted: the units, their index date and the inclusion criteria."""

    name: str = Field(pattern=NAME_RE, description="Name of the cohort, e.g. cancer_decedents.")
    unit: Literal["person", "visit", "event", "person_year"]
    index: AnchorName = Field(description="The date windows, year and age are taken from.")
    event: IndexEvent | None = Field(
        None, description="Event unit: the rows that make units (one per person and date)."
    )
    qualifying: RepeatedEvent | None = Field(
        None, description="Person-year unit: the events that put a person's year in the cohort."
    )
    visit_concepts: list[ConceptId] = Field(
        default_factory=list, max_length=50, description="Visit unit: which visits are units."
    )
    age: AgeRange | None = None
    require_dates: list[AnchorName] = Field(
        default_factory=list, description="Units must have these dates (e.g. visit_end_date)."
    )
    require: list[EventCriterion] = Field(
        default_factory=list, max_length=20, description="Events every unit must have."
    )
    exclude: list[EventCriterion] = Field(
        default_factory=list, max_length=20, description="Events no unit may have."
    )
    values: list[ChosenValue] = Field(
        default_factory=list, max_length=10, description="Values every unit must have."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Cohort:
        self._unit_fits()
        allowed = ANCHORS[self.unit]
        used = {self.index, *self.require_dates}
        for _, criterion in self.criteria():
            used |= criterion.anchors()
        bad = sorted(a for a in used if a not in allowed)
        if bad:
            raise ValueError(
                f"a {self.unit} cohort has no date {bad[0]!r} (it has: {', '.join(allowed)})"
            )
        for where, criterion in self.criteria():
            self.check_event(criterion, where)
        names = [v.name for v in self.values]
        if len(set(names)) != len(names):
            raise ValueError("two values share a name")
        return self

    def _unit_fits(self) -> None:
        if (self.unit == "event") != (self.event is not None):
            raise ValueError("an event cohort needs 'event', and only an event cohort has one")
        if (self.unit == "person_year") != (self.qualifying is not None):
            raise ValueError(
                "a person_year cohort needs 'qualifying', and only a person_year cohort has one"
            )
        if self.visit_concepts and self.unit != "visit":
            raise ValueError("visit_concepts applies to a visit cohort only")

    def criteria(self) -> list[tuple[str, EventCriterion]]:
        """Return every event criterion of the cohort, with where it is."""
        return [
            *((f"required event {i + 1}", c) for i, c in enumerate(self.require)),
            *((f"excluded event {i + 1}", c) for i, c in enumerate(self.exclude)),
            *((f"value {v.name!r}", v.event) for v in self.values),
        ]

    def check_event(self, criterion: EventCriterion, where: str) -> None:
        """Raise ValueError if an event criterion cannot apply to this cohort's units."""
        if criterion.same_visit and self.unit != "visit":
            raise ValueError(f"{where}: same_visit applies to a visit cohort only")
        if criterion.same_side and (self.event is None or self.event.side_character is None):
            raise ValueError(f"{where}: same_side needs a cohort event with a side_character")
        if self.unit == "person_year" and criterion.windows():
            raise ValueError(
                f"{where}: a person-year has no day to count from; use same_year, not a window"
            )

    def dates(self) -> set[str]:
        """Return the anchor dates every unit of this cohort is known to have."""
        return {self.index, *self.require_dates} | (
            {"death_date"} if self.unit == "person" else set()
        )


class Disclosure(_Model):
    """Disclosure settings a spec may ask for; a node may only make them stricter."""

    min_cell: int = Field(
        K_FLOOR,
        ge=K_FLOOR,
        le=MAX_MIN_CELL,
        description=f"Minimum cell size k (at least {K_FLOOR}).",
    )


class QuerySpec(_Model):
    """A declarative query: cohort, measures and dimensions of one indicator."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        populate_by_name=True,
        title="lhs query spec",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://lhs.example.org/schema/query-spec.schema.json",
        },
    )

    id: str = Field(pattern=NAME_RE, description="Stable identifier of the query.")
    version: int = Field(ge=1, le=1_000_000)
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(min_length=10, max_length=4000)
    cohort: Cohort
    measures: list[Measure] = Field(min_length=1, max_length=20)
    dimensions: list[str] = Field(
        default_factory=list,
        max_length=len(DIMENSIONS),
        json_schema_extra={"items": {"enum": list(DIMENSIONS)}, "uniqueItems": True},
    )
    disclosure: Disclosure = Field(default_factory=Disclosure)

    @field_validator("dimensions")
    @classmethod
    def _dimensions(cls, dims: list[str]) -> list[str]:
        for dim in dims:
            if dim in DIMENSIONS:
                continue
            if _IDENTIFIER_RE.search(dim):
                raise ValueError(
                    f"{dim!r} identifies a person, a row or a date; it can never be a dimension"
                    f" (allowed: {', '.join(DIMENSIONS)})"
                )
            raise ValueError(f"unknown dimension {dim!r} (allowed: {', '.join(DIMENSIONS)})")
        if len(set(dims)) != len(dims):
            raise ValueError("a dimension is listed twice")
        return dims

    @model_validator(mode="after")
    def _consistent(self) -> QuerySpec:
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise ValueError("two measures share a name")
        if sum(isinstance(m, UnitsMeasure) for m in self.measures) != 1:
            raise ValueError("a spec needs exactly one measure of kind 'units' (its denominator)")
        for m in self.measures:
            self._measure_fits(m)
        return self

    def _measure_fits(self, m: Measure) -> None:
        cohort = self.cohort
        allowed = ANCHORS[cohort.unit]
        anchors: set[str] = set()
        if isinstance(m, UnitsWithMeasure):
            anchors = m.event.anchors()
            if m.event.same_visit and cohort.unit != "visit":
                raise ValueError(f"measure {m.name!r}: same_visit needs a visit cohort")
            cohort.check_event(m.event, f"measure {m.name!r}")
        elif isinstance(m, SumDaysMeasure):
            if cohort.unit == "person_year":
                raise ValueError(f"measure {m.name!r}: a person-year has no dates to count days")
            anchors = {m.from_, m.to}
            missing = sorted(anchors - cohort.dates())
            if missing and not set(missing) - set(allowed):
                raise ValueError(
                    f"measure {m.name!r} sums days to {missing[0]}, which a unit may lack:"
                    f" add it to cohort.require_dates"
                )
        elif isinstance(m, UnitsWithValueMeasure | SumValueMeasure):
            known = [v.name for v in cohort.values]
            for name in m.value_names():
                if name not in known:
                    have = ", ".join(known) or "none"
                    raise ValueError(
                        f"measure {m.name!r} reads value {name!r}, which the cohort does not"
                        f" choose (cohort.values: {have})"
                    )
        bad = sorted(anchors - set(allowed))
        if bad:
            raise ValueError(f"measure {m.name!r}: a {cohort.unit} has no date {bad[0]!r}")

    @property
    def denominator(self) -> UnitsMeasure:
        """Return the measure counting the cohort's units."""
        return next(m for m in self.measures if isinstance(m, UnitsMeasure))
