"""Colorectal cancer resections, their near misses, and deaths within about three months."""

from __future__ import annotations

import numpy as np

from ._draws import END, START, offset, on_edges, pick, rate
from ._persons import Population
from ._tables import Extract

__all__ = ["draw_colorectal_surgery"]

COLORECTAL = ["C18.7", "C18.2", "c18.0", "C19", "C20", "C189"]
CANCER_DECOYS = ["C17.9", "C21.0", "C1", "D12.6"]
RESECTION = [
    "0DTE0ZZ",
    "0DTF4ZZ",
    "0DTG0ZZ",
    "0DTH0ZZ",
    "0DTK0ZZ",
    "0DTL0ZZ",
    "0DTM0ZZ",
    "0DTN0ZZ",
    "0DTP0ZZ",
    "0dtn.0zz",
]
# Near misses: appendix (J, between H and K), ileum, duodenum, a code too short.
RESECTION_DECOYS = ["0DTJ0ZZ", "0DTB0ZZ", "0DT90ZZ", "0DT"]


def draw_colorectal_surgery(
    rng: np.random.Generator, people: Population, effect: float, extract: Extract
) -> None:
    """Diagnose colorectal cancer in about 1.5% of the living aged 50+ and resect it."""
    old = np.flatnonzero((people.age >= 50) & (people.death == -1))
    who = old[rng.random(len(old)) < 0.015]
    diagnosed = rng.integers(START, END - 240, len(who))
    # Surgery up to four months after the diagnosis; on the same day now and then.
    day = diagnosed + offset(rng, len(who), 0, 120, [0])
    late = rng.random(len(who)) < 0.05  # diagnosed only after surgery: not in the cohort
    extract.conditions(who, np.where(late, day + 5, diagnosed), pick(rng, COLORECTAL, len(who)))
    extract.procedures(who, day, pick(rng, RESECTION, len(who)))
    twice = rng.random(len(who)) < 0.06  # two codes of one resection on one day
    extract.procedures(who[twice], day[twice], pick(rng, RESECTION, twice.sum()))
    near = rng.random(len(who)) < 0.06
    extract.procedures(who[near], day[near] + 200, pick(rng, RESECTION_DECOYS, near.sum()))
    other = rng.random(len(who)) < 0.05
    extract.conditions(who[other], diagnosed[other], pick(rng, CANCER_DECOYS, other.sum()))
    dies = rng.random(len(who)) < rate(0.05, effect)
    when = day + offset(rng, len(who), 0, 90, [0, 90, 91])
    on_edges(when, dies, day, [91, 90, 0])
    people.death[who[dies]] = when[dies]
