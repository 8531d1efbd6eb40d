"""Cancer among the decedents, and their care in the last weeks of life."""

from __future__ import annotations

import numpy as np

from ._codes import (
    ANTICANCER,
    CANCER,
    EMERGENCY_VISIT,
    HOSPITAL_STAY,
    INPATIENT,
    INTENSIVE_CARE,
    OPIOIDS,
)
from ._draws import offset, pick, rate, some_of
from ._persons import Population
from ._tables import Extract

__all__ = ["diagnose_cancer", "draw_end_of_life_care"]


def diagnose_cancer(rng: np.random.Generator, people: Population, extract: Extract) -> np.ndarray:
    """Diagnose cancer in about a third of the decedents, up to four years before death."""
    cancer = some_of(rng, people.decedents, 0.36)
    day = people.death[cancer] - offset(rng, len(cancer), 0, 1500, [0])
    extract.conditions(cancer, day, pick(rng, CANCER, len(cancer)))
    return cancer


def draw_end_of_life_care(
    rng: np.random.Generator,
    death: np.ndarray,
    cancer: np.ndarray,
    effect: float,
    extract: Extract,
) -> None:
    """Draw each kind of care near death, each for its own share of the cancer decedents."""
    # The provider effect scales the shares only: providers differ in care, not in cohorts.
    _admissions(rng, death, some_of(rng, cancer, rate(0.22, effect)), extract)
    _deaths_in_hospital(rng, death, some_of(rng, cancer, rate(0.22, effect)), extract)
    _emergency_visits(rng, death, some_of(rng, cancer, rate(0.25, effect)), extract)
    _intensive_care(rng, death, some_of(rng, cancer, rate(0.06, effect)), extract)
    anticancer = some_of(rng, cancer, rate(0.12, effect))
    _drugs_before_death(rng, death, anticancer, ANTICANCER, 45, [30, 31], extract)
    opioids = some_of(rng, cancer, rate(0.6, effect))
    _drugs_before_death(rng, death, opioids, OPIOIDS, 120, [90, 91, 0], extract)


def _admissions(
    rng: np.random.Generator, death: np.ndarray, who: np.ndarray, extract: Extract
) -> None:
    """Add a hospital stay starting in the last 30 days and ending before death."""
    # Days 30 and 31 before death are planted: the two sides of the window's edge.
    start = death[who] - offset(rng, len(who), 0, 30, [30, 31, 0])
    end = np.minimum(start + rng.integers(1, 10, len(who)), death[who] - 1)
    end = np.where(end < start, start, end)
    concept = rng.choice(HOSPITAL_STAY, len(who), p=[0.8, 0.2])
    extract.visits(who, concept, start, end)


def _deaths_in_hospital(
    rng: np.random.Generator, death: np.ndarray, who: np.ndarray, extract: Extract
) -> None:
    """Add a hospital stay spanning the day of death, some without a discharge date."""
    start = death[who] - rng.integers(0, 20, len(who))
    end = death[who] + rng.choice(np.array([0, 0, 0, 1, -1]), len(who))
    end = np.where(rng.random(len(who)) < 0.3, -1, end)
    concept = rng.choice(HOSPITAL_STAY, len(who), p=[0.85, 0.15])
    extract.visits(who, concept, start, end)


def _emergency_visits(
    rng: np.random.Generator, death: np.ndarray, ed: np.ndarray, extract: Extract
) -> None:
    """Add one to three emergency department visits in the last 40 days."""
    for repeat in range(3):
        who = ed if repeat == 0 else ed[rng.random(len(ed)) < 0.45]
        day = death[who] - offset(rng, len(who), 0, 40, [30, 31])
        concept = rng.choice(EMERGENCY_VISIT, len(who), p=[0.85, 0.15])
        extract.visits(who, concept, day, day)


def _intensive_care(
    rng: np.random.Generator, death: np.ndarray, who: np.ndarray, extract: Extract
) -> None:
    """Add an intensive-care stay, as a visit detail of an inpatient visit, in the last 40 days."""
    day = death[who] - offset(rng, len(who), 0, 40, [30, 31, 0])
    vid = extract.visits(who, np.full(len(who), INPATIENT), day, day + 2)
    extract.add(
        "visit_detail",
        visit_detail_id=vid + 10_000_000,
        person_id=who + 1,
        visit_detail_concept_id=INTENSIVE_CARE,
        visit_detail_start_date=day,
        visit_occurrence_id=vid,
    )


def _drugs_before_death(
    rng: np.random.Generator,
    death: np.ndarray,
    who: np.ndarray,
    codes: list[str],
    within: int,
    edges: list[int],
    extract: Extract,
) -> None:
    """Add one drug from ``codes`` up to ``within`` days before death, on ``edges`` now and then."""
    day = death[who] - offset(rng, len(who), 0, within, edges)
    extract.drugs(who, day, pick(rng, codes, len(who)))
