"""Optimal secondary suppression for one cube: a MILP whose constraints come from the LP audit.

Each count of the cube gets a binary "suppress" variable; primary suppressions are fixed to 1.
The MILP starts with cheap structural constraints (no additive relation hides one value alone;
a small value needs partners worth k in each relation it is in) and is solved; its pattern is
audited by the attacker's LP (the same LP as ``audit``), and every target left narrower than k
gives one more constraint, a cut.  Repeat until a pattern passes: every pattern the cuts exclude
fails the audit, so a passing optimum of the MILP is an optimum of the whole problem.

The cut.  At the attacker's max (and min) of a target, every count j has a reduced cost r_j,
the change of the bound per unit its value moves.  Whatever is suppressed, the bound
``K + sum_j max(r_j * lower_j, r_j * upper_j)`` holds (LP duality, for the same K), and count j
ranges over ``[v_j, v_j]`` when published and ``[0, cap]`` when suppressed.  So under any
pattern s the target's width (max - min) is at most ``W_0 + sum_j a_j * s_j``, where a_j >= 0 is
how far suppressing count j can move the two bounds; the audit asks for k, so every pattern
that suppresses the target has ``sum_j a_j * s_j >= k - W_0``.  Counts with a zero reduced cost
have a_j = 0: the cut names exactly the published values that bind the target, weighted by how
far they can move it (and, with 0/1 variables, each weight can be cut down to ``k - W_0``).

Speed.  Most targets of a reasonable pattern are shown k wide without an LP: by a feasible
point found earlier, or by a box of suppressed counts (2 values in each dimension, every corner
suppressed) that can shift its corners up and down together by at least k.  Only the others
get an LP.  Besides the MILP over every pattern, two cheaper searches give passing patterns:
completing a pattern (only adding suppressions) and thinning one (only giving values back).
Every limit counts work (MILPs, branch-and-bound nodes), not time, so the same cube gets the
same answer on any machine (a benchmark may add a time limit to ``optimal_suppression``).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from ._audit import count_entries
from ._cube import Cube, Key

__all__ = [
    "Optimum",
    "hypercube_suppression",
    "near_optimal_suppression",
    "optimal_suppression",
    "suppression_costs",
]

Entry = tuple[Key, str]

Objective = Literal["count", "value"]

TOLERANCE = 1e-6
"""The audit's tolerance: an interval at least k - TOLERANCE wide passes."""

NOISE = 1e-9
"""Room below this is LP rounding noise; dropping it lowers the cut's right-hand side."""

NO_GOOD = 1e-3
"""A cut's right-hand side below this is not trusted: the pattern is cut off as a whole."""

POOL = 300
"""Attacker-feasible points kept to show targets wide without an LP."""

PROBE_AT_LEAST = 40
"""Push the sum of the targets not yet shown wide up and down first while this many remain."""


@dataclass(frozen=True)
class Optimum:
    """What the optimiser found for one cube."""

    suppressed: frozenset[Entry] | None
    """The cheapest pattern found that passes the audit (counts only), or None."""
    cost: float
    """Its cost (``math.inf`` without a pattern)."""
    bound: float
    """A lower bound on the cost of every passing pattern."""
    optimal: bool
    """Whether ``suppressed`` is proven optimal: its cost reaches the bound."""
    rounds: int
    """MILPs solved."""
    cuts: int
    """Audit cuts added."""
    lps: int
    """Attacker LPs solved."""
    nodes: int
    """Branch-and-bound nodes over all MILPs."""
    witnesses: np.ndarray | None = None
    """Attacker-feasible points found, one row each over ``count_entries(cube)``."""


def suppression_costs(cube: Cube, objective: Objective) -> dict[Entry, float]:
    """Return each count's cost: 1 per count or its value, the other objective breaking ties.

    The tie-breaker is scaled so that all of it together stays below one unit of the main
    objective (values are whole numbers).
    """
    entries = count_entries(cube)
    values = [float(cube.cells[key][name]) for key, name in entries]
    if objective == "count":
        scale = 1.0 / (sum(values) + 1.0)
        return {e: 1.0 + v * scale for e, v in zip(entries, values, strict=True)}
    if objective == "value":
        return {e: v + 1.0 / (len(entries) + 1.0) for e, v in zip(entries, values, strict=True)}
    raise ValueError(f"unknown objective {objective!r}")


class _Table:
    """The cube's counts as one vector, with its additive relations and numerator pairs."""

    def __init__(self, cube: Cube, k: int) -> None:
        self.k = k
        self.entries = count_entries(cube)
        self.n = len(self.entries)
        self.index = {e: i for i, e in enumerate(self.entries)}
        self.values = np.array([float(cube.cells[key][name]) for key, name in self.entries])
        self.counts = [m for m in cube.measures if m.kind == "count"]
        # One (total, parts) per relation and count measure: -x_total + sum(x_parts) == 0.
        # Sorted, so that the same cube in any order of cells gives the same MILP.
        self.relations: list[tuple[int, list[int]]] = sorted(
            (self.index[(total, m.name)], sorted(self.index[(p, m.name)] for p in parts))
            for total, parts in cube.relations()
            for m in self.counts
        )
        # Numerator <= denominator in every cell.
        self.pairs: list[tuple[int, int]] = [
            (self.index[(key, m.name)], self.index[(key, m.parent)])
            for key in cube.sorted_keys()
            for m in self.counts
            if m.parent is not None
        ]
        # The audit's cap on every suppressed count (see ``audit``): the same LP, the same verdicts.
        top = max((v for c in cube.cells.values() for v in c.values()), default=0)
        self.cap = 2.0 * (top + k)
        self.boxes = _Boxes(cube, self)

    def targets(self, hidden: np.ndarray) -> list[_Target]:
        """Return the audit's targets under a pattern: each hidden count and complement."""
        out = [_Target({int(i): 1.0}, (int(i),)) for i in np.flatnonzero(hidden)]
        for num, den in self.pairs:
            if hidden[num] and hidden[den]:
                out.append(_Target({den: 1.0, num: -1.0}, (num, den)))
        return out

    def bounds(self, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each count's bounds for the attacker: its value, or 0..cap where hidden."""
        v = self.values
        return np.where(hidden, 0.0, v), np.where(hidden, self.cap, v)


@dataclass(frozen=True)
class _Target:
    """A linear expression the audit keeps k wide while the counts in ``needs`` are hidden."""

    expression: dict[int, float]
    needs: tuple[int, ...]


class _Boxes:
    """Boxes of cells (two coordinates in each dimension, a total counting as one) and the
    moves they allow: every corner shifted by +-delta, signs alternating, keeps every relation.

    One move shifts one count measure, or a denominator with all its numerators together.
    A box whose move reaches k both ways shows every count it shifts k wide, and the
    difference of a shifted denominator and an unshifted numerator too.
    """

    def __init__(self, cube: Cube, table: _Table) -> None:
        k, cap = table.k, table.cap
        dims = len(cube.dimensions)
        coords = [
            [*sorted({key[i] for key in cube.cells if key[i] is not None}, key=repr), None]
            for i in range(dims)
        ]
        position = [{c: j for j, c in enumerate(values)} for values in coords]
        grid = np.full([len(c) for c in coords], -1, dtype=np.int64)
        keys = cube.sorted_keys()
        for cell, key in enumerate(keys):
            grid[tuple(position[i][key[i]] for i in range(dims))] = cell
        # A dimension with the total alone has no relation: a box keeps its one coordinate.
        pairs = [
            np.array(list(itertools.combinations(range(len(c)), 2)) or [(0, 0)]) for c in coords
        ]
        active = [i for i in range(dims) if len(coords[i]) > 1]
        # Moving to the other coordinate flips the sign, unless one of the two is the total.
        flips = [np.where(p[:, 1] == len(c) - 1, 1, -1) for p, c in zip(pairs, coords, strict=True)]
        mesh = np.meshgrid(*[np.arange(len(p)) for p in pairs], indexing="ij")
        choice = [m.ravel() for m in mesh]
        n_boxes = int(np.prod([len(p) for p in pairs]))
        corners, signs = [], []
        for mask in itertools.product((0, 1), repeat=len(active)):
            side = dict(zip(active, mask, strict=True))
            at = tuple(pairs[i][choice[i], side.get(i, 0)] for i in range(dims))
            corners.append(grid[at] if dims else np.zeros(1, dtype=np.int64))
            sign = np.ones(n_boxes, dtype=np.int64)
            for i in active:
                if side[i]:
                    sign = sign * flips[i][choice[i]]
            signs.append(sign)
        cells = np.stack(corners, axis=1)  # boxes x corners: cell numbers
        sign = np.stack(signs, axis=1)
        whole = np.all(cells >= 0, axis=1)
        cells, sign = cells[whole], sign[whole]
        names = [m.name for m in table.counts]
        of = {name: i for i, name in enumerate(names)}
        value = np.array(
            [[cube.cells[key][name] for name in names] for key in keys], dtype=np.float64
        ).reshape(len(keys), len(names))
        entry = np.array(
            [[table.index[(key, name)] for name in names] for key in keys], dtype=np.int64
        ).reshape(len(keys), len(names))
        moves: list[tuple[str, ...]] = [(m.name,) for m in table.counts]
        for m in table.counts:
            children = tuple(c.name for c in table.counts if c.parent == m.name)
            if children:
                moves.append((m.name, *children))
        members, widths, single = [], [], []
        for move in moves:
            up = np.full(cells.shape, np.inf)
            down = np.full(cells.shape, np.inf)
            for name in move:
                v = value[cells, of[name]]
                rise = cap - v
                parent = table.counts[of[name]].parent
                if parent is not None and parent not in move:
                    rise = np.minimum(rise, value[cells, of[parent]] - v)
                fall = v
                for child in table.counts:
                    if child.parent == name and child.name not in move:
                        fall = np.minimum(fall, v - value[cells, of[child.name]])
                up, down = np.minimum(up, rise), np.minimum(down, fall)
            plus = np.where(sign > 0, up, down).min(axis=1)
            minus = np.where(sign > 0, down, up).min(axis=1)
            width = plus + minus
            good = width >= k - TOLERANCE
            members.append(np.concatenate([entry[cells[good], of[name]] for name in move], axis=1))
            widths.append(width[good])
            single += [len(move) == 1] * int(good.sum())
        rows = [row for block in members for row in block]
        self.n = len(rows)
        self.single = np.array(single, dtype=bool)
        indptr = np.cumsum([0, *(len(r) for r in rows)])
        indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        self.matrix = csr_array((np.ones(len(indices)), indices, indptr), shape=(self.n, table.n))
        self.size = np.diff(indptr)
        self.members = self.matrix.T.tocsr()  # entries x boxes

    def covering(self, target: _Target) -> np.ndarray:
        """Return the boxes that would show a target k wide, in a fixed order."""
        if len(target.needs) == 1:
            return np.sort(self.members[[target.needs[0]]].indices)
        alone = [self.members[[i]].indices for i in target.needs]
        both = np.concatenate(alone)
        return np.sort(both[self.single[both]])

    def shown(self, hidden: np.ndarray, targets: Sequence[_Target]) -> np.ndarray:
        """Return, per target, whether a box of hidden counts shows it k wide."""
        if not self.n:
            return np.zeros(len(targets), dtype=bool)
        whole = (self.matrix @ hidden.astype(np.float64)) >= self.size - 0.5
        usable = whole.astype(np.float64)
        single = (whole & self.single).astype(np.float64)
        shifts = self.members @ usable
        shifts_alone = self.members @ single
        out = np.zeros(len(targets), dtype=bool)
        for t, target in enumerate(targets):
            if len(target.needs) == 1:
                out[t] = shifts[target.needs[0]] > 0
            else:
                # A box shifting only one of numerator and denominator moves their difference.
                out[t] = any(shifts_alone[i] > 0 for i in target.needs)
        return out


class _Attacker:
    """The attacker's LP under one pattern: one small model per connected group of hidden counts.

    Published counts are constants, as in the audit; their reduced costs (which the cuts
    need) follow from the row duals: ``r_j = c_j - (A^T y)_j``.
    """

    def __init__(self, table: _Table) -> None:
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
class _Cut:
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


class _Separator:
    """Finds the targets a pattern leaves narrower than k, and a cut for each."""

    def __init__(self, table: _Table) -> None:
        self.table = table
        self.attacker = _Attacker(table)
        self.pool = table.values[None, :].copy()

    def cuts(self, hidden: np.ndarray, limit: int | None = None) -> list[_Cut]:
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
        cuts: list[_Cut] = []
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
        target: _Target,
        top: tuple[float, np.ndarray],
        bottom: tuple[float, np.ndarray],
    ) -> _Cut:
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
            return _Cut({int(j): 1.0 for j in published}, 1.0, target.needs)
        coefs = {int(j): float(min(a[j], rhs)) for j in np.flatnonzero(~noise)}
        return _Cut(coefs, rhs, target.needs)


def _matrix(targets: Sequence[_Target], n: int) -> csr_array:
    data: list[float] = []
    cols: list[int] = []
    indptr = [0]
    for target in targets:
        cols += list(target.expression)
        data += list(target.expression.values())
        indptr.append(len(cols))
    return csr_array((data, cols, indptr), shape=(len(targets), n))


class _Master:
    """The MILP over the suppress variables, with the cuts found so far."""

    def __init__(self, table: _Table, costs: np.ndarray, fixed: np.ndarray) -> None:
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


class _Search:
    """The MILP, the audit's cuts and the best passing pattern found, for one cube."""

    def __init__(
        self, cube: Cube, k: int, fixed: Collection[Entry], costs: Mapping[Entry, float]
    ) -> None:
        self.table = _Table(cube, k)
        n = self.table.n
        self.costs = np.array([float(costs[e]) for e in self.table.entries])
        self.fixed = np.zeros(n, dtype=bool)
        for entry in fixed:
            self.fixed[self.table.index[entry]] = True
        self.master = _Master(self.table, self.costs, self.fixed)
        self.separator = _Separator(self.table)
        self.best: np.ndarray | None = None
        self.best_cost = math.inf
        self.bound = -math.inf
        self.cuts = 0
        self.proven = False

    def pattern(self, entries: Collection[Entry]) -> np.ndarray:
        """Return a set of entries as a 0/1 pattern."""
        hidden = np.zeros(self.table.n, dtype=bool)
        for entry in entries:
            hidden[self.table.index[entry]] = True
        return hidden

    def passes(self, hidden: np.ndarray, limit: int | None = None) -> bool:
        """Return whether the pattern passes the audit; its failures (at most ``limit``)
        become cuts."""
        cuts = self.separator.cuts(hidden, limit)
        self.master.add([cut.row() for cut in cuts])
        self.cuts += len(cuts)
        return not cuts

    def accept(self, hidden: np.ndarray) -> None:
        """Keep a passing pattern if it is the cheapest so far (ties: the first)."""
        cost = float(self.costs @ hidden)
        if cost < self.best_cost - 1e-9:
            self.best, self.best_cost = hidden.copy(), cost

    def free(self, max_nodes: int) -> tuple[np.ndarray | None, bool]:
        """Solve the MILP over every pattern; raise the lower bound."""
        everything = np.ones(self.table.n, dtype=bool)
        pattern, bound, optimal = self.master.solve(self.fixed, everything, max_nodes, self.best)
        self.bound = max(self.bound, bound)
        return pattern, optimal

    def complete(
        self, hidden: np.ndarray, rounds: int, max_nodes: int, limit: int | None
    ) -> np.ndarray | None:
        """Add suppressions to a pattern until it passes, the cheapest additions the cuts
        allow; None if ``rounds`` MILPs do not get there."""
        everything = np.ones(self.table.n, dtype=bool)
        for _ in range(rounds):
            # A few cuts a round: the suppressions they bring often widen the rest too.
            if self.passes(hidden, limit):
                return hidden
            grown, _, _ = self.master.solve(hidden | self.fixed, everything, max_nodes)
            if grown is None or np.array_equal(grown, hidden):
                return None  # only rounding noise in a cut can do this
            hidden = grown
        return hidden if self.passes(hidden, limit) else None

    def thin(
        self, hidden: np.ndarray, rounds: int, max_nodes: int, limit: int | None = None
    ) -> np.ndarray:
        """Give back values of a passing pattern while the audit lets it (the cheapest
        subset the cuts allow, checked; at most ``rounds`` MILPs)."""
        for _ in range(rounds):
            smaller, _, _ = self.master.solve(self.fixed, hidden, max_nodes, hidden)
            if smaller is None or np.array_equal(smaller, hidden):
                break
            if self.passes(smaller, limit):
                hidden = smaller
        return hidden

    def optimum(self) -> Optimum:
        """Return what the search found."""
        suppressed = None
        if self.best is not None:
            suppressed = frozenset(self.table.entries[i] for i in np.flatnonzero(self.best))
        return Optimum(
            suppressed,
            self.best_cost,
            self.bound,
            self.proven or self.best_cost <= self.bound + 1e-6,
            self.master.solves,
            self.cuts,
            self.separator.attacker.lps,
            self.master.nodes,
            self.separator.pool.copy(),
        )


def optimal_suppression(
    cube: Cube,
    k: int,
    fixed: Collection[Entry],
    costs: Mapping[Entry, float],
    *,
    start: Collection[Entry] | None = None,
    max_rounds: int = 50,
    max_nodes: int = 5_000,
    improve_every: int = 5,
    improve_rounds: int = 20,
    seconds: float | None = None,
) -> Optimum:
    """Return the cheapest pattern (over ``costs``) holding ``fixed`` that passes the LP audit.

    ``start`` is a pattern to keep if nothing cheaper is found.  At most ``max_rounds``
    MILPs over all patterns, each of at most ``max_nodes`` branch-and-bound nodes; after
    the first and every ``improve_every`` of them, the MILP's pattern is completed and
    thinned into a passing one (at most ``improve_rounds`` MILPs each).  These are limits
    of work: the answer is the same on any machine.  ``seconds`` (for benchmarks, never
    for what a node publishes) stops starting new rounds after that much wall time.
    """
    started = time.perf_counter()
    search = _Search(cube, k, fixed, costs)
    if start is not None:
        hidden = search.pattern(start)
        if np.all(hidden[search.fixed]) and search.passes(hidden):
            search.accept(hidden)
    rounds = 0
    while rounds < max_rounds:
        if seconds is not None and rounds and time.perf_counter() - started > seconds:
            break
        pattern, optimal = search.free(max_nodes)
        rounds += 1
        if pattern is None or search.best_cost <= search.bound + 1e-6:
            break
        if search.passes(pattern):
            search.accept(pattern)
            search.proven = optimal
            break
        if rounds == 1 or rounds % improve_every == 0:
            done = search.complete(pattern, improve_rounds, max_nodes, None)
            if done is not None:
                search.accept(search.thin(done, improve_rounds, max_nodes))
    return search.optimum()


def near_optimal_suppression(
    cube: Cube,
    k: int,
    fixed: Collection[Entry],
    costs: Mapping[Entry, float],
    *,
    max_nodes: int = 1_000,
    rounds: int = 30,
    cuts_per_round: int = 15,
    thin_rounds: int = 1,
    more_rounds: int = 0,
    more_while_lps: int | None = None,
) -> Optimum:
    """Return a cheap pattern holding ``fixed`` that passes the LP audit, in few LPs.

    One MILP over all patterns (with the structural cuts only), completed into a passing
    pattern (at most ``rounds`` MILPs, ``cuts_per_round`` audit cuts each), then thinned
    (at most ``thin_rounds`` MILPs).  Then up to ``more_rounds`` more MILPs over all
    patterns, now with every cut found, each completed and thinned likewise (each begun
    only while fewer than ``more_while_lps`` LPs were spent, if given): on small tables
    these often reach a proven optimum.  ``suppressed`` is None if no pattern was completed.
    """
    search = _Search(cube, k, fixed, costs)
    for round_ in range(1 + more_rounds):
        spent = search.separator.attacker.lps
        if round_ and (search.proven or (more_while_lps is not None and spent >= more_while_lps)):
            break
        pattern, optimal = search.free(max_nodes)
        if pattern is None or search.best_cost <= search.bound + 1e-6:
            break
        if round_ and search.passes(pattern, cuts_per_round):
            search.accept(pattern)
            search.proven = optimal
            break
        done = search.complete(pattern, rounds, max_nodes, cuts_per_round)
        if done is not None:
            search.accept(search.thin(done, thin_rounds, max_nodes, cuts_per_round))
    return search.optimum()


def hypercube_suppression(
    cube: Cube, k: int, fixed: Collection[Entry], costs: Mapping[Entry, float]
) -> frozenset[Entry] | None:
    """Return the classic hypercube heuristic's pattern, or None if a count has no box.

    While some suppressed count (or complement) has no box of suppressed counts that
    shifts it k both ways, suppress the cheapest such box around it.  Every pattern it
    returns passes the audit by construction (the boxes are the attacker's feasible
    points); it is fast and needs no LP, but far from optimal.
    """
    table = _Table(cube, k)
    boxes = table.boxes
    cost = np.array([float(costs[e]) for e in table.entries])
    hidden = np.zeros(table.n, dtype=bool)
    for entry in fixed:
        hidden[table.index[entry]] = True
    while True:
        targets = table.targets(hidden)
        open_ = [
            t for t, shown in zip(targets, boxes.shown(hidden, targets), strict=True) if not shown
        ]
        if not open_:
            return frozenset(table.entries[i] for i in np.flatnonzero(hidden))
        for target in open_:
            if boxes.shown(hidden, [target])[0]:
                continue  # a box added for an earlier target shifts this one too
            extra = boxes.matrix @ np.where(hidden, 0.0, cost)
            usable = boxes.covering(target)
            if not len(usable):
                return None
            best = usable[np.argmin(extra[usable])]  # ties: the first box, in a fixed order
            hidden[boxes.matrix[[best]].indices] = True
