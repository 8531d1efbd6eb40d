"""eGFR series of people with chronic kidney disease, normal eGFRs of others, RAS inhibitors."""

from __future__ import annotations

import numpy as np

from ._draws import day_in_year, pick, rate
from ._persons import Population
from ._tables import Extract

__all__ = ["draw_kidney_disease"]

EGFR = ["62238-1", "33914-3", "98979-8"]
# Near misses of the eGFR codes (creatinine, a wrong check digit, a code too short).
EGFR_DECOYS = ["62238-2", "62238", "2160-0", "33914-4"]
RAS = ["C09AA05", "C09CA01", "c09.da03", "C09BA02"]
RAS_DECOYS = ["C08CA01", "C10AA05", "C0", "C03CA01"]
YEARS = np.arange(2015, 2025)


def draw_kidney_disease(
    rng: np.random.Generator, people: Population, effect: float, extract: Extract
) -> None:
    """Give about 6% of those aged 55+ declining eGFRs, year by year, and their treatment."""
    old = np.flatnonzero((people.age >= 55) & (people.death == -1))
    ckd = old[rng.random(len(old)) < 0.07]
    first = rng.integers(2015, 2023, len(ckd))
    level = rng.uniform(22, 62, len(ckd))
    ras = rng.random((len(ckd), len(YEARS)))
    stage5 = rng.random((len(ckd), len(YEARS)))
    for i, year in enumerate(YEARS):
        on = first <= year
        who, years = ckd[on], np.full(on.sum(), year)
        now = level[on] - 2.0 * (year - first[on])
        _year_of_tests(rng, who, years, now, extract)
        treated = ras[on, i] < rate(0.55, effect)
        day = day_in_year(rng, years[treated])
        extract.drugs(who[treated], day, pick(rng, RAS, treated.sum()))
        # A value in the kidney-failure range between the year's first and last test.
        failing = stage5[on, i] < rate(0.05, effect)
        day = day_in_year(rng, years[failing], 120, 240)
        extract.values(
            "measurement",
            who[failing],
            day,
            pick(rng, EGFR, failing.sum()),
            rng.integers(5, 15, failing.sum()).astype(float),
        )
    _background(rng, people, extract)


def _year_of_tests(
    rng: np.random.Generator,
    who: np.ndarray,
    years: np.ndarray,
    level: np.ndarray,
    extract: Extract,
) -> None:
    """Two to four tests a year (first in Jan-Mar, last in Sep-Dec), some years only one."""
    n = len(who)
    noise = lambda: rng.normal(0, 4, n)  # noqa: E731
    one_only = rng.random(n) < 0.1
    early = day_in_year(rng, years, 0, 89)
    late = day_in_year(rng, years, 243, 364)
    close = rng.random(n) < 0.06  # the second test 89 or 90 days after the first
    late = np.where(close, early + rng.choice(np.array([89, 90]), n), late)
    extract.values("measurement", who, early, pick(rng, EGFR, n), np.round(level + noise(), 1))
    two = ~one_only
    extract.values(
        "measurement",
        who[two],
        late[two],
        pick(rng, EGFR, two.sum()),
        np.round(level + noise(), 1)[two],
    )
    mid = two & ~close & (rng.random(n) < 0.5)
    extract.values(
        "measurement",
        who[mid],
        day_in_year(rng, years[mid], 120, 240),
        pick(rng, EGFR, mid.sum()),
        np.round(level + noise(), 1)[mid],
    )
    edge = rng.random(n) < 0.03  # exactly 60 and exactly 15 are not below them
    extract.values(
        "measurement",
        who[edge],
        early[edge] + 1,
        pick(rng, EGFR, edge.sum()),
        rng.choice(np.array([60.0, 15.0]), edge.sum()),
    )
    bad = rng.random(n) < 0.04  # not values: out of range or empty
    extract.values(
        "measurement",
        who[bad],
        late[bad],
        pick(rng, EGFR, bad.sum()),
        rng.choice(np.array([250.0, -5.0, np.nan, 200.5]), bad.sum()),
    )
    decoy = rng.random(n) < 0.04
    extract.values(
        "measurement",
        who[decoy],
        late[decoy],
        pick(rng, EGFR_DECOYS, decoy.sum()),
        rng.uniform(5, 40, decoy.sum()).round(1),
    )


def _background(rng: np.random.Generator, people: Population, extract: Extract) -> None:
    """Normal eGFRs of about 15% of adults, RAS inhibitors and near misses for some."""
    adults = np.flatnonzero(people.age >= 25)
    some = adults[rng.random(len(adults)) < 0.15]
    years = rng.choice(YEARS, len(some))
    day = day_in_year(rng, years)
    extract.values(
        "measurement",
        some,
        day,
        pick(rng, EGFR, len(some)),
        rng.uniform(65, 115, len(some)).round(1),
    )
    drug = some[rng.random(len(some)) < 0.2]
    extract.drugs(
        drug, day_in_year(rng, rng.choice(YEARS, len(drug))), pick(rng, RAS + RAS_DECOYS, len(drug))
    )
