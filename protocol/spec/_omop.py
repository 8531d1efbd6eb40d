"""The OMOP CDM v5.4 subset the contract names, and what a spec may say about it.

This is the closed vocabulary of the query language: only these tables and
columns can appear in a compiled query, whatever a spec says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CONCEPT_NAMES",
    "EVENT_TABLES",
    "GENDER_CONCEPTS",
    "OPTIONAL_TABLES",
    "TABLES",
    "ColumnType",
    "EventTable",
    "concept_label",
]

ColumnType = Literal["integer", "date", "text", "number"]

TABLES: dict[str, dict[str, ColumnType]] = {
    "person": {
        "person_id": "integer",
        "gender_concept_id": "integer",
        "year_of_birth": "integer",
    },
    "death": {"person_id": "integer", "death_date": "date"},
    "visit_occurrence": {
        "visit_occurrence_id": "integer",
        "person_id": "integer",
        "visit_concept_id": "integer",
        "visit_start_date": "date",
        "visit_end_date": "date",
    },
    "visit_detail": {
        "visit_detail_id": "integer",
        "person_id": "integer",
        "visit_detail_concept_id": "integer",
        "visit_detail_start_date": "date",
        "visit_occurrence_id": "integer",
    },
    "condition_occurrence": {
        "person_id": "integer",
        "condition_start_date": "date",
        "condition_source_value": "text",
        "condition_concept_id": "integer",
        "visit_occurrence_id": "integer",
    },
    "drug_exposure": {
        "person_id": "integer",
        "drug_exposure_start_date": "date",
        "drug_source_value": "text",
        "drug_concept_id": "integer",
    },
    "procedure_occurrence": {
        "person_id": "integer",
        "procedure_date": "date",
        "procedure_source_value": "text",
        "procedure_concept_id": "integer",
    },
    "observation_period": {
        "person_id": "integer",
        "observation_period_start_date": "date",
        "observation_period_end_date": "date",
    },
    "measurement": {
        "person_id": "integer",
        "measurement_date": "date",
        "measurement_source_value": "text",
        "measurement_concept_id": "integer",
        "value_as_number": "number",
    },
    "observation": {
        "person_id": "integer",
        "observation_date": "date",
        "observation_source_value": "text",
        "observation_concept_id": "integer",
        "value_as_number": "number",
    },
}
"""Every table and column a node reads, with its type. Extra ones are ignored."""

OPTIONAL_TABLES = frozenset({"measurement", "observation"})
"""Tables only some indicators need: an extract without them runs every other one."""

GENDER_CONCEPTS: dict[int, str] = {8507: "M", 8532: "F"}
"""Gender concept -> sex code; any other value is ``U``."""

CONCEPT_NAMES: dict[int, str] = {
    9201: "inpatient visit",
    9202: "outpatient visit",
    9203: "emergency room visit",
    262: "emergency room and inpatient visit",
    32037: "intensive care",
    8507: "male",
    8532: "female",
}
"""Plain names of the concepts the library's specs name, for explanations."""


def concept_label(concept: int) -> str:
    """Return a concept id with its plain name when it has one: ``9201 (inpatient visit)``."""
    name = CONCEPT_NAMES.get(concept)
    return f"{concept} ({name})" if name else str(concept)


@dataclass(frozen=True)
class EventTable:
    """How a spec may refer to rows of one table as events."""

    table: str
    date: str
    concept: str | None = None
    source_value: str | None = None
    end_date: str | None = None
    visit_link: str | None = None
    value: str | None = None
    label: str = ""


EVENT_TABLES: dict[str, EventTable] = {
    t.table: t
    for t in (
        EventTable(
            "condition_occurrence",
            date="condition_start_date",
            concept="condition_concept_id",
            source_value="condition_source_value",
            visit_link="visit_occurrence_id",
            label="diagnosis",
        ),
        EventTable(
            "drug_exposure",
            date="drug_exposure_start_date",
            concept="drug_concept_id",
            source_value="drug_source_value",
            label="drug exposure",
        ),
        EventTable(
            "procedure_occurrence",
            date="procedure_date",
            concept="procedure_concept_id",
            source_value="procedure_source_value",
            label="procedure",
        ),
        EventTable(
            "visit_occurrence",
            date="visit_start_date",
            concept="visit_concept_id",
            end_date="visit_end_date",
            label="visit",
        ),
        EventTable(
            "visit_detail",
            date="visit_detail_start_date",
            concept="visit_detail_concept_id",
            visit_link="visit_occurrence_id",
            label="visit detail",
        ),
        EventTable(
            "measurement",
            date="measurement_date",
            concept="measurement_concept_id",
            source_value="measurement_source_value",
            value="value_as_number",
            label="measurement",
        ),
        EventTable(
            "observation",
            date="observation_date",
            concept="observation_concept_id",
            source_value="observation_source_value",
            value="value_as_number",
            label="observation",
        ),
        EventTable("death", date="death_date", label="death"),
        EventTable(
            "observation_period",
            date="observation_period_start_date",
            end_date="observation_period_end_date",
            label="observation period",
        ),
    )
}
"""Tables a spec can count events in, with their date, concept and code columns."""
