"""The attacker's LP kept loaded: published values withheld one at a time, re-solved warm.

Values that never change (constants: fixed and never to be withheld) are substituted into
the rows, so the system falls apart into its independent blocks (a group table's years,
sexes and age bands do not meet once each provider's overall value is published); each
block is one HiGHS model, re-solved from its last basis as objectives change and values
are withheld.

At the max (or min) of a target, a published value with a nonzero reduced cost is part of
the proof of that bound: withholding it can move the bound; withholding only values whose
reduced cost is zero cannot (the same dual solution still proves it).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import highspy
import numpy as np
from scipy.sparse import csr_array

from ..errors import DisclosureError
from ._lp import (
    PROBE_AT_LEAST,
    SETTLED,
    LinearSystem,
    Row,
    add_rows,
    component_roots,
    target_matrix,
)
from ._witness import Ranges

__all__ = ["DUAL_TOLERANCE", "LoadedSystem"]

DUAL_TOLERANCE = 1e-7
"""A reduced cost this small is rounding noise: the value does not bind."""

MIXES = 12
"""Pairs of probing LPs at most, each over a random mix of the targets not yet shown wide."""

MIX_PAYS = 0.1
"""Probing goes on while each pair shows at least this share of those targets wide."""

FEASIBLE = 1e-6
"""How far a seed may miss a constraint (rounding) and still count as feasible."""

Range = tuple[float, float]


class LoadedSystem:
    """A linear system loaded once, whose ``switchable`` unknowns may be freed later."""

    def __init__(
        self,
        system: LinearSystem,
        switchable: Collection[int],
        targets: Sequence[Row],
        seeds: Sequence[np.ndarray] = (),
    ) -> None:
        """Load ``system`` to find the ranges of ``targets``; ``seeds`` are points found
        before, taken where still feasible."""
        inf = highspy.kHighsInf
        self.system = system
        self.switchable = frozenset(switchable)
        self.constant = {
            v: system.lower.get(v, 0.0)
            for v in range(system.n)
            if v not in self.switchable and system.lower.get(v, 0.0) == system.upper.get(v)
        }
        self.root = component_roots(system, self.constant)
        blocks: dict[int, list[int]] = {}
        for var in range(system.n):
            if var not in self.constant:
                blocks.setdefault(self.root[var], []).append(var)
        self.index: dict[int, int] = {}
        for variables in blocks.values():
            self.index.update((v, i) for i, v in enumerate(variables))
        self.variables = blocks
        rows: dict[int, list[tuple[Row, float, float]]] = {root: [] for root in blocks}
        for row, low, high in _rows(system, inf):
            free = {v: c for v, c in row.items() if v not in self.constant}
            shift = sum(c * self.constant[v] for v, c in row.items() if v in self.constant)
            if not free:
                if low - shift > 1e-6 or shift - high > 1e-6:
                    raise DisclosureError("the published values contradict each other")
                continue
            rows[self.root[next(iter(free))]].append((free, low - shift, high - shift))
        self.models = {root: self._model(blocks[root], rows[root]) for root in blocks}
        self.fixed = {v for v in self.switchable if system.lower.get(v, 0.0) == system.upper.get(v)}
        # Per block, where its published (fixed, switchable) unknowns sit in its model.
        self.fixed_at = {
            root: np.array([i for i, v in enumerate(vs) if v in self.fixed], dtype=np.int64)
            for root, vs in blocks.items()
        }
        self.solved = 0
        self.costed: dict[int, list[int]] = {}
        self.matrix: csr_array | None = None
        self.current = np.zeros(system.n)
        for var, value in self.constant.items():
            self.current[var] = value
        self.targets = targets
        self.ranges = Ranges(targets, system.n)
        self.started = False
        for variables in blocks.values():
            # The least point of each block: together a feasible start, the first witness.
            self.extreme(dict.fromkeys(variables, 1.0), maximize=False)
        self.started = True
        self.ranges.add(self.current)
        for seed in seeds:
            if self._feasible(seed):
                self.ranges.add(np.asarray(seed, dtype=np.float64))

    def _model(self, variables: list[int], rows: list[tuple[Row, float, float]]) -> highspy.Highs:
        inf = highspy.kHighsInf
        model = highspy.Highs()
        model.setOptionValue("output_flag", False)
        # Only objectives and bounds change: primal simplex restarts from the last basis.
        model.setOptionValue("presolve", "off")
        model.setOptionValue("simplex_strategy", 4)
        lower = [self.system.lower.get(v, 0.0) for v in variables]
        upper = [min(self.system.upper.get(v, inf), inf) for v in variables]
        model.addVars(len(variables), np.array(lower), np.array(upper))
        add_rows(model, rows, self.index)
        return model

    def release(self, var: int, lower: float = 0.0, upper: float = math.inf) -> None:
        """Free a switchable unknown: from now on it may take any value in its bounds."""
        if var not in self.switchable:
            raise DisclosureError(f"unknown {var} cannot be freed")
        model = self.models[self.root[var]]
        at = np.array([self.index[var]], dtype=np.int32)
        model.changeColsBounds(1, at, np.array([lower]), np.array([min(upper, highspy.kHighsInf)]))
        self.fixed.discard(var)
        root = self.root[var]
        self.fixed_at[root] = self.fixed_at[root][self.fixed_at[root] != self.index[var]]

    def probe(self, targets: Sequence[int], min_width: float) -> None:
        """Push a random positive mix of each block's targets not yet shown wide up, then
        down, while that pays: each pair of LPs often shows many of them wide at once."""
        mix = np.random.default_rng(0)  # the same mixes every run: the same pattern
        before = math.inf
        for _ in range(MIXES):
            narrow: dict[int, list[int]] = {}
            for t in targets:
                low, high = self.ranges.known(t)
                free = [v for v in self.targets[t] if v not in self.constant]
                if free and high - low < min_width:
                    narrow.setdefault(self.root[free[0]], []).append(t)
            busy = {root: ts for root, ts in narrow.items() if len(ts) >= PROBE_AT_LEAST}
            left = sum(len(ts) for ts in busy.values())
            if not busy or left > before * (1 - MIX_PAYS):
                return
            before = left
            for group in busy.values():
                combined: dict[int, float] = {}
                for t, weight in zip(group, mix.uniform(0.5, 1.5, len(group)), strict=True):
                    for var, coef in self.targets[t].items():
                        combined[var] = combined.get(var, 0.0) + weight * coef
                self.extreme(combined, maximize=True)
                self.extreme(combined, maximize=False)

    def interval(
        self, t: int, min_width: float, safe: Range | None = None
    ) -> tuple[Range, set[int]]:
        """Return target ``t``'s range, exact when narrower than ``min_width``, and the
        published values that bind it then.

        With ``safe = (zero, big)``, a max at most ``zero`` or a min at least ``big`` ends
        the search: the range is narrow but shows the value is 0, or at least ``big``.  The
        side the known points point to is solved first.
        """
        low, high = self.ranges.known(t)
        if high - low >= min_width:
            return (low, high), set()
        # Where every point found is at least ``big``, the min alone may settle it.
        first = safe is None or low < safe[1]
        binding: set[int] = set()
        for maximize in (first, not first):
            value, bound = self.extreme(self.targets[t], maximize=maximize)
            self.ranges.reach(t, value, maximize=maximize)
            binding |= bound
            low, high = self.ranges.known(t)
            if high - low >= min_width:
                return (low, high), set()
            if safe is not None and (high <= safe[0] if maximize else low >= safe[1]):
                return (low, high), set()
        return (low, high), binding

    def extreme(self, target: Row, maximize: bool) -> tuple[float, set[int]]:
        """Return the target's max (or min) and the switchable unknowns fixed now that bind it.

        A target over several blocks reaches its extreme where each block's part does.
        """
        total = sum(c * self.constant[v] for v, c in target.items() if v in self.constant)
        parts: dict[int, dict[int, float]] = {}
        for var, coef in target.items():
            if var not in self.constant:
                parts.setdefault(self.root[var], {})[var] = coef
        binding: set[int] = set()
        for root, part in sorted(parts.items()):
            value, bound = self._solve(root, part, maximize)
            total += value
            binding |= bound
        if parts and self.started:  # before, the other blocks of ``current`` are not feasible
            self.ranges.add(self.current)
        return total, binding

    def _solve(self, root: int, part: Row, maximize: bool) -> tuple[float, set[int]]:
        model, variables = self.models[root], self.variables[root]
        cost = dict.fromkeys(self.costed.get(root, []), 0.0)  # the last objective's, cleared
        cost.update((self.index[v], c) for v, c in part.items())
        at = np.array(list(cost), dtype=np.int32)
        model.changeColsCost(len(at), at, np.array(list(cost.values())))
        self.costed[root] = [self.index[v] for v in part]
        sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        model.changeObjectiveSense(sense)
        status = self._run(model)
        if status != highspy.HighsModelStatus.kOptimal:
            if status in SETTLED:  # unbounded: no value proves this side
                return (math.inf if maximize else -math.inf), set()
            raise DisclosureError(
                f"the audit LP could not be solved: {model.modelStatusToString(status)}"
            )
        solution = model.getSolution()
        self.current[variables] = np.asarray(solution.col_value)
        duals = np.abs(np.asarray(solution.col_dual))
        at = self.fixed_at[root]
        binding = {variables[i] for i in at[duals[at] > DUAL_TOLERANCE]}
        return float(model.getInfo().objective_function_value), binding

    def _feasible(self, point: np.ndarray) -> bool:
        """Return whether a point meets every constraint and bound (within rounding)."""
        if len(point) != self.system.n:
            return False
        if self.matrix is None:
            rows = _rows(self.system, math.inf)
            self.matrix = target_matrix([row for row, _, _ in rows], self.system.n)
            self.row_low = np.array([low for _, low, _ in rows])
            self.row_high = np.array([high for _, _, high in rows])
            lower, upper = np.zeros(self.system.n), np.full(self.system.n, math.inf)
            for var, value in self.system.lower.items():
                lower[var] = value
            for var, value in self.system.upper.items():
                upper[var] = value
            self.bounds = (lower, upper)
        at = self.matrix @ point
        lower, upper = self.bounds
        return bool(
            np.all(at >= self.row_low - FEASIBLE)
            and np.all(at <= self.row_high + FEASIBLE)
            and np.all(point >= lower - FEASIBLE)
            and np.all(point <= upper + FEASIBLE)
        )

    def witnesses(self) -> list[np.ndarray]:
        """Return the points that hold some target's known min or max: feasible in every
        looser system (values only ever freed), they seed the next audit."""
        return self.ranges.points()

    def _run(self, model: highspy.Highs) -> highspy.HighsModelStatus:
        """Solve from the last basis; once more from scratch if that ends in trouble."""
        model.run()
        self.solved += 1
        status = model.getModelStatus()
        if status in SETTLED:
            return status
        model.clearSolver()
        model.setOptionValue("presolve", "on")
        model.setOptionValue("simplex_strategy", 1)
        try:
            model.run()
            self.solved += 1
            return model.getModelStatus()
        finally:
            model.setOptionValue("presolve", "off")
            model.setOptionValue("simplex_strategy", 4)


def _rows(system: LinearSystem, inf: float) -> list[tuple[Row, float, float]]:
    rows = [(row, b, b) for row, b in zip(system.eq, system.eq_rhs, strict=True)]
    return rows + [(row, -inf, b) for row, b in zip(system.le, system.le_rhs, strict=True)]
