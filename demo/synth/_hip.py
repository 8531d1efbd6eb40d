"""Hip fractures among the old, with their near-miss codes, deaths and osteoporosis drugs."""

from __future__ import annotations

import numpy as np

from ._codes import HIP, HIP_DECOYS, HOSPITAL_STAY, INPATIENT, OSTEOPOROSIS
from ._draws import END, START, offset, pick, rate, some_of
from ._persons import Population
from ._tables import Extract

__all__ = ["draw_hip_fractures"]


def draw_hip_fractures(
    rng: np.random.Generator, people: Population, effect: float, extract: Extract
) -> None:
    """Admit about 1% of the living aged 66+ with a hip fracture, and draw what follows."""
    old = np.flatnonzero((people.age >= 66) & ~people.dies)
    hip = some_of(rng, old, 0.012)
    start, end = _admissions(rng, people, hip, extract)
    _decoys(rng, hip, start, extract)
    _deaths_within_a_month(rng, people, hip, start, effect)
    _osteoporosis_drugs(rng, hip, end, effect, extract)


def _admissions(
    rng: np.random.Generator, people: Population, hip: np.ndarray, extract: Extract
) -> tuple[np.ndarray, np.ndarray]:
    """Add the hip-fracture stays (some without a discharge date); return their start and end."""
    # Admissions at 64 and 65 are planted: the two sides of the cohort's age limit.
    age = rng.choice(np.array([64, 65, 70, 80]), len(hip))
    years = np.minimum(np.maximum(2015, people.year_of_birth[hip] + age), 2024)
    start = ((years - 1970) * 365.25).astype(np.int64) + rng.integers(0, 360, len(hip))
    start = np.clip(start, START, END - 40)
    los = rng.integers(3, 21, len(hip))
    end = np.where(rng.random(len(hip)) < 0.04, -1, start + los)
    concept = rng.choice(HOSPITAL_STAY, len(hip), p=[0.85, 0.15])
    vid = extract.visits(hip, concept, start, end)
    extract.conditions(hip, start, pick(rng, HIP, len(hip)), vid)
    return start, end


def _decoys(rng: np.random.Generator, hip: np.ndarray, start: np.ndarray, extract: Extract) -> None:
    """Add a stay with a near miss of the hip-fracture codes for about a tenth of them."""
    decoy = some_of(rng, hip, 0.1)
    day = np.clip(start[: len(decoy)], START, END)
    vid = extract.visits(decoy, np.full(len(decoy), INPATIENT), day, day + 5)
    extract.conditions(decoy, day, pick(rng, HIP_DECOYS, len(decoy)), vid)


def _deaths_within_a_month(
    rng: np.random.Generator,
    people: Population,
    hip: np.ndarray,
    start: np.ndarray,
    effect: float,
) -> None:
    """Let some die within about a month of admission, on day 30 or 31 now and then."""
    dies = rng.random(len(hip)) < rate(0.08, effect)
    people.death[hip[dies]] = start[dies] + offset(rng, dies.sum(), 0, 30, [30, 31])


def _osteoporosis_drugs(
    rng: np.random.Generator,
    hip: np.ndarray,
    end: np.ndarray,
    effect: float,
    extract: Extract,
) -> None:
    """Start an osteoporosis drug within 90 days of discharge for some of the discharged."""
    treated = (rng.random(len(hip)) < rate(0.2, effect)) & (end >= 0)
    day = end[treated] + offset(rng, treated.sum(), 1, 90, [0, 90, 91])
    extract.drugs(hip[treated], day, pick(rng, OSTEOPOROSIS, treated.sum()))
