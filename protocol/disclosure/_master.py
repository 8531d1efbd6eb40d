"""The MILP over suppression patterns: binary suppress variables, structural rows and cuts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import highspy
import numpy as np

from ._table import Table

__all__ = ["Master"]


class Master:
    """The MILP over the suppress variables, with the cuts found so far."""

    def __init__(self, table: Table, costs: np.ndarray, fixed: np.ndarray) -> None:
        self.table = table
        n = table.n
        self.fixed = fixed
        self.costs = costs
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        # Same model, same options, same answer: no clock decides anything.
        self.highs.setOptionValue("random_seed", 0)
        self.highs.setOptionValue("mip_rel_gap", 0.0)
        self.highs.setOptionValue("mip_abs_gap", 1e-7)
        self.highs.addVars(n, fixed.astype(np.float64), np.ones(n))
        self.all = np.arange(n, dtype=np.int32)
        self.highs.changeColsCost(n, self.all, costs)
        self.highs.changeColsIntegrality(n, self.all, np.full(n, highspy.HighsVarType.kInteger))
        self.rows = 0
        self.nodes = 0
        self.solves = 0
        self._structure()

    def add(self, rows: Sequence[tuple[Mapping[int, float], float]]) -> None:
        """Add rows ``row . s >= lower``."""
        if not rows:
            return
        starts, indices, coefs = [], [], []
        for row, _ in rows:
            starts.append(len(indices))
            for var, coef in sorted(row.items()):
                if coef:
                    indices.append(var)
                    coefs.append(coef)
        self.highs.addRows(
            len(rows),
            np.array([lower for _, lower in rows], dtype=np.float64),
            np.full(len(rows), highspy.kHighsInf),
            len(indices),
            np.array(starts, dtype=np.int32),
            np.array(indices, dtype=np.int32),
            np.array(coefs, dtype=np.float64),
        )
        self.rows += len(rows)

    def _structure(self) -> None:
        """Add the cuts every pattern needs, read off each additive relation alone.

        In one relation ``total = sum(parts)`` with the total published, a suppressed part
        can move by at most its own value plus the values of the other suppressed parts
        (each can drop to 0 and no lower), so a part worth v needs partners worth k - v
        there; with the total suppressed too it can move freely.  A suppressed total
        needs a suppressed part.  Any LP over more relations only narrows further.
        """
        k, v = self.table.k, self.table.values
        numerators: dict[int, list[int]] = {}
        for num, den in self.table.pairs:
            numerators.setdefault(den, []).append(num)
        rows: list[tuple[dict[int, float], float]] = []
        for total, parts in self.table.relations:
            rows.append(({**dict.fromkeys(parts, 1.0), total: -1.0}, 0.0))
            for i in parts:
                row = {p: min(v[i] + v[p], k) / k for p in parts if p != i}
                row[total] = 1.0
                row[i] = -1.0
                rows.append((row, 0.0))
                # A numerator never exceeds its denominator, which rises only as far as
                # the relation lets it: a denominator below k needs partners worth the rest
                # before its numerator (or their difference) can range k.
                need = k - v[i]
                for num in numerators.get(i, []) if need > 0 else []:
                    row = {p: min(v[p], need) / need for p in parts if p != i}
                    row[total] = 1.0
                    row[num] = -1.0
                    rows.append((row, 0.0))
        self.add(rows)

    def solve(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        max_nodes: int,
        start: np.ndarray | None = None,
    ) -> tuple[np.ndarray | None, float, bool]:
        """Solve over the patterns between ``lower`` and ``upper``.

        Returns the pattern found (None: no pattern meets the cuts), a lower bound on the
        cost of every pattern in range meeting them, and whether the pattern is optimal.
        """
        self.highs.changeColsBounds(
            self.table.n,
            self.all,
            np.maximum(lower, self.fixed).astype(np.float64),
            upper.astype(np.float64),
        )
        self.highs.setOptionValue("mip_max_nodes", max_nodes)
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = list(start.astype(np.float64))
            solution.value_valid = True
            self.highs.setSolution(solution)
        self.highs.run()
        self.solves += 1
        info = self.highs.getInfo()
        self.nodes += max(int(info.mip_node_count), 0)
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return None, math.inf, True
        bound = float(info.mip_dual_bound)
        if info.primal_solution_status != 2:  # no feasible pattern found within the limit
            return None, bound, False
        pattern = np.asarray(self.highs.getSolution().col_value) > 0.5
        return pattern, bound, status == highspy.HighsModelStatus.kOptimal
