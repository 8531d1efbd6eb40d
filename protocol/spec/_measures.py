"""What a spec counts per cell: units, units with an event or a value, sums of days or values."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._events import AnchorName, EventCriterion, ValueCondition

__all__ = [
    "COUNT_KINDS",
    "Change",
    "ChosenValue",
    "Measure",
    "SumDaysMeasure",
    "SumValueMeasure",
    "UnitsMeasure",
    "UnitsWithMeasure",
    "UnitsWithValueMeasure",
]

NAME_RE = r"^[a-z][a-z0-9_]{0,62}$"
_NAME = re.compile(NAME_RE)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class ChosenValue(_Model):
    """One value per unit: the first or latest valid value of an event in a window."""

    name: str = Field(pattern=NAME_RE, description="How measures refer to the value.")
    label: str | None = Field(None, max_length=200)
    choose: Literal["first", "latest"] = Field(
        description="The earliest or the latest dated matching row."
    )
    on_tie: Literal["highest", "lowest"] = Field(
        "highest", description="Of rows on the chosen date, the highest or the lowest value."
    )
    event: EventCriterion

    @model_validator(mode="after")
    def _valued(self) -> ChosenValue:
        if self.event.table not in ("measurement", "observation"):
            raise ValueError(
                f"a value is read from measurement or observation, not {self.event.table}"
            )
        if self.event.value_range is None:
            raise ValueError(f"value {self.name!r} needs a value_range (the valid values)")
        if self.event.at_least != 1:
            raise ValueError(f"value {self.name!r} is chosen from one row: at_least must be 1")
        return self


class Change(_Model):
    """The difference between two chosen values of a unit: ``to - from``."""

    from_: str = Field(alias="from", pattern=NAME_RE, description="The earlier value (baseline).")
    to: str = Field(pattern=NAME_RE, description="The later value (follow-up).")

    @model_validator(mode="after")
    def _two(self) -> Change:
        if self.from_ == self.to:
            raise ValueError(f"a change needs two different values, not {self.to!r} twice")
        return self


class _OfValue(_Model):
    """A term per unit: one chosen value, or the change between two."""

    value: str | None = Field(None, pattern=NAME_RE, description="A value of the cohort.")
    change: Change | None = Field(None, description="The change between two of its values.")

    @model_validator(mode="after")
    def _one_term(self) -> _OfValue:
        if (self.value is None) == (self.change is None):
            raise ValueError("give either 'value' or 'change'")
        return self

    def value_names(self) -> list[str]:
        """Return the names of the cohort values the term reads."""
        if self.change is not None:
            return [self.change.from_, self.change.to]
        assert self.value is not None
        return [self.value]


class UnitsMeasure(_Model):
    """The number of units in the cohort (a denominator)."""

    name: str = Field(pattern=NAME_RE)
    kind: Literal["units"]
    label: str | None = Field(None, max_length=200)


class UnitsWithMeasure(_Model):
    """The number of units with at least N matching events (a numerator)."""

    name: str = Field(pattern=NAME_RE)
    kind: Literal["units_with"]
    label: str | None = Field(None, max_length=200)
    event: EventCriterion


class UnitsWithValueMeasure(_OfValue):
    """The number of units whose value (or change) meets a condition (a numerator)."""

    name: str = Field(pattern=NAME_RE)
    kind: Literal["units_with_value"]
    label: str | None = Field(None, max_length=200)
    condition: ValueCondition


class SumDaysMeasure(_Model):
    """The sum over units of the days from one of their dates to another."""

    name: str = Field(pattern=NAME_RE)
    kind: Literal["sum_days"]
    label: str | None = Field(None, max_length=200)
    from_: AnchorName = Field(alias="from")
    to: AnchorName


class SumValueMeasure(_OfValue):
    """The sum over units of a value (or change), each rounded to a whole number; or of squares."""

    name: str = Field(pattern=NAME_RE)
    kind: Literal["sum_value"]
    label: str | None = Field(None, max_length=200)
    squared: bool = Field(False, description="Sum the squares (for a variance and an interval).")


Measure = Annotated[
    UnitsMeasure | UnitsWithMeasure | UnitsWithValueMeasure | SumDaysMeasure | SumValueMeasure,
    Field(discriminator="kind"),
]

COUNT_KINDS = ("units", "units_with", "units_with_value")
"""Measure kinds that count units; the others sum over them."""
