"""One warm HiGHS model of a whole linked table; a withheld total is relaxed in place.

Withholding a total only drops a constraint, so every feasible point found
stays feasible and every interval proven wide stays wide: the audit can go
through the targets once, withholding as it goes, without rebuilding the
model or starting a round again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import highspy
import numpy as np

from ..errors import DisclosureError
from ._linked_table import LinkedTable
from ._lp import add_rows

__all__ = ["LinkedLP"]

DUAL_TOLERANCE = 1e-9


class LinkedLP:
    """The attacker LP over node rows and every total row, withheld ones unbounded."""

    def __init__(self, table: LinkedTable, withheld: Collection[int]) -> None:
        base = table.base
        self.n = base.n
        inf = highspy.kHighsInf
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        # Primal simplex suits a changing objective; presolve measured faster than
        # warm starts here (the node rows leave much to eliminate).
        self.highs.setOptionValue("simplex_strategy", 4)
        self.highs.addVars(
            self.n,
            np.array([base.lower.get(v, 0.0) for v in range(self.n)], dtype=np.float64),
            np.array([base.upper.get(v, inf) for v in range(self.n)], dtype=np.float64),
        )
        rows: list[tuple[Mapping[int, float], float, float]] = [
            (row, b, b) for row, b in zip(base.eq, base.eq_rhs, strict=True)
        ]
        rows += [(row, -inf, b) for row, b in zip(base.le, base.le_rhs, strict=True)]
        self.first_total = len(rows)
        self.model_row: dict[int, int] = {}
        for i, total in enumerate(table.rows):
            if total.row and i not in withheld:
                self.model_row[i] = len(rows)
                rows.append((total.row, total.rhs, total.rhs))
        self.total_at = {m: i for i, m in self.model_row.items()}
        add_rows(self.highs, rows)
        self.solved = 0
        self._costed: np.ndarray = np.zeros(0, dtype=np.int32)

    def withhold(self, total: int) -> None:
        """Drop one total's constraint (its row stays, unbounded, so the basis survives)."""
        inf = highspy.kHighsInf
        self.highs.changeRowBounds(self.model_row[total], -inf, inf)

    def extreme(self, target: Mapping[int, float], maximize: bool) -> tuple[np.ndarray, list[int]]:
        """Return the point reaching the target's max (or min) and the totals that bind it.

        A total with a nonzero dual is part of the proof of that bound: only
        withholding such totals can move it.
        """
        if len(self._costed):
            zeros = np.zeros(len(self._costed))
            self.highs.changeColsCost(len(self._costed), self._costed, zeros)
        self._costed = np.array(list(target), dtype=np.int32)
        costs = np.array(list(target.values()), dtype=np.float64)
        self.highs.changeColsCost(len(self._costed), self._costed, costs)
        sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        self.highs.changeObjectiveSense(sense)
        self.highs.run()
        self.solved += 1
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise DisclosureError(
                f"the linked audit LP could not be solved: {self.highs.modelStatusToString(status)}"
            )
        solution = self.highs.getSolution()
        duals = np.asarray(solution.row_dual)[self.first_total :]
        binding = np.flatnonzero(np.abs(duals) > DUAL_TOLERANCE) + self.first_total
        return np.asarray(solution.col_value), [self.total_at[int(m)] for m in binding]
