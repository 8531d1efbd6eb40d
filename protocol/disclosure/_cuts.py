"""The attacker's LP over a pattern, and the cuts its reduced costs give the MILP.

At the attacker's max (and min) of a target, every count j has a reduced cost r_j, the change
of the bound per unit its value moves.  Whatever is suppressed, the bound
``K + sum_j max(r_j * lower_j, r_j * upper_j)`` holds (LP duality, for the same K), and count j
ranges over ``[v_j, v_j]`` when published and ``[0, cap]`` when suppressed.  So under any
pattern s the target's width (max - min) is at most ``W_0 + sum_j a_j * s_j``, where a_j >= 0 is
how far suppressing count j can move the two bounds; the audit asks for k, so every pattern
that suppresses the target has ``sum_j a_j * s_j >= k - W_0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from ._audit import TOLERANCE
from ._table import Table, Target

__all__ = ["Cut", "Separator"]

NOISE = 1e-9
"""Room below this is LP rounding noise; dropping it lowers the cut's right-hand side."""

NO_GOOD = 1e-3
"""A cut's right-hand side below this is not trusted: the pattern is cut off as a whole."""

POOL = 300
"""Attacker-feasible points kept to show targets wide without an LP."""

PROBE_AT_LEAST = 40
"""Push the sum of the targets not yet shown wide up and down first while this many remain."""


class Attacker:
    """The attacker's LP under one pattern: one small model per connected group of hidden counts.

    Published counts are constants, as in the audit; their reduced costs (which the cuts
    need) follow from the row duals: ``r_j = c_j - (A^T y)_j``.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        rows, cols, coefs, lower, upper = [], [], [], [], []
        for r, (total, parts) in enumerate(table.relations):
            rows += [r] * (len(parts) + 1)
            cols += [total, *parts]
            coefs += [-1.0] + [1.0] * len(parts)
            lower.append(0.0)
            upper.append(0.0)
        for num, den in table.pairs:
            r = len(lower)
            rows += [r, r]
            cols += [num, den]
            coefs += [1.0, -1.0]
            lower.append(-math.inf)
            upper.append(0.0)
        self.matrix = csr_array(
            (
                np.array(coefs, dtype=np.float64),
                (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)),
            ),
            shape=(len(lower), table.n),
        )
        self.transposed = self.matrix.T.tocsr()
        self.row_lower = np.array(lower, dtype=np.float64)
        self.row_upper = np.array(upper, dtype=np.float64)
        self.lps = 0
        self.models: dict[int, tuple[highspy.Highs, np.ndarray, np.ndarray]] = {}
        self.group = np.full(table.n, -1, dtype=np.int64)
        self.point = table.values.copy()

    def bounds(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """Take a pattern: published counts at ``lower == upper``, hidden ones between."""
        hidden = upper > lower
        self.lower, self.upper = lower, upper
        self.point = np.where(hidden, self.table.values, lower)
        self.models = {}
        self.group = np.full(self.table.n, -1, dtype=np.int64)
        columns = np.flatnonzero(hidden)
        if not len(columns):
            return
        sub = self.matrix[:, columns]
        # Two hidden counts in one row are in one group: components of sub^T sub.
        link = (abs(sub).T @ abs(sub)).tocsr()
        _, labels = connected_components(link, directed=False)
        self.group[columns] = labels
        self.sub = sub.tocsr()
        self.columns = columns
        self.shift = self.matrix @ np.where(hidden, 0.0, lower)

    def _model(self, group: int) -> tuple[highspy.Highs, np.ndarray, np.ndarray]:
        """Return (building once per pattern) the model of one group, its columns and rows."""
        if group in self.models:
            return self.models[group]
        local = np.flatnonzero(self.group[self.columns] == group)
        columns = self.columns[local]
        block = self.sub[:, local]
        rows = np.flatnonzero(np.diff(block.indptr) > 0)
        block = block[rows].tocsr()
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        # Only the objective changes between solves: warm primal simplex from the last
        # basis, as in the audit.
        highs.setOptionValue("presolve", "off")
        highs.setOptionValue("simplex_strategy", 4)
        highs.addVars(len(columns), self.lower[columns], self.upper[columns])
        inf = highspy.kHighsInf
        shift = self.shift[rows]
        highs.addRows(
            len(rows),
            np.maximum(self.row_lower[rows] - shift, -inf),
            np.minimum(self.row_upper[rows] - shift, inf),
            block.nnz,
            block.indptr[:-1].astype(np.int32),
            block.indices.astype(np.int32),
            block.data.astype(np.float64),
        )
        self.models[group] = (highs, columns, rows)
        return self.models[group]

    def extreme(
        self, target: Mapping[int, float], maximize: bool
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Return the target's max (or min), a point reaching it and every reduced cost."""
        group = int(self.group[next(iter(target))])
        highs, columns, rows = self._model(group)
        cost = np.zeros(len(columns))
        # The group's columns are sorted: a target's counts are found by bisection.
        cost[np.searchsorted(columns, list(target))] = list(target.values())
        highs.changeColsCost(len(columns), np.arange(len(columns), dtype=np.int32), cost)
        sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        highs.changeObjectiveSense(sense)
        highs.run()
        self.lps += 1
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            # A warm start can end in numerical trouble: once more from scratch.
            highs.clearSolver()
            highs.run()
            self.lps += 1
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise ArithmeticError(f"attacker LP: {highs.modelStatusToString(status)}")
        solution = highs.getSolution()
        value = float(highs.getInfo().objective_function_value)
        point = self.point.copy()
        point[columns] = solution.col_value
        duals = np.zeros(self.matrix.shape[0])
        duals[rows] = solution.row_dual
        reduced = -(self.transposed @ duals)
        for var, coef in target.items():
            reduced[var] += coef
        return value, point, reduced


@dataclass(frozen=True)
class Cut:
    """``sum(coefs[j] * s_j) >= rhs * (sum(s_i for i in needs) - len(needs) + 1)``."""

    coefs: dict[int, float]
    rhs: float
    needs: tuple[int, ...]

    def row(self) -> tuple[dict[int, float], float]:
        """Return the cut as ``row . s >= lower``, scaled to a right-hand side of 1."""
        # One scale for every cut: the MILP's feasibility tolerance means the same in each.
        row = {j: c / self.rhs for j, c in self.coefs.items()}
        for i in self.needs:
            row[i] = row.get(i, 0.0) - 1.0
        return row, 1.0 - len(self.needs)


class Separator:
    """Finds the targets a pattern leaves narrower than k, and a cut for each."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.attacker = Attacker(table)
        self.pool = table.values[None, :].copy()

    def cuts(self, hidden: np.ndarray, limit: int | None = None) -> list[Cut]:
        """Return a cut for every target narrower than k under the pattern (none: it passes).

        With ``limit``, stop after that many cuts.
        """
        table, k = self.table, self.table.k
        targets = table.targets(hidden)
        if not targets:
            return []
        lower, upper = table.bounds(hidden)
        open_ = ~table.boxes.shown(hidden, targets)
        targets = [t for t, o in zip(targets, open_, strict=True) if o]
        if not targets:
            return []
        self.attacker.bounds(lower, upper)
        # The points found under patterns that publish less stay feasible here.
        feasible = np.all(
            (self.pool >= lower - TOLERANCE) & (self.pool <= upper + TOLERANCE), axis=1
        )
        matrix = _matrix(targets, table.n)
        reached = matrix @ self.pool[feasible].T
        lows, highs = reached.min(axis=1), reached.max(axis=1)
        found: list[np.ndarray] = []

        def widen(point: np.ndarray) -> None:
            found.append(point)
            values = matrix @ point
            np.minimum(lows, values, out=lows)
            np.maximum(highs, values, out=highs)

        # Push the sum of the targets not yet shown wide up, then down: two LPs often show
        # most of them wide (as the audit does).
        for _ in range(2):
            narrow = np.flatnonzero(highs - lows < k - TOLERANCE)
            if len(narrow) < PROBE_AT_LEAST:
                break
            combined: dict[int, float] = {}
            for t in narrow:
                for var, coef in targets[t].expression.items():
                    combined[var] = combined.get(var, 0.0) + coef
            for maximize in (True, False):
                widen(self.attacker.extreme(combined, maximize)[1])
        cuts: list[Cut] = []
        for t, target in enumerate(targets):
            if highs[t] - lows[t] >= k - TOLERANCE:
                continue
            top, x_top, r_top = self.attacker.extreme(target.expression, maximize=True)
            widen(x_top)
            if highs[t] - lows[t] >= k - TOLERANCE:
                continue
            bottom, x_bottom, r_bottom = self.attacker.extreme(target.expression, maximize=False)
            widen(x_bottom)
            if top - bottom >= k - TOLERANCE:
                continue
            cuts.append(self._cut(lower, upper, target, (top, r_top), (bottom, r_bottom)))
            if limit is not None and len(cuts) >= limit:
                break
        if found:
            self.pool = np.vstack([self.pool, *found])[-POOL:]
            self.pool[0] = table.values  # the truth stays: feasible under every pattern
        return cuts

    def _cut(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        target: Target,
        top: tuple[float, np.ndarray],
        bottom: tuple[float, np.ndarray],
    ) -> Cut:
        """Return the cut ``W_0 + sum(a_j s_j) >= k`` from the duals at both extremes.

        At the max, ``max = K + sum_j max(r_j * lower_j, r_j * upper_j)`` over the LP's
        bounds; the same K bounds the max under any other bounds (weak duality).
        """
        v, cap = self.table.values, self.table.cap
        (high, r_high), (low, r_low) = top, bottom
        k_high = high - float(np.where(r_high > 0, r_high * upper, r_high * lower).sum())
        k_low = low - float(np.where(r_low > 0, r_low * lower, r_low * upper).sum())
        # The bounds with everything published, and how far suppressing each count moves them.
        w0 = (k_high + float(r_high @ v)) - (k_low + float(r_low @ v))
        raise_high = np.where(r_high > 0, r_high * (cap - v), -r_high * v)
        lower_low = np.where(r_low > 0, r_low * v, -r_low * (cap - v))
        a = np.maximum(raise_high, 0.0) + np.maximum(lower_low, 0.0)
        # A pattern the audit passes (k - TOLERANCE wide) meets every cut.
        rhs = self.table.k - TOLERANCE - w0
        # Dropping room a_j from the left side is safe only if the right side drops as much.
        noise = a < NOISE
        rhs -= float(a[noise].sum())
        if rhs < NO_GOOD:
            # Rounding made the duals say nothing (the target is narrow, yet its bound
            # claims k): cut off this pattern and all it contains instead, which is valid
            # since publishing more only narrows.
            published = np.flatnonzero(upper <= lower)
            return Cut({int(j): 1.0 for j in published}, 1.0, target.needs)
        coefs = {int(j): float(min(a[j], rhs)) for j in np.flatnonzero(~noise)}
        return Cut(coefs, rhs, target.needs)


def _matrix(targets: Sequence[Target], n: int) -> csr_array:
    data: list[float] = []
    cols: list[int] = []
    indptr = [0]
    for target in targets:
        cols += list(target.expression)
        data += list(target.expression.values())
        indptr.append(len(cols))
    return csr_array((data, cols, indptr), shape=(len(targets), n))
