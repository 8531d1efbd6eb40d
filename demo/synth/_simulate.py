"""The simulation as one pipeline of steps, and ``generate``, which writes what it draws."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from ._births import draw_births
from ._ckd import draw_kidney_disease
from ._colorectal import draw_colorectal_surgery
from ._deaths import draw_deaths, record_deaths
from ._decoys import (
    draw_background_care,
    plant_backward_visits,
    plant_deaths_before_birth,
    plant_diagnoses_after_death,
    plant_events_after_death,
    plant_orphans,
)
from ._end_of_life import diagnose_cancer, draw_end_of_life_care
from ._hip import draw_hip_fractures
from ._knee import draw_knees
from ._persons import draw_persons
from ._tables import Events, Extract
from ._write import write_tables

__all__ = ["generate", "simulate"]


def generate(
    persons: int,
    seed: int,
    out: Path,
    fmt: Literal["csv", "parquet"] = "csv",
    site_effect: float = 1.0,
) -> dict[str, int]:
    """Write a synthetic extract of ``persons`` persons to ``out``; return rows per table."""
    if persons < 1:
        raise ValueError("persons must be at least 1")
    if site_effect <= 0:
        raise ValueError("site effect must be above 0")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder")
    tables = simulate(persons, np.random.default_rng(seed), site_effect)
    return write_tables(tables, out, fmt)


def simulate(persons: int, rng: np.random.Generator, effect: float) -> dict[str, Events]:
    """Draw every table of an extract of ``persons`` persons."""
    # The steps share one random stream, so their order is part of what a seed means:
    # reordering them changes every extract.
    extract = Extract()
    people = draw_persons(rng, persons, extract)
    draw_deaths(rng, people)
    plant_deaths_before_birth(rng, people)
    cancer = diagnose_cancer(rng, people, extract)
    plant_diagnoses_after_death(rng, people, extract)
    draw_end_of_life_care(rng, people.death, cancer, effect, extract)
    plant_events_after_death(rng, people.death, cancer, extract)
    plant_backward_visits(rng, people.death, cancer, extract)
    draw_hip_fractures(rng, people, effect, extract)
    draw_background_care(rng, people, extract)
    plant_orphans(rng, persons, extract)
    # The later domains draw from a stream of their own, spawned from the seed: the earlier
    # tables stay as they were, and these do not shift with the provider effect's draws.
    (outcomes,) = rng.spawn(1)
    draw_births(outcomes, people, effect, extract)
    draw_knees(outcomes, people, effect, extract)
    draw_kidney_disease(outcomes, people, effect, extract)
    draw_colorectal_surgery(outcomes, people, effect, extract)
    record_deaths(people, extract)
    return extract.tables
