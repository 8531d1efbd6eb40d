"""A sparse basis of the null space of equalities added one at a time.

Starts from the identity and eliminates one column per independent equality
(Gauss-Jordan on columns, pivoting on a large entry in the sparsest column),
so each new row touches only the few unknowns that share columns with it.
Row ``i`` of the basis is empty exactly when unknown ``i`` is determined by the
equalities so far: the test the aggregation layout is built on.  The basis is
kept as dictionaries by row and by column: on the demo's cubes a column holds
about ten entries, so memory grows with the unknowns, not with their square.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["IMPLIED", "NullBasis", "Step"]

ZERO = 1e-9
"""Entries this small are rounding noise; clearing them can only make values look determined."""

LARGE = 0.1
"""A pivot is at least this fraction of the row's largest entry (bounds growth of entries)."""


@dataclass(frozen=True)
class Step:
    """How one equality shrinks the basis (``pivot is None``: implied, nothing changes)."""

    pivot: int | None
    updates: dict[tuple[int, int], float] = field(default_factory=dict)
    """New values at (row, column); 0.0 removes the entry."""


IMPLIED = Step(None)


class NullBasis:
    """Unknowns ``0..n-1``; columns span every direction the equalities allow."""

    def __init__(self, n: int) -> None:
        self.rows: dict[int, dict[int, float]] = {i: {i: 1.0} for i in range(n)}
        self.cols: dict[int, dict[int, float]] = {i: {i: 1.0} for i in range(n)}

    @property
    def width(self) -> int:
        """Return the number of columns: the dimension of the null space."""
        return len(self.cols)

    def determined(self, variable: int) -> bool:
        """Return whether the equalities so far fix an unknown."""
        return not self.rows[variable]

    def step(self, variables: Sequence[int], coefs: Sequence[float]) -> Step | None:
        """Return how ``coefs . x[variables] == b`` shrinks the basis; None if it determines one."""
        a: dict[int, float] = {}
        for var, coef in zip(variables, coefs, strict=True):
            for col, value in self.rows[var].items():
                a[col] = a.get(col, 0.0) + coef * value
        nonzero = {col: value for col, value in a.items() if abs(value) > ZERO}
        if not nonzero:
            return IMPLIED
        largest = max(abs(v) for v in nonzero.values())
        pivot = min(
            (col for col, v in nonzero.items() if abs(v) >= LARGE * largest),
            key=lambda col: (len(self.cols[col]), col),
        )
        column = self.cols[pivot]
        updates: dict[tuple[int, int], float] = {}
        for row, factor in column.items():
            # The row loses the pivot column and mixes it into the others.
            entries = self.rows[row]
            left = len(entries) - 1
            for col, value in nonzero.items():
                if col == pivot:
                    continue
                new = entries.get(col, 0.0) - factor * value / nonzero[pivot]
                if abs(new) <= ZERO:
                    new = 0.0
                if col in entries:
                    left -= 1
                updates[(row, col)] = new
                if new:
                    left += 1
            if left == 0:
                return None
        return Step(pivot, updates)

    def commit(self, step: Step) -> None:
        """Apply a step returned by ``step``."""
        if step.pivot is None:
            return
        for (row, col), value in step.updates.items():
            if value:
                self.rows[row][col] = value
                self.cols[col][row] = value
            else:
                self.rows[row].pop(col, None)
                self.cols[col].pop(row, None)
        for row in self.cols.pop(step.pivot):
            del self.rows[row][step.pivot]

    def add(self, variables: Sequence[int], coefs: Sequence[float]) -> bool:
        """Add an equality if it determines nothing; return whether it was added."""
        step = self.step(variables, coefs)
        if step is None:
            return False
        self.commit(step)
        return True
