"""Events a spec counts: rows of one OMOP table matched by codes, values, windows and links."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._omop import EVENT_TABLES

__all__ = [
    "EndWindow",
    "EventCriterion",
    "IndexEvent",
    "ValueCondition",
    "ValueRange",
    "Window",
    "normalize_code",
]

MAX_DAYS = 36_600
"""No window reaches further than about a century from its anchor."""

MAX_NUMBER = 1e9
"""No value bound is larger than this (in absolute value): lab values and scores are far below."""

_CODE = r"[A-Za-z0-9][A-Za-z0-9.]{0,19}"
_CODE_RE = re.compile(rf"^{_CODE}(-{_CODE})?$")
_LOINC_RE = re.compile(r"^[0-9]{1,7}-[0-9]$")

AnchorName = Literal["death_date", "visit_start_date", "visit_end_date", "event_date", "year_start"]
EventTableName = Literal[
    "condition_occurrence",
    "drug_exposure",
    "procedure_occurrence",
    "visit_occurrence",
    "visit_detail",
    "measurement",
    "observation",
    "death",
    "observation_period",
]
Days = Annotated[int, Field(ge=-MAX_DAYS, le=MAX_DAYS)]
ConceptId = Annotated[int, Field(ge=0, le=2_147_483_647)]
Number = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]


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


class ValueRange(_Model):
    """The values that are values at all (inclusive): a row outside, or without one, is ignored."""

    min: Number | None = Field(None, description="Lowest valid value (inclusive).")
    max: Number | None = Field(None, description="Highest valid value (inclusive).")

    @model_validator(mode="after")
    def _ordered(self) -> ValueRange:
        if self.min is None and self.max is None:
            raise ValueError("a value range needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"value range 'min' ({self.min}) is above 'max' ({self.max})")
        return self


class ValueCondition(_Model):
    """A condition on a value: every bound given must hold."""

    at_least: Number | None = Field(None, description="The value is this or more.")
    at_most: Number | None = Field(None, description="The value is this or less.")
    above: Number | None = Field(None, description="The value is more than this.")
    below: Number | None = Field(None, description="The value is less than this.")

    @model_validator(mode="after")
    def _some(self) -> ValueCondition:
        if all(v is None for v in (self.at_least, self.at_most, self.above, self.below)):
            raise ValueError("a value condition needs 'at_least', 'at_most', 'above' or 'below'")
        lows = [v for v in (self.at_least, self.above) if v is not None]
        highs = [v for v in (self.at_most, self.below) if v is not None]
        if lows and highs and max(lows) > min(highs):
            raise ValueError("a value condition no value can meet (its lower bound is above)")
        return self


class _Matched(_Model):
    """Rows of one table matched by codes, concepts and values (where the table has them)."""

    table: EventTableName
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
    loinc: list[str] = Field(
        default_factory=list,
        max_length=500,
        description="LOINC codes on measurement or observation source values (62238-1).",
    )
    concepts: list[ConceptId] = Field(
        default_factory=list, max_length=500, description="OMOP concept ids on *_concept_id."
    )
    value_range: ValueRange | None = Field(
        None, description="Valid values of value_as_number; other rows are not events."
    )
    value: ValueCondition | None = Field(None, description="What the value must be.")

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

    @field_validator("loinc")
    @classmethod
    def _loinc(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not _LOINC_RE.match(code):
                raise ValueError(f"{code!r} is not a LOINC code (digits, '-', a check digit)")
        return codes

    @model_validator(mode="after")
    def _fits_table(self) -> _Matched:
        info = EVENT_TABLES[self.table]
        if self.icd10 and self.table != "condition_occurrence":
            raise ValueError(f"icd10 codes apply to condition_occurrence, not {self.table}")
        if self.atc and self.table != "drug_exposure":
            raise ValueError(f"atc codes apply to drug_exposure, not {self.table}")
        if self.loinc and info.value is None:
            raise ValueError(f"loinc codes apply to measurement and observation, not {self.table}")
        if self.source_codes and info.source_value is None:
            raise ValueError(f"{self.table} has no source value to match codes against")
        if self.concepts and info.concept is None:
            raise ValueError(f"{self.table} has no concept id to match concepts against")
        if (self.value_range is not None or self.value is not None) and info.value is None:
            raise ValueError(f"{self.table} has no value (value_as_number) to match")
        return self

    @property
    def codes(self) -> list[str]:
        """Return every source-code prefix or range of the event (LOINC codes apart)."""
        return [*self.icd10, *self.atc, *self.source_codes]

    @property
    def any_codes(self) -> bool:
        """Return whether the event names source codes of any system."""
        return bool(self.codes or self.loinc)


class IndexEvent(_Matched):
    """The rows that make a cohort's units: one unit per person and date (and side)."""

    side_character: int | None = Field(
        None,
        ge=1,
        le=20,
        description="Position of the code character that tells units of one day apart (side).",
    )

    @model_validator(mode="after")
    def _dated(self) -> IndexEvent:
        if self.table in ("death", "observation_period", "visit_occurrence", "visit_detail"):
            raise ValueError(f"{self.table} rows cannot be a cohort's events")
        if not self.any_codes and not self.concepts:
            raise ValueError("a cohort's event needs codes or concepts")
        if self.side_character is not None and not self.any_codes:
            raise ValueError("side_character reads a source code: give source codes")
        return self


class EventCriterion(_Matched):
    """Rows of one OMOP table matching codes, values and windows; at least ``at_least`` of them."""

    window: Window | None = Field(None, description="Where the event's date must fall.")
    end_window: EndWindow | None = Field(None, description="Where the event's end date must fall.")
    same_visit: bool = Field(False, description="The event belongs to the unit's own visit.")
    same_year: bool = Field(False, description="The event is dated in the unit's calendar year.")
    same_side: bool = Field(
        False, description="The event's code has the unit's side character at the same place."
    )
    at_least: int = Field(1, ge=1, le=1000, description="Minimum number of matching rows.")

    @model_validator(mode="after")
    def _placed(self) -> EventCriterion:
        info = EVENT_TABLES[self.table]
        if self.end_window is not None and info.end_date is None:
            raise ValueError(f"{self.table} has no end date for an end_window")
        if self.same_visit and info.visit_link is None:
            raise ValueError(f"{self.table} rows are not linked to a visit")
        if self.same_side and not self.any_codes:
            raise ValueError("same_side compares source codes: give source codes")
        if (
            self.window is None
            and self.end_window is None
            and not (self.same_visit or self.same_year)
        ):
            raise ValueError("an event needs a window, an end_window, same_visit or same_year")
        return self

    def anchors(self) -> set[str]:
        """Return the anchors this criterion's windows name explicitly."""
        return {
            w.relative_to
            for w in (self.window, self.end_window)
            if w is not None and w.relative_to is not None
        }

    def windows(self) -> list[Window]:
        """Return the criterion's windows (date and end date)."""
        return [w for w in (self.window, self.end_window) if w is not None]
