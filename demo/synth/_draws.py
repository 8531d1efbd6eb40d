"""The study window and the random draws that every step of the simulation shares."""

from __future__ import annotations

import numpy as np

__all__ = [
    "END",
    "EPOCH",
    "START",
    "day_in_year",
    "offset",
    "on_edges",
    "pick",
    "rate",
    "some_of",
    "year_start",
]

# Days are counted from 1970-01-01, as in Arrow's date32.
EPOCH = np.datetime64("1970-01-01", "D")
START = int((np.datetime64("2015-01-01", "D") - EPOCH).astype(int))
END = int((np.datetime64("2024-12-31", "D") - EPOCH).astype(int))


def pick(rng: np.random.Generator, values: list[str], n: int) -> np.ndarray:
    """``n`` values drawn uniformly, with replacement, from ``values``."""
    return np.array(values, dtype=object)[rng.integers(0, len(values), n)]


def rate(p: float, effect: float) -> float:
    """The probability ``p`` scaled by the provider effect, kept within [0, 0.95]."""
    return float(min(0.95, max(0.0, p * effect)))


def some_of(rng: np.random.Generator, group: np.ndarray, p: float) -> np.ndarray:
    """The members of ``group`` drawn each with probability ``p``, in order."""
    return group[rng.random(len(group)) < p]


def offset(rng: np.random.Generator, n: int, low: int, high: int, edges: list[int]) -> np.ndarray:
    """``n`` days in [low, high], about 3% of them set to the boundary values ``edges``."""
    days = rng.integers(low, high + 1, n)
    if edges:
        hit = rng.random(n) < 0.03
        days[hit] = np.array(edges)[rng.integers(0, len(edges), hit.sum())]
        # The first entries take each boundary value once, so that even a small
        # group (a few hip fractures in a small extract) has every boundary.
        first = min(n, len(edges))
        days[:first] = edges[:first]
    return days


def on_edges(days: np.ndarray, chosen: np.ndarray, anchor: np.ndarray, edges: list[int]) -> None:
    """Put the first of the ``chosen`` rows on each edge (anchor + edge), in place."""
    # Without a draw: the stream stays the same whoever is chosen.
    first = np.flatnonzero(chosen)[: len(edges)]
    days[first] = anchor[first] + np.array(edges[: len(first)], dtype=np.int64)


def year_start(years: np.ndarray) -> np.ndarray:
    """The day (since 1970) of 1 January of each year."""
    first = (np.asarray(years, dtype=np.int64) - 1970).astype("datetime64[Y]")
    return first.astype("datetime64[D]").astype(np.int64)


def day_in_year(
    rng: np.random.Generator, years: np.ndarray, low: int = 0, high: int = 364
) -> np.ndarray:
    """A random day of each year, from day ``low`` to day ``high`` of the year (0 = 1 January)."""
    return year_start(years) + rng.integers(low, high + 1, len(years))
