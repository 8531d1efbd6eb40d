"""Optimal secondary suppression for one cube: a MILP whose constraints come from the LP audit.

Each count of the cube gets a binary "suppress" variable; primary suppressions are fixed to 1.
The MILP starts with cheap structural constraints (no additive relation hides one value alone;
a small value needs partners worth k in each relation it is in) and is solved; its pattern is
audited by the attacker's LP (the same LP as ``audit``), and every target left narrower than k
gives one more constraint, a cut.  Repeat until a pattern passes: every pattern the cuts exclude
fails the audit, so a passing optimum of the MILP is an optimum of the whole problem.

The cut (derived in ``_cuts.py``) comes from the reduced costs at the attacker's max and min
of a narrow target: it names exactly the published values that bind the target, weighted by
how far suppressing each can move it.  The pieces: the table and its targets (``_table.py``),
the attacker's LP and its cuts (``_cuts.py``), the MILP over patterns (``_master.py``).

Speed.  Most targets of a reasonable pattern are shown k wide without an LP: by a feasible
point found earlier, or by a box of suppressed counts (2 values in each dimension, every corner
suppressed) that can shift its corners up and down together by at least k.  Only the others
get an LP.  Besides the MILP over every pattern, two cheaper searches give passing patterns:
completing a pattern (only adding suppressions) and thinning one (only giving values back).
Every limit counts work (MILPs, branch-and-bound nodes), not time, so the same cube gets the
same answer on any machine (a benchmark may add a time limit to ``optimal_suppression``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ._audit import count_entries
from ._cube import Cube
from ._cuts import Separator
from ._master import Master
from ._table import Entry, Table

__all__ = [
    "Optimum",
    "hypercube_suppression",
    "near_optimal_suppression",
    "optimal_suppression",
    "suppression_costs",
]

Objective = Literal["count", "value"]


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


class _Search:
    """The MILP, the audit's cuts and the best passing pattern found, for one cube."""

    def __init__(
        self, cube: Cube, k: int, fixed: Collection[Entry], costs: Mapping[Entry, float]
    ) -> None:
        self.table = Table(cube, k)
        n = self.table.n
        self.costs = np.array([float(costs[e]) for e in self.table.entries])
        self.fixed = np.zeros(n, dtype=bool)
        for entry in fixed:
            self.fixed[self.table.index[entry]] = True
        self.master = Master(self.table, self.costs, self.fixed)
        self.separator = Separator(self.table)
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
    table = Table(cube, k)
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
