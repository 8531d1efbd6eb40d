"""Deaths in 2015-2024, and the death and observation-period rows that follow from them."""

from __future__ import annotations

import numpy as np

from ._draws import END, START
from ._persons import Population
from ._tables import Extract

__all__ = ["draw_deaths", "record_deaths"]


def draw_deaths(rng: np.random.Generator, people: Population) -> None:
    """Draw who dies in 2015-2024, mostly among the old, and on which day."""
    age = people.age
    p_die = np.select([age < 50, age < 65, age < 75, age < 85], [0.01, 0.05, 0.12, 0.25], 0.45)
    people.dies = dies = rng.random(len(age)) < p_die
    birth_day = ((people.year_of_birth - 1970) * 365.25).astype(np.int64)
    days = rng.integers(START, END + 1, dies.sum())
    people.death[dies] = np.maximum(days, birth_day[dies] + 1)


def record_deaths(people: Population, extract: Extract) -> None:
    """Add the death rows and every person's observation period, which ends at death."""
    death = people.death
    died = np.flatnonzero(death != -1)
    extract.add(
        "death",
        person_id=people.ids[died],
        death_date=death[died],
        death_type_concept_id=32817,
    )
    # A planted death before birth falls before the window; its period ends at the window's start.
    ends = np.where(death != -1, np.maximum(death, START), END)
    extract.add(
        "observation_period",
        observation_period_id=people.ids,
        person_id=people.ids,
        observation_period_start_date=np.full(len(people.ids), START - 3650),
        observation_period_end_date=ends,
    )
