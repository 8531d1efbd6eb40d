"""What the attacker's feasible points show: the range each target is known to reach.

Every feasible point the audit finds widens the known range of every target at once
(min and max of the target over the points so far); a target whose known range is at
least k wide needs no LP of its own.  Only the points that still hold some target's
known min or max are kept (the champions), so memory stays bounded by the targets while
every point ever found counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._lp import Row, target_matrix

__all__ = ["KEPT", "Ranges"]

KEPT = 1000
"""Points kept at most, to seed a later audit: memory stays bounded on large rounds."""


class Ranges:
    """The known range of each target over the feasible points found so far."""

    def __init__(self, targets: Sequence[Row], n: int) -> None:
        self.matrix = target_matrix(targets, n)
        self.lows = np.full(len(targets), np.inf)
        self.highs = np.full(len(targets), -np.inf)
        self.low_owner = np.full(len(targets), -1, dtype=np.int64)
        self.high_owner = np.full(len(targets), -1, dtype=np.int64)
        self.kept: dict[int, np.ndarray] = {}
        self.holds: dict[int, int] = {}
        self.next_id = 0

    def add(self, point: np.ndarray) -> None:
        """Widen every target's known range by a feasible point; keep it if it holds one."""
        reached = self.matrix @ point
        lower = reached < self.lows
        higher = reached > self.highs
        if not (lower.any() or higher.any()):
            return
        me = self.next_id
        self.next_id += 1
        self.lows[lower] = reached[lower]
        self.highs[higher] = reached[higher]
        for owners, taken in ((self.low_owner, lower), (self.high_owner, higher)):
            losers, counts = np.unique(owners[taken], return_counts=True)
            for loser, count in zip(losers.tolist(), counts.tolist(), strict=True):
                self._drop(loser, count)
            owners[taken] = me
        self.kept[me] = point.copy()
        self.holds[me] = int(lower.sum() + higher.sum())
        while len(self.kept) > KEPT:
            oldest = next(iter(self.kept))
            del self.kept[oldest], self.holds[oldest]

    def reach(self, target: int, value: float, maximize: bool) -> None:
        """Record an extreme found without a point (an unbounded side)."""
        if maximize and value > self.highs[target]:
            self._drop(int(self.high_owner[target]), 1)
            self.highs[target], self.high_owner[target] = value, -1
        elif not maximize and value < self.lows[target]:
            self._drop(int(self.low_owner[target]), 1)
            self.lows[target], self.low_owner[target] = value, -1

    def known(self, target: int) -> tuple[float, float]:
        """Return the target's known range (empty, inf to -inf, before any point)."""
        return float(self.lows[target]), float(self.highs[target])

    def points(self) -> list[np.ndarray]:
        """Return the points that hold some target's known min or max."""
        return [self.kept[i] for i in sorted(self.kept)]

    def _drop(self, owner: int, count: int) -> None:
        if owner not in self.holds:  # none, or let go already
            return
        self.holds[owner] -= count
        if self.holds[owner] <= 0:
            del self.holds[owner], self.kept[owner]
