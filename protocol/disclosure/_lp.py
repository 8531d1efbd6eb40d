"""Feasible intervals of linear expressions over a system of linear constraints.

This is the attacker of the disclosure audit: given everything published as
linear equalities and inequalities over the unknown (suppressed) values, each
unknown >= 0, how far can a linear expression of them range?  The system is
split into independent components first, so each LP is small.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import csr_array

from ..errors import DisclosureError

__all__ = ["Intervals", "LinearSystem", "intervals"]

Row = Mapping[int, float]

PROBES = 4
"""Combined LPs per component before one LP per still-narrow target."""

PROBE_AT_LEAST = 150
"""Probe only while at least this many targets of a component are still narrow."""


SETTLED = (
    highspy.HighsModelStatus.kOptimal,
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)


def _silence_banner() -> None:
    # HiGHS prints a banner to the process's stdout the first time a solver is made,
    # and a node's stdout carries results: make that first solver with stdout muted.
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_silence_banner()


@dataclass
class LinearSystem:
    """Unknowns 0..n-1 with ``lower <= x <= upper``, ``eq @ x == eq_rhs``, ``le @ x <= le_rhs``."""

    n: int
    eq: list[Row] = field(default_factory=list)
    eq_rhs: list[float] = field(default_factory=list)
    le: list[Row] = field(default_factory=list)
    le_rhs: list[float] = field(default_factory=list)
    lower: dict[int, float] = field(default_factory=dict)
    upper: dict[int, float] = field(default_factory=dict)

    def add_eq(self, row: Row, rhs: float) -> None:
        """Add the constraint ``row . x == rhs``."""
        self.eq.append(row)
        self.eq_rhs.append(rhs)

    def add_le(self, row: Row, rhs: float) -> None:
        """Add the constraint ``row . x <= rhs``."""
        self.le.append(row)
        self.le_rhs.append(rhs)

    def copy(self) -> LinearSystem:
        """Return a copy to add constraints to, leaving this one as it is."""
        return LinearSystem(
            self.n,
            list(self.eq),
            list(self.eq_rhs),
            list(self.le),
            list(self.le_rhs),
            dict(self.lower),
            dict(self.upper),
        )

    def bound(self, var: int, lower: float | None = None, upper: float | None = None) -> None:
        """Tighten one unknown's bounds."""
        if lower is not None:
            self.lower[var] = max(self.lower.get(var, 0.0), lower)
        if upper is not None:
            self.upper[var] = min(self.upper.get(var, math.inf), upper)


def component_roots(system: LinearSystem, constant: Collection[int] = ()) -> list[int]:
    """Return each unknown's component: rows link their unknowns, except ``constant`` ones."""
    parent = list(range(system.n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in (*system.eq, *system.le):
        variables = [v for v in row if v not in constant] if constant else list(row)
        for other in variables[1:]:
            a, b = find(variables[0]), find(other)
            if a != b:
                parent[a] = b
    return [find(x) for x in range(system.n)]


def add_rows(
    highs: highspy.Highs,
    rows: Sequence[tuple[Row, float, float]],
    index: Mapping[int, int] | None = None,
) -> None:
    """Add ``low <= row . x <= high`` rows to a model, unknowns renumbered by ``index``."""
    if not rows:
        return
    starts, indices, values = [], [], []
    for row, _, _ in rows:
        starts.append(len(indices))
        for var, coef in row.items():
            indices.append(index[var] if index is not None else var)
            values.append(coef)
    highs.addRows(
        len(rows),
        np.array([r[1] for r in rows], dtype=np.float64),
        np.array([r[2] for r in rows], dtype=np.float64),
        len(indices),
        np.array(starts, dtype=np.int32),
        np.array(indices, dtype=np.int32),
        np.array(values, dtype=np.float64),
    )


def split(system: LinearSystem) -> tuple[list[int], dict[int, list[int]], dict, dict]:
    """Return each unknown's component root, and per root its unknowns, equalities, inequalities.

    An empty equality with a right-hand side other than 0 is a contradiction.
    """
    roots = component_roots(system)
    members: dict[int, list[int]] = {}
    for var, root in enumerate(roots):
        members.setdefault(root, []).append(var)
    eq_of: dict[int, list[int]] = {}
    for i, row in enumerate(system.eq):
        if row:
            eq_of.setdefault(roots[next(iter(row))], []).append(i)
        elif abs(system.eq_rhs[i]) > 1e-6:
            raise DisclosureError("the published values contradict each other")
    le_of: dict[int, list[int]] = {}
    for i, row in enumerate(system.le):
        if row:
            le_of.setdefault(roots[next(iter(row))], []).append(i)
    return roots, members, eq_of, le_of


def target_matrix(targets: Sequence[Row], n: int) -> csr_array:
    """Return the targets (linear expressions over ``n`` unknowns) as the rows of a matrix."""
    data, cols, indptr = [], [], [0]
    for target in targets:
        cols += list(target)
        data += list(target.values())
        indptr.append(len(cols))
    return csr_array((data, cols, indptr), shape=(len(targets), n))


class Component:
    """One connected group of unknowns, loaded once into HiGHS and re-solved per objective."""

    def __init__(self, system: LinearSystem, variables: list[int], eq: list[int], le: list[int]):
        self.index = {v: i for i, v in enumerate(variables)}
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        # Only the objective changes between solves: primal simplex restarts from the last basis.
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("simplex_strategy", 4)
        inf = highspy.kHighsInf
        n = len(variables)
        self.highs.addVars(
            n,
            np.array([system.lower.get(v, 0.0) for v in variables], dtype=np.float64),
            np.array([min(system.upper.get(v, inf), inf) for v in variables], dtype=np.float64),
        )
        rows = [(system.eq[i], system.eq_rhs[i], system.eq_rhs[i]) for i in eq]
        rows += [(system.le[i], -inf, system.le_rhs[i]) for i in le]
        self.rows = rows
        self.variables = variables
        self.system = system
        add_rows(self.highs, rows, self.index)
        self.n = n
        self.solved = 0
        self._cost = np.zeros(n)

    def extreme(self, target: Row, maximize: bool) -> tuple[float, list[float] | None]:
        """Return the max (or min) of the target and the point reaching it."""
        cost = np.zeros(self.n)
        for var, coef in target.items():
            cost[self.index[var]] = coef
        self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)
        sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        self.highs.changeObjectiveSense(sense)
        status = self._run()
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return (math.inf if maximize else -math.inf), None
        if status != highspy.HighsModelStatus.kOptimal:
            raise DisclosureError(
                f"the audit LP could not be solved: {self.highs.modelStatusToString(status)}"
            )
        value = float(self.highs.getInfo().objective_function_value)
        return value, list(self.highs.getSolution().col_value)

    def _run(self) -> highspy.HighsModelStatus:
        """Solve from the last basis; on a status other than optimal or unbounded (a warm
        start can end in numerical trouble, "Unknown"), once more from scratch."""
        self.highs.run()
        self.solved += 1
        status = self.highs.getModelStatus()
        if status in SETTLED:
            return status
        self.highs.clearSolver()
        self.highs.setOptionValue("presolve", "on")
        self.highs.setOptionValue("simplex_strategy", 1)
        try:
            self.highs.run()
            self.solved += 1
            return self.highs.getModelStatus()
        finally:
            self.highs.setOptionValue("presolve", "off")
            self.highs.setOptionValue("simplex_strategy", 4)


def least_point(system: LinearSystem) -> list[float]:
    """Return a point meeting every constraint: the one with the least total.

    Raises ``DisclosureError`` when there is none (the constraints contradict each other).
    """
    if not system.n:
        return []
    everything = Component(
        system, list(range(system.n)), list(range(len(system.eq))), list(range(len(system.le)))
    )
    _, point = everything.extreme(dict.fromkeys(range(system.n), 1.0), maximize=False)
    assert point is not None  # a minimum of non-negative values is never unbounded
    return point


@dataclass
class Intervals:
    """What ``intervals`` found: per target ``(min, max)`` or None, LPs solved, new points."""

    bounds: list[tuple[float, float] | None]
    lps: int
    points: list[np.ndarray]


def intervals(
    system: LinearSystem,
    targets: Sequence[Row],
    *,
    point: Sequence[float],
    seeds: Sequence[np.ndarray] | np.ndarray = (),
    min_width: float | None = None,
    stop_at_first: bool = False,
) -> Intervals:
    """Return each target's feasible ``(min, max)`` as far as needed, and the LPs solved.

    ``point`` is a known feasible point (the true values) and ``seeds`` more
    feasible points (e.g. from an earlier audit of a looser system).  With
    ``min_width``, an interval is computed only as far as needed to show it is
    at least that wide: every LP's optimal point also widens the other
    targets' known ranges, so most targets need no LP of their own.
    Intervals narrower than ``min_width`` are always exact.  With
    ``stop_at_first``, stop at the first narrow target; later ones are None.
    """
    roots, members, eq_of, le_of = split(system)
    n_targets = len(targets)
    matrix = target_matrix(targets, system.n)
    base = np.asarray(point, dtype=np.float64)
    known = np.column_stack([base, *seeds]) if len(seeds) else base[:, None]
    values = matrix @ known
    lows = values.min(axis=1) if n_targets else np.zeros(0)
    highs = values.max(axis=1) if n_targets else np.zeros(0)
    found: list[np.ndarray] = []
    components: dict[int, Component] = {}
    out: list[tuple[float, float] | None] = [None] * n_targets

    def widen(root: int, local: list[float]) -> None:
        full = base.copy()
        for var, i in components[root].index.items():
            full[var] = local[i]
        found.append(full)
        reached = matrix @ full
        np.minimum(lows, reached, out=lows)
        np.maximum(highs, reached, out=highs)

    def component(root: int) -> Component:
        if root not in components:
            components[root] = Component(
                system, members[root], eq_of.get(root, []), le_of.get(root, [])
            )
        return components[root]

    target_roots = [roots[next(iter(t))] if t else -1 for t in targets]
    for t, target in enumerate(targets):
        if any(roots[v] != target_roots[t] for v in target):
            raise DisclosureError("an audited expression spans unconnected unknowns")
    if min_width is not None:
        # Probe first: push the sum of all still-narrow targets of a component up, then
        # down; two LPs often prove most of them wide and spare two LPs per target.
        for root in sorted(set(target_roots) - {-1}):
            for _ in range(PROBES):
                narrow = [
                    t
                    for t in range(n_targets)
                    if target_roots[t] == root and highs[t] - lows[t] < min_width
                ]
                if len(narrow) < PROBE_AT_LEAST:
                    break  # one LP per target is cheaper now
                before = len(narrow)
                combined: dict[int, float] = {}
                for t in narrow:
                    for var, coef in targets[t].items():
                        combined[var] = combined.get(var, 0.0) + coef
                for maximize in (True, False):
                    _, x = component(root).extreme(combined, maximize)
                    if x is not None:
                        widen(root, x)
                if int(np.sum(highs[narrow] - lows[narrow] < min_width)) > before // 2:
                    break  # the probes stopped paying for themselves

    for t, target in enumerate(targets):
        if not target:
            out[t] = (0.0, 0.0)
            continue
        root = target_roots[t]
        if min_width is None or highs[t] - lows[t] < min_width:
            for maximize in (True, False):
                value, x = component(root).extreme(target, maximize)
                if x is not None:
                    widen(root, x)
                if maximize:
                    highs[t] = value
                else:
                    lows[t] = value
                if min_width is not None and highs[t] - lows[t] >= min_width:
                    break
        out[t] = (float(lows[t]), float(highs[t]))
        if stop_at_first and min_width is not None and highs[t] - lows[t] < min_width:
            break
    return Intervals(out, sum(c.solved for c in components.values()), found)
