"""Rows no cohort may pick up: everyday care with decoy codes, and rows that break the contract."""

from __future__ import annotations

import numpy as np

from ._codes import (
    ANTICANCER,
    CANCER,
    DECOY_CONDITIONS,
    DECOY_DRUGS,
    INPATIENT,
    OUTPATIENT,
    PROCEDURES,
)
from ._draws import END, START, pick, some_of
from ._persons import Population
from ._tables import Extract

__all__ = [
    "draw_background_care",
    "plant_backward_visits",
    "plant_deaths_before_birth",
    "plant_diagnoses_after_death",
    "plant_events_after_death",
    "plant_orphans",
]


def draw_background_care(rng: np.random.Generator, people: Population, extract: Extract) -> None:
    """Give about 80% of the persons an outpatient visit with decoy codes, some a procedure."""
    some = np.flatnonzero(rng.random(len(people.ids)) < 0.8)
    day = rng.integers(START, END, len(some))
    vid = extract.visits(some, np.full(len(some), OUTPATIENT), day, day)
    extract.conditions(some, day, pick(rng, DECOY_CONDITIONS, len(some)), vid)
    extract.drugs(some, day, pick(rng, DECOY_DRUGS, len(some)))
    proc = some_of(rng, some, 0.3)
    extract.add(
        "procedure_occurrence",
        person_id=people.ids[proc],
        procedure_date=rng.integers(START, END, len(proc)),
        procedure_source_value=pick(rng, PROCEDURES, len(proc)),
        procedure_concept_id=0,
    )


def plant_deaths_before_birth(rng: np.random.Generator, people: Population) -> None:
    """Move about 0.4% of the deaths to one to five years before the year of birth."""
    invalid = people.dies & (rng.random(len(people.ids)) < 0.004)
    years = people.year_of_birth[invalid] - 1 - rng.integers(0, 5, invalid.sum())
    people.death[invalid] = (years - 1970) * 365.25


def plant_diagnoses_after_death(
    rng: np.random.Generator, people: Population, extract: Extract
) -> None:
    """Diagnose cancer in about 1% of the decedents within a month after death."""
    # A diagnosis after death must keep a person out of the cancer cohort.
    late = some_of(rng, people.decedents, 0.01)
    day = people.death[late] + rng.integers(1, 30, len(late))
    extract.conditions(late, day, pick(rng, CANCER, len(late)))


def plant_events_after_death(
    rng: np.random.Generator, death: np.ndarray, cancer: np.ndarray, extract: Extract
) -> None:
    """Give about 2% of the cancer decedents a hospital stay and an anticancer drug after death."""
    after = some_of(rng, cancer, 0.02)
    start = death[after] + rng.integers(1, 20, len(after))
    extract.visits(after, np.full(len(after), INPATIENT), start, death[after] + 25)
    day = death[after] + rng.integers(1, 10, len(after))
    extract.drugs(after, day, pick(rng, ANTICANCER, len(after)))


def plant_backward_visits(
    rng: np.random.Generator, death: np.ndarray, cancer: np.ndarray, extract: Extract
) -> None:
    """Give about 1% of the cancer decedents a hospital stay that ends before it starts."""
    backwards = some_of(rng, cancer, 0.01)
    day = death[backwards] - rng.integers(1, 20, len(backwards))
    end = day - rng.integers(1, 5, len(backwards))
    extract.visits(backwards, np.full(len(backwards), INPATIENT), day, end)


def plant_orphans(rng: np.random.Generator, persons: int, extract: Extract) -> None:
    """Give anticancer drugs to one person id in 2,000 (at least one) that has no person row."""
    orphans = np.arange(persons, persons + max(1, persons // 2000), dtype=np.int64)
    day = rng.integers(START, END, len(orphans))
    extract.drugs(orphans, day, pick(rng, ANTICANCER, len(orphans)))
