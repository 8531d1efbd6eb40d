"""A sparse basis of the null space of equalities added one at a time.

Starts from the identity and eliminates one column per independent equality
(Gauss-Jordan on columns, pivoting on a large entry in the sparsest column),
so each new row touches only the few unknowns that share columns with it.
Row ``i`` of the basis is zero exactly when unknown ``i`` is determined by the
equalities so far: the test the aggregation layout is built on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["NullBasis", "Step"]

ZERO = 1e-9
"""Entries this small are rounding noise; clearing them can only make values look determined."""


@dataclass(frozen=True)
class Step:
    """How one equality shrinks the basis (``pivot is None``: implied, nothing changes)."""

    pivot: int | None
    others: np.ndarray
    touched: np.ndarray
    block: np.ndarray


IMPLIED = Step(None, np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros((0, 0)))


class NullBasis:
    """Unknowns ``0..n-1``; columns span every direction the equalities allow."""

    def __init__(self, n: int) -> None:
        self.basis = np.eye(n)

    def step(self, variables: Sequence[int], coefs: Sequence[float]) -> Step | None:
        """Return how ``coefs . x[variables] == b`` shrinks the basis; None if it determines one."""
        if not len(variables):
            return IMPLIED
        a = np.asarray(coefs, dtype=float) @ self.basis[list(variables)]
        nonzero = np.flatnonzero(np.abs(a) > ZERO)
        if not nonzero.size:
            return IMPLIED
        large = nonzero[np.abs(a[nonzero]) >= 0.1 * np.abs(a[nonzero]).max()]
        pivot = int(large[np.argmin(np.count_nonzero(self.basis[:, large], axis=0))])
        others = nonzero[nonzero != pivot]
        column = self.basis[:, pivot]
        touched = np.flatnonzero(column)
        # Only rows reaching the pivot column change: they lose it and mix it into the others.
        block = self.basis[np.ix_(touched, others)] - np.outer(
            column[touched], a[others] / a[pivot]
        )
        block[np.abs(block) < ZERO] = 0.0
        emptied = touched[~np.any(block, axis=1)]
        if emptied.size:
            outside = np.ones(self.basis.shape[1], dtype=bool)
            outside[others] = False
            outside[pivot] = False
            if not np.all(np.any(self.basis[emptied][:, outside], axis=1)):
                return None
        return Step(pivot, others, touched, block)

    def commit(self, step: Step) -> None:
        """Apply a step returned by ``step``."""
        if step.pivot is None:
            return
        self.basis[np.ix_(step.touched, step.others)] = step.block
        last = self.basis.shape[1] - 1
        self.basis[:, step.pivot] = self.basis[:, last]  # drop the pivot column without a copy
        self.basis = self.basis[:, :last]

    def add(self, variables: Sequence[int], coefs: Sequence[float]) -> bool:
        """Add an equality if it determines nothing; return whether it was added."""
        step = self.step(variables, coefs)
        if step is None:
            return False
        self.commit(step)
        return True
