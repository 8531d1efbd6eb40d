"""The query spec language: a closed, declarative vocabulary over the OMOP subset.

A spec names a cohort (unit: person or visit) with an index date, events
relative to it in closed day windows, code lists, measures and dimensions from
a fixed set.  There is no free SQL and no way to name an identifier as a
dimension: the models below forbid unknown fields and the compiler only knows
the tables and columns of ``_omop``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._omop import EVENT_TABLES
from ._vocabulary import DIMENSIONS, K_FLOOR, MAX_MIN_CELL

__all__ = [
    "AgeRange",
    "Cohort",
    "Disclosure",
    "EndWindow",
    "EventCriterion",
    "Measure",
    "QuerySpec",
    "SumDaysMeasure",
    "UnitsMeasure",
    "UnitsWithMeasure",
    "Window",
    "normalize_code",
]

MAX_DAYS = 36_600
"""No window reaches further than about a century from its anchor."""

ANCHORS: dict[str, tuple[str, ...]] = {
    "person": ("death_date",),
    "visit": ("visit_start_date", "visit_end_date"),
}
"""Dates a window can be relative to, per unit."""

_CODE = r"[A-Za-z0-9][A-Za-z0-9.]{0,19}"
_CODE_RE = re.compile(rf"^{_CODE}(-{_CODE})?$")
_NAME_RE = r"^[a-z][a-z0-9_]{0,62}$"
_IDENTIFIER_RE = re.compile(r"(^|_)(id|ids|source_value|datetime|date)$|^(person|patient|bsn)")

AnchorName = Literal["death_date", "visit_start_date", "visit_end_date"]
DimensionName = Literal["year", "sex", "age_band"]
Days = Annotated[int, Field(ge=-MAX_DAYS, le=MAX_DAYS)]
ConceptId = Annotated[int, Field(ge=0, le=2_147_483_647)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


def normalize_code(code: str) -> str:
    """Return a source code as matched: dots removed, upper case."""
    return code.replace(".", "").upper()


class Window(_Model):
    """A closed interval of days relative to an anchor date: ``from <= date - anchor <= to``."""

    relative_to: AnchorName | None = Field(
        None, description="Anchor date; defaults to the cohort's index date."
    )
    from_: Days | None = Field(
        None, alias="from", description="First day, relative to the anchor (negative = before)."
    )
    to: Days | None = Field(None, description="Last day, relative to the anchor (inclusive).")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.from_ is None and self.to is None:
            raise ValueError("a window needs 'from', 'to' or both")
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError(f"window 'from' ({self.from_}) is after 'to' ({self.to})")
        return self


class EndWindow(Window):
    """A window on an event's end date; ``include_missing`` lets an open event (no end) match."""

    include_missing: bool = Field(False, description="An event with no end date matches too.")


class EventCriterion(_Model):
    """Rows of one OMOP table matching codes and windows; at least ``at_least`` of them."""

    table: Literal[
        "condition_occurrence",
        "drug_exposure",
        "procedure_occurrence",
        "visit_occurrence",
        "visit_detail",
        "death",
        "observation_period",
    ]
    label: str | None = Field(None, max_length=200, description="Plain-language name of the event.")
    icd10: list[str] = Field(
        default_factory=list,
        max_length=500,
        description="ICD-10 prefixes or ranges on condition_source_value (C00-C97, S720).",
    )
    atc: list[str] = Field(
        default_factory=list,
        max_length=500,
        description="ATC prefixes or ranges on drug_source_value (L01, N02A).",
    )
    source_codes: list[str] = Field(
        default_factory=list,
        max_length=500,
        description="Other source-value prefixes or ranges (e.g. procedure codes).",
    )
    concepts: list[ConceptId] = Field(
        default_factory=list, max_length=500, description="OMOP concept ids on *_concept_id."
    )
    window: Window | None = Field(None, description="Where the event's date must fall.")
    end_window: EndWindow | None = Field(None, description="Where the event's end date must fall.")
    same_visit: bool = Field(False, description="The event belongs to the unit's own visit.")
    at_least: int = Field(1, ge=1, le=1000, description="Minimum number of matching rows.")

    @field_validator("icd10", "atc", "source_codes")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not _CODE_RE.match(code):
                raise ValueError(
                    f"code {code!r} is not a code or a range of codes"
                    " (letters, digits and dots, e.g. C34.1 or C00-C97)"
                )
            if "-" in code:
                low, high = (normalize_code(part) for part in code.split("-"))
                if len(low) != len(high):
                    raise ValueError(f"range {code!r} has ends of different lengths")
                if low > high:
                    raise ValueError(f"range {code!r} runs backwards")
        return codes

    @model_validator(mode="after")
    def _fits_table(self) -> EventCriterion:
        info = EVENT_TABLES[self.table]
        if self.icd10 and self.table != "condition_occurrence":
            raise ValueError(f"icd10 codes apply to condition_occurrence, not {self.table}")
        if self.atc and self.table != "drug_exposure":
            raise ValueError(f"atc codes apply to drug_exposure, not {self.table}")
        if self.source_codes and info.source_value is None:
            raise ValueError(f"{self.table} has no source value to match codes against")
        if self.concepts and info.concept is None:
            raise ValueError(f"{self.table} has no concept id to match concepts against")
        if self.end_window is not None and info.end_date is None:
            raise ValueError(f"{self.table} has no end date for an end_window")
        if self.same_visit and info.visit_link is None:
            raise ValueError(f"{self.table} rows are not linked to a visit")
        if self.window is None and self.end_window is None and not self.same_visit:
            raise ValueError("an event needs a window, an end_window or same_visit")
        return self

    @property
    def codes(self) -> list[str]:
        """Return every source-code pattern of the criterion."""
        return [*self.icd10, *self.atc, *self.source_codes]

    def anchors(self) -> set[str]:
        """Return the anchors this criterion's windows name explicitly."""
        return {
            w.relative_to
            for w in (self.window, self.end_window)
            if w is not None and w.relative_to is not None
        }


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


class Cohort(_Model):
    """Who or what is counted: the units, their index date and the inclusion criteria."""

    name: str = Field(pattern=_NAME_RE, description="Name of the cohort, e.g. cancer_decedents.")
    unit: Literal["person", "visit"]
    index: AnchorName = Field(description="The date windows, year and age are taken from.")
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

    @model_validator(mode="after")
    def _consistent(self) -> Cohort:
        allowed = ANCHORS[self.unit]
        used = {self.index, *self.require_dates}
        for criterion in self.require:
            used |= criterion.anchors()
        bad = sorted(a for a in used if a not in allowed)
        if bad:
            raise ValueError(
                f"a {self.unit} cohort has no date {bad[0]!r} (it has: {', '.join(allowed)})"
            )
        if self.visit_concepts and self.unit != "visit":
            raise ValueError("visit_concepts applies to a visit cohort only")
        if self.unit != "visit" and any(c.same_visit for c in self.require):
            raise ValueError("same_visit applies to a visit cohort only")
        return self

    def dates(self) -> set[str]:
        """Return the anchor dates every unit of this cohort is known to have."""
        return {self.index, *self.require_dates} | (
            {"death_date"} if self.unit == "person" else set()
        )


class UnitsMeasure(_Model):
    """The number of units in the cohort (a denominator)."""

    name: str = Field(pattern=_NAME_RE)
    kind: Literal["units"]
    label: str | None = Field(None, max_length=200)


class UnitsWithMeasure(_Model):
    """The number of units with at least N matching events (a numerator)."""

    name: str = Field(pattern=_NAME_RE)
    kind: Literal["units_with"]
    label: str | None = Field(None, max_length=200)
    event: EventCriterion


class SumDaysMeasure(_Model):
    """The sum over units of the days from one of their dates to another."""

    name: str = Field(pattern=_NAME_RE)
    kind: Literal["sum_days"]
    label: str | None = Field(None, max_length=200)
    from_: AnchorName = Field(alias="from")
    to: AnchorName


Measure = Annotated[UnitsMeasure | UnitsWithMeasure | SumDaysMeasure, Field(discriminator="kind")]


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

    id: str = Field(pattern=_NAME_RE, description="Stable identifier of the query.")
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
        allowed = ANCHORS[self.cohort.unit]
        known = self.cohort.dates()
        for m in self.measures:
            anchors: set[str] = set()
            if isinstance(m, UnitsWithMeasure):
                anchors = m.event.anchors()
                if m.event.same_visit and self.cohort.unit != "visit":
                    raise ValueError(f"measure {m.name!r}: same_visit needs a visit cohort")
            elif isinstance(m, SumDaysMeasure):
                anchors = {m.from_, m.to}
                missing = sorted(anchors - known)
                if missing and not set(missing) - set(allowed):
                    raise ValueError(
                        f"measure {m.name!r} sums days to {missing[0]}, which a unit may lack:"
                        f" add it to cohort.require_dates"
                    )
            bad = sorted(anchors - set(allowed))
            if bad:
                raise ValueError(f"measure {m.name!r}: a {self.cohort.unit} has no date {bad[0]!r}")
        return self

    @property
    def denominator(self) -> UnitsMeasure:
        """Return the measure counting the cohort's units."""
        return next(m for m in self.measures if isinstance(m, UnitsMeasure))
