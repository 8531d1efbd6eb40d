"""The persons of an extract: age, sex and year of birth, shared by every later step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._tables import Extract

__all__ = ["Population", "draw_persons"]

# Relative weight of each age in 2024, by band: 0-17, 18-64, 65-74, 75-84 and 85-100.
AGE_WEIGHTS = np.concatenate(
    [np.full(18, 1.0), np.full(47, 1.3), np.full(10, 1.1), np.full(10, 0.8), np.full(16, 0.35)]
)
SEXES = np.array([8507, 8532, 0, 8551])  # male, female, and two kinds of unknown
WHITE = 8527


@dataclass
class Population:
    """The persons by 0-based index (person_id is index + 1) and their deaths."""

    ids: np.ndarray
    age: np.ndarray
    year_of_birth: np.ndarray
    death: np.ndarray  # day of death since 1970, -1 for none
    dies: np.ndarray  # drawn to die in 2015-2024, before any death after a hip fracture
    sex: np.ndarray  # gender concept id

    @property
    def decedents(self) -> np.ndarray:
        """Indices of the persons drawn to die in 2015-2024."""
        return np.flatnonzero(self.dies)


def draw_persons(rng: np.random.Generator, persons: int, extract: Extract) -> Population:
    """Draw the age and sex of ``persons`` persons (in 2024) and add their person rows."""
    ids = np.arange(1, persons + 1, dtype=np.int64)
    age = rng.choice(101, persons, p=AGE_WEIGHTS / AGE_WEIGHTS.sum())
    year_of_birth = 2024 - age
    sex = rng.choice(SEXES, persons, p=[0.49, 0.5, 0.007, 0.003])
    extract.add(
        "person",
        person_id=ids,
        gender_concept_id=sex,
        year_of_birth=year_of_birth,
        race_concept_id=np.full(persons, WHITE),
    )
    return Population(
        ids=ids,
        age=age,
        year_of_birth=year_of_birth,
        death=np.full(persons, -1, dtype=np.int64),
        dies=np.zeros(persons, dtype=bool),
        sex=sex,
    )
