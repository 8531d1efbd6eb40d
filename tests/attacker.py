"""An independent attacker over everything a round publishes, written apart from ``protocol``.

Unknowns are every provider's value in every shown cell (the overall value and each one-way
breakdown) of every count.  The attacker knows that counts are non-negative, that each
one-way breakdown of a provider adds up to its overall value, that a numerator never
exceeds its denominator, each provider's published headline, the cells where the providers
together counted at least one unit (the first and last year a page shows), and every
published group value: an exact value is the sum over the members the group table sums.
scipy's ``linprog`` (HiGHS) gives the narrowest interval of each target.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from protocol import MeasureDef

DEN = MeasureDef("denominator")
NUM = MeasureDef("numerator", "count", parent="denominator")

K = 10

Key = tuple
Values = Mapping[str, int | None]


@dataclass
class Published:
    """Everything a round publishes, as the attacker reads it."""

    dimensions: tuple[str, ...]
    keys: list[Key]
    measures: tuple[MeasureDef, ...]
    groups: dict[tuple, Sequence[str]]
    """The members each group's published values sum."""
    values: dict[tuple, dict[Key, Values]]
    """Per group, shown cell and count: the exact value, or None (withheld)."""
    headlines: dict[str, Values] = field(default_factory=dict)
    floors: list[Key] = field(default_factory=list)
    """Cells where the providers together counted at least one unit."""


def narrowed(
    published: Published, truth: Mapping[str, Mapping[Key, Mapping[str, int]]], k: int
) -> list[tuple]:
    """Return every true count of 1..k-1 narrowed below k: (label, truth, low, high).

    Targets: each provider's value in each shown cell, each group's, and each complement
    (denominator - numerator) of them.  ``truth`` holds every provider's true values.
    """
    system = _System(published, sorted(truth))
    found = []
    for label, expression, true in _targets(published, truth, system):
        if not 0 < true < k:
            continue
        low, high = system.interval(expression)
        if high - low < k - 1e-6:
            found.append((label, true, round(low, 6), round(high, 6)))
    return found


class _System:
    def __init__(self, published: Published, nodes: list[str]) -> None:
        counts = [m for m in published.measures if m.kind == "count"]
        keys = published.keys
        self.var = {
            (n, key, m.name): i
            for i, (n, key, m) in enumerate(itertools.product(nodes, keys, counts))
        }
        self.eq: list[np.ndarray] = []
        self.rhs: list[float] = []
        self.le: list[np.ndarray] = []
        self.le_rhs: list[float] = []
        self.bounds = [(0.0, None)] * len(self.var)
        top = (None,) * len(published.dimensions)
        for n, m in itertools.product(nodes, counts):
            for i in range(len(top)):
                parts = [key for key in keys if key[i] is not None]
                if parts:
                    self._eq({**{(n, p, m.name): 1 for p in parts}, (n, top, m.name): -1}, 0)
            value = published.headlines.get(n, {}).get(m.name)
            if value is not None:
                self._eq({(n, top, m.name): 1}, value)
            if m.parent is not None:
                for key in keys:
                    self.le.append(self._row({(n, key, m.name): 1, (n, key, m.parent): -1}))
                    self.le_rhs.append(0.0)
        self._floors(published, nodes, counts)
        for group, cells in published.values.items():
            for key, values in cells.items():
                for m in counts:
                    if values.get(m.name) is not None:
                        members = published.groups[group]
                        self._eq({(n, key, m.name): 1 for n in members}, values[m.name])

    def _floors(self, published: Published, nodes: list[str], counts: list[MeasureDef]) -> None:
        for key in published.floors:
            for m in counts:
                if m.parent is None:
                    self.le.append(-self._row({(n, key, m.name): 1 for n in nodes}))
                    self.le_rhs.append(-1.0)

    def _row(self, entries: Mapping[tuple, float]) -> np.ndarray:
        row = np.zeros(len(self.var))
        for entry, coef in entries.items():
            row[self.var[entry]] += coef
        return row

    def _eq(self, entries: Mapping[tuple, float], value: float) -> None:
        self.eq.append(self._row(entries))
        self.rhs.append(float(value))

    def interval(self, expression: Mapping[tuple, float]) -> tuple[float, float]:
        objective = self._row(expression)
        ends = []
        for sign in (1, -1):
            done = linprog(
                sign * objective,
                A_ub=np.array(self.le) if self.le else None,
                b_ub=np.array(self.le_rhs) if self.le else None,
                A_eq=np.array(self.eq) if self.eq else None,
                b_eq=np.array(self.rhs) if self.eq else None,
                bounds=self.bounds,
                method="highs",
            )
            if done.status == 3:  # unbounded: nothing caps it
                ends.append(-sign * np.inf)
                continue
            assert done.status == 0, done.message
            ends.append(sign * done.fun)
        return ends[0], ends[1]


def _targets(published: Published, truth: Mapping, system: _System):
    counts = [m for m in published.measures if m.kind == "count"]
    who = [(n, [n]) for n in sorted(truth)] + [
        (g, list(members)) for g, members in published.groups.items()
    ]
    for (label, members), key, m in itertools.product(who, published.keys, counts):
        value = sum(truth[n][key][m.name] for n in members)
        yield (label, key, m.name), {(n, key, m.name): 1 for n in members}, value
        if m.parent is not None:
            parent = sum(truth[n][key][m.parent] for n in members)
            expression = {(n, key, m.parent): 1 for n in members}
            expression.update({(n, key, m.name): -1 for n in members})
            yield (label, key, f"{m.parent}-{m.name}"), expression, parent - value
