"""Which fixed values bind a target: the reduced costs of the attacker's LP at its extremes.

A published value enters the attacker's system as an unknown fixed to it.  At the max (or min)
of a target, a fixed unknown with a nonzero reduced cost is part of the proof of that bound:
freeing it (withholding the value) can move the bound, freeing the others cannot.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import highspy
import numpy as np

from ._lp import LinearSystem, Row, add_rows

__all__ = ["DUAL_TOLERANCE", "Binding"]

DUAL_TOLERANCE = 1e-7
"""A reduced cost this small is rounding noise: the value does not bind."""

Cell = Hashable


class Binding:
    """The attacker's LP with every published value fixed, asked which values bind a target."""

    def __init__(
        self, system: LinearSystem, cell_of: Mapping[int, Cell], reasons: Mapping[Cell, object]
    ) -> None:
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        self.n = system.n
        self.highs.addVars(
            system.n,
            np.array([system.lower.get(v, 0.0) for v in range(system.n)], dtype=np.float64),
            np.array([min(system.upper.get(v, inf), inf) for v in range(system.n)]),
        )
        rows = [(row, b, b) for row, b in zip(system.eq, system.eq_rhs, strict=True)]
        rows += [(row, -inf, b) for row, b in zip(system.le, system.le_rhs, strict=True)]
        add_rows(self.highs, rows)
        self.published = {v: c for v, c in cell_of.items() if c not in reasons}
        self.solved = 0

    def of(self, expression: Row) -> set[Cell]:
        """Return the published values whose fixing binds the target's max or min."""
        cost = np.zeros(self.n)
        for var, coef in expression.items():
            cost[var] = coef
        self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)
        out: set[Cell] = set()
        for sense in (highspy.ObjSense.kMaximize, highspy.ObjSense.kMinimize):
            self.highs.changeObjectiveSense(sense)
            self.highs.run()
            self.solved += 1
            if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                continue
            duals = np.asarray(self.highs.getSolution().col_dual)
            out |= {c for v, c in self.published.items() if abs(duals[v]) > DUAL_TOLERANCE}
        return out
