"""Deliveries with Dutch-like rates: caesareans, epidurals, preterm births and the EPDS after."""

from __future__ import annotations

import numpy as np

from ._draws import END, START, day_in_year, offset, pick, rate
from ._persons import Population
from ._tables import Extract

__all__ = ["draw_births"]

DELIVERY = ["O80", "O80.0", "o80", "O800", "O81.4", "O83.9", "O84.0"]
CAESAREAN = ["O82", "O82.0", "o82.1", "O821"]
PRETERM = ["O60.1", "O601", "o60.12"]
# Near misses of O80-O84 (O8 and O79 sort just below, O85 just above), and of O60.1.
DELIVERY_DECOYS = ["O79", "O85", "O8", "O75.9", "O60.0", "O86.4", "Z37.0"]
EPIDURAL = ["N01BB01", "N01BB09", "n01bb.02", "N01BB"]
EPIDURAL_DECOYS = ["N01BA02", "N01AX10", "N01B", "N02BB01"]
EPDS = "71354-5"
EPDS_DECOYS = ["71354-6", "71354", "44249-1"]
FEMALE = 8532


def draw_births(
    rng: np.random.Generator, people: Population, effect: float, extract: Extract
) -> None:
    """Deliver about one woman in a hundred a year, and draw the care and the EPDS around it."""
    women = np.flatnonzero(
        (people.sex == FEMALE) & (people.age >= 17) & (people.age <= 58) & (people.death == -1)
    )
    who, day = _deliveries(rng, people, women)
    kind = rng.random(len(who))
    # One draw per delivery for every rate, so that the provider effect nests the numerators.
    caesarean = kind < rate(0.16, effect)
    codes = np.where(caesarean, pick(rng, CAESAREAN, len(who)), pick(rng, DELIVERY, len(who)))
    extract.conditions(who, day, codes)
    twice = rng.random(len(who)) < 0.05  # a second row of the same delivery, on the same day
    extract.conditions(who[twice], day[twice], pick(rng, DELIVERY, twice.sum()))
    preterm = rng.random(len(who)) < rate(0.07, effect)
    extract.conditions(who[preterm], day[preterm], pick(rng, PRETERM, preterm.sum()))
    _epidurals(rng, who, day, rng.random(len(who)) < rate(0.215, effect), extract)
    _epds(rng, who, day, extract)
    _decoys(rng, who, day, extract)
    _invalid_deliveries(rng, people, extract)


def _deliveries(
    rng: np.random.Generator, people: Population, women: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A first delivery at about 31, a second two to five years later; those in 2015-2024."""
    first_age = np.clip(np.rint(rng.normal(31, 5, len(women))), 15, 47).astype(np.int64)
    second_age = first_age + rng.integers(2, 6, len(women))
    who, day = [], []
    for age, p in ((first_age, 0.75), (second_age, 0.5)):
        year = people.year_of_birth[women] + age
        keep = (rng.random(len(women)) < p) & (year >= 2015) & (year <= 2024)
        who.append(women[keep])
        day.append(day_in_year(rng, year[keep]))
    people_idx, days = np.concatenate(who), np.concatenate(day)
    return people_idx, np.minimum(days, END)


def _epidurals(
    rng: np.random.Generator, who: np.ndarray, day: np.ndarray, given: np.ndarray, extract: Extract
) -> None:
    """Start an epidural the day before or on the day of delivery; now and then just outside."""
    start = day[given] - offset(rng, given.sum(), 0, 1, [1, 0, 2, -1])
    extract.drugs(who[given], start, pick(rng, EPIDURAL, given.sum()))
    other = rng.random(len(who)) < 0.05
    extract.drugs(who[other], day[other], pick(rng, EPIDURAL_DECOYS, other.sum()))


def _epds(rng: np.random.Generator, who: np.ndarray, day: np.ndarray, extract: Extract) -> None:
    """An EPDS for about 60% of deliveries 4-12 weeks after; ties, later ones, invalid values."""
    has = rng.random(len(who)) < 0.6
    n = has.sum()
    low = rng.random(n) < 0.88
    score = np.where(low, np.clip(rng.poisson(6, n), 0, 12), rng.integers(13, 25, n))
    when = day[has] + offset(rng, n, 28, 84, [27, 28, 84, 85])
    extract.values("observation", who[has], when, np.full(n, EPDS, dtype=object), score)
    tie = rng.random(n) < 0.05  # a second score on the same day: the highest counts
    extract.values(
        "observation",
        who[has][tie],
        when[tie],
        np.full(tie.sum(), EPDS, dtype=object),
        rng.integers(0, 31, tie.sum()),
    )
    later = rng.random(n) < 0.1  # a later score in the window: the first counts
    extract.values(
        "observation",
        who[has][later],
        when[later] + rng.integers(1, 30, later.sum()),
        np.full(later.sum(), EPDS, dtype=object),
        rng.integers(0, 31, later.sum()),
    )
    bad = rng.random(n) < 0.04  # not values: out of range or empty, on the first date
    values = rng.choice(np.array([31.0, -1.0, np.nan, 45.0]), bad.sum())
    codes = np.full(bad.sum(), EPDS, dtype=object)
    extract.values("observation", who[has][bad], when[bad] - 1, codes, values)
    decoy = rng.random(n) < 0.04
    extract.values(
        "observation",
        who[has][decoy],
        when[decoy],
        pick(rng, EPDS_DECOYS, decoy.sum()),
        rng.integers(13, 31, decoy.sum()),
    )


def _decoys(rng: np.random.Generator, who: np.ndarray, day: np.ndarray, extract: Extract) -> None:
    """Near misses of the delivery codes, and O60.1 the day before delivery (not preterm)."""
    near = rng.random(len(who)) < 0.08
    extract.conditions(who[near], day[near], pick(rng, DELIVERY_DECOYS, near.sum()))
    early = rng.random(len(who)) < 0.02
    extract.conditions(who[early], day[early] - 1, pick(rng, PRETERM, early.sum()))


def _invalid_deliveries(rng: np.random.Generator, people: Population, extract: Extract) -> None:
    """Plant deliveries after the mother's death and before her year of birth (data errors)."""
    died = np.flatnonzero((people.sex == FEMALE) & (people.death >= START))
    after = died[rng.random(len(died)) < 0.05][: max(1, len(died) // 50)]
    day = np.minimum(people.death[after] + rng.integers(1, 200, len(after)), END + 200)
    extract.conditions(after, day, pick(rng, DELIVERY + CAESAREAN, len(after)))
    young = np.flatnonzero((people.sex == FEMALE) & (people.age <= 8))  # born 2016 or later
    before = young[: max(1, len(young) // 1000)]
    day = np.full(len(before), START) + rng.integers(0, 300, len(before))
    extract.conditions(before, day, pick(rng, DELIVERY, len(before)))
