"""Knee replacements (right and left, some both on one day), revisions and Oxford Knee Scores."""

from __future__ import annotations

import numpy as np

from ._draws import END, START, offset, on_edges, pick, rate
from ._persons import Population
from ._tables import Extract

__all__ = ["draw_knees"]

# ICD-10-PCS: 0SR replacement, C right knee, D left knee; the side is the fourth character.
REPLACEMENT = {
    "C": ["0SRC0J9", "0SRC0JZ", "0src0j9", "0SRC.0JA"],
    "D": ["0SRD0J9", "0SRD0JZ", "0srd0ja", "0SRD.0J9"],
}
REVISION = {
    "C": ["0SWC0JZ", "0SPC0JZ", "0SUC09Z", "0swc.0jz"],
    "D": ["0SWD0JZ", "0SPD0JZ", "0SUD09Z", "0swd.0jz"],
}
# Near misses: other joints (B, E), a code too short, a revision of a hip.
KNEE_DECOYS = ["0SRB0J9", "0SRE0JZ", "0SR", "0SWB0JZ", "0SQC0ZZ"]
OKS = ["OKS", "OKS", "OKS", "oks"]
OKS_DECOYS = ["OHS", "OK", "KOOS"]


def draw_knees(
    rng: np.random.Generator, people: Population, effect: float, extract: Extract
) -> None:
    """Replace a knee of about 4% of the living aged 55+, and draw revisions and scores."""
    old = np.flatnonzero((people.age >= 55) & (people.death == -1))
    who = old[rng.random(len(old)) < 0.04]
    day = rng.integers(START + 200, END - 60, len(who))
    side = np.where(rng.random(len(who)) < 0.55, "C", "D")
    both = rng.random(len(who)) < 0.05  # both knees on one day: two replacements
    again = rng.random(len(who)) < 0.03  # the same knee recorded twice on one day: one
    who = np.concatenate([who, who[both], who[again]])
    day = np.concatenate([day, day[both], day[again]])
    side = np.concatenate([side, np.where(side[both] == "C", "D", "C"), side[again]])
    extract.procedures(who, day, _codes(rng, REPLACEMENT, side))
    _revisions(rng, who, day, side, effect, extract)
    _scores(rng, who, day, extract)
    near = rng.random(len(who)) < 0.06
    extract.procedures(who[near], day[near], pick(rng, KNEE_DECOYS, near.sum()))
    _age_limit(rng, people, extract)


def _codes(rng: np.random.Generator, codes: dict[str, list[str]], side: np.ndarray) -> np.ndarray:
    return np.where(side == "C", pick(rng, codes["C"], len(side)), pick(rng, codes["D"], len(side)))


def _revisions(
    rng: np.random.Generator,
    who: np.ndarray,
    day: np.ndarray,
    side: np.ndarray,
    effect: float,
    extract: Extract,
) -> None:
    """Revise about 5% within a year (on days 0, 365 and 366 now and then); some the other knee."""
    revised = rng.random(len(who)) < rate(0.05, effect)
    when = day + offset(rng, len(who), 1, 365, [0, 365, 366, 1])
    on_edges(when, revised, day, [0, 365, 366, 1])
    extract.procedures(who[revised], when[revised], _codes(rng, REVISION, side[revised]))
    other = rng.random(len(who)) < 0.02  # the other knee's revision: not this one's
    flipped = np.where(side[other] == "C", "D", "C")
    extract.procedures(who[other], when[other], _codes(rng, REVISION, flipped))


def _scores(rng: np.random.Generator, who: np.ndarray, day: np.ndarray, extract: Extract) -> None:
    """OKS before (latest in 180 days) and a year after (300-430 days), with ties and errors."""
    n = len(who)
    before = np.clip(np.rint(rng.normal(20, 7, n)), 0, 48)
    after = np.clip(before + np.rint(rng.normal(16, 9, n)), 0, 48)
    has_before = rng.random(n) < 0.75
    has_after = rng.random(n) < 0.65
    pre = day - offset(rng, n, 0, 180, [0, 180, 181, 1])
    post = day + offset(rng, n, 300, 430, [299, 300, 430, 431])
    for mask, when, value in ((has_before, pre, before), (has_after, post, after)):
        extract.values(
            "observation", who[mask], when[mask], pick(rng, OKS, mask.sum()), value[mask]
        )
        tie = mask & (rng.random(n) < 0.06)  # two scores on one day: the highest counts
        extract.values(
            "observation",
            who[tie],
            when[tie],
            pick(rng, OKS, tie.sum()),
            rng.integers(0, 49, tie.sum()),
        )
        bad = mask & (rng.random(n) < 0.05)  # not values: out of range or empty
        values = rng.choice(np.array([49.0, -1.0, np.nan, 60.0]), bad.sum())
        extract.values("observation", who[bad], when[bad], pick(rng, OKS, bad.sum()), values)
    older = has_before & (rng.random(n) < 0.2)  # an earlier baseline: the latest counts
    extract.values(
        "observation",
        who[older],
        pre[older] - rng.integers(1, 60, older.sum()),
        pick(rng, OKS, older.sum()),
        rng.integers(0, 49, older.sum()),
    )
    decoy = rng.random(n) < 0.05
    extract.values(
        "observation",
        who[decoy],
        post[decoy],
        pick(rng, OKS_DECOYS, decoy.sum()),
        rng.integers(0, 49, decoy.sum()),
    )


def _age_limit(rng: np.random.Generator, people: Population, extract: Extract) -> None:
    """Replace a knee at 17 and at 18, the two sides of the cohort's age limit."""
    young = np.flatnonzero((people.age >= 20) & (people.age <= 25) & (people.death == -1))[:4]
    year = people.year_of_birth[young] + np.resize([17, 18], len(young))
    keep = (year >= 2015) & (year <= 2024)
    day = ((year[keep] - 1970) * 365.25).astype(np.int64) + 180
    extract.procedures(young[keep], day, pick(rng, REPLACEMENT["C"], keep.sum()))
