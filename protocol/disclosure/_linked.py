"""Disclosure control across node cubes and exact group totals.

Exact group totals beside the nodes' published cubes open new leaks: a total
minus the other members' published cells gives back one node's suppressed
cell (the n-1 attack), and overlapping groups (a network and a zorgkantoor
region sharing members) can be differenced to isolate one node.  This module
withholds group totals, never node values, until the attacker LP over the
whole linked table leaves every suppressed node count an interval at least k
wide.  It needs no true node values: only feasibility matters.

1. Primary: a group total in 1..k-1 (or its complement, or under a small
   denominator) is withheld, and must stay underivable too.
2. Fast: a total hiding exactly one node value, or leaving less than k to
   share among its hidden values, is withheld.
3. Quick rounds, no LP: totals of one cell whose row space pins a hidden value
   (n-1, differencing) and bounds propagation showing an interval below k;
   the cheapest total near each such value is withheld (small groups, fine
   cells, small values first, so national totals survive where they can).
4. Proof: one pass of the LP over every target; while one is narrower than
   k, withhold the cheapest total binding its bound (nonzero dual).  Random
   objectives over each node's unknowns first spread most values apart; a
   node none of whose values is in a published total is tied to nothing but
   its own cube and needs no proof here.
Sums follow their count.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import null_space

from ..errors import AuditFailed
from ._bounds import PublishedCube, propagate_bounds
from ._cube import Key
from ._linked_lp import LinkedLP
from ._linked_table import GroupId, LinkedTable, Target
from ._lp import component_roots, target_matrix
from ._protect import SECONDARY, SUM_FOLLOWS_COUNT

__all__ = ["LinkedResult", "protect_linked"]

TOLERANCE = 1e-6

PINNED = 1e-9
"""A value whose direction the cell's null space does not reach is determined."""

PROBES = 1
"""Pairs of opposite random objectives before the proof (more measured no fewer LPs)."""

NODE_PROBES = 3
"""Pairs of random objectives per node whose values a published total reaches."""

PROVE_LPS = 3000
"""LPs the proof may spend; past it every total still published is withheld (always safe)."""

BUDGET = "audit budget spent"
ISOLATES = "isolates a node value"
CAPS_BELOW_K = "caps node values below k"


@dataclass(frozen=True)
class LinkedResult:
    """Group totals safe to publish beside the node cubes, and what it took."""

    totals: dict[GroupId, dict[Key, dict[str, int | None]]]
    """Per group, cell and measure: the exact total, or None where withheld."""
    withheld: dict[str, int]
    """Withheld total values by reason (for logs)."""
    lps: int
    rounds: int
    """Quick (LP-free) rounds before the proof."""


def protect_linked(
    node_cubes: Mapping[str, PublishedCube],
    groups: Mapping[GroupId, Sequence[str]],
    totals: Mapping[GroupId, Mapping[Key, Mapping[str, int]]],
    k: int,
) -> LinkedResult:
    """Withhold group totals until no suppressed node count is narrower than k."""
    table = LinkedTable(node_cubes, groups, totals, k)
    reasons: dict[int, str] = {}
    for i, row in enumerate(table.rows):
        reason = table.primary.get((row.group, row.key, row.measure))
        if reason is not None:
            reasons[i] = reason
        elif len(row.row) == 1:
            reasons[i] = ISOLATES  # the total minus the published rest is that one value
        elif row.row and row.rhs < k - TOLERANCE:
            reasons[i] = CAPS_BELOW_K  # each hidden value in it lies in [0, rest) < k
    auditor = _Auditor(table)
    rounds = 0
    while True:
        # Propagating bounds finds most narrow values without an LP.
        failures = auditor.quick([i for i in range(len(table.rows)) if i not in reasons])
        if not failures:
            break
        rounds += 1
        published = [i for i in range(len(table.rows)) if i not in reasons]
        for i in auditor.choose(failures, published):
            reasons[i] = SECONDARY
    auditor.prove(reasons)
    return _result(table, totals, reasons, auditor.lps, rounds)


class _Auditor:
    """Finds narrow targets over a set of published totals and picks the totals to withhold."""

    def __init__(self, table: LinkedTable) -> None:
        self.table = table
        self.lps = 0
        self.rows_of: dict[int, list[int]] = {}
        for i, row in enumerate(table.rows):
            for var in row.row:
                self.rows_of.setdefault(var, []).append(i)
        self.eq_near = _neighbours(table.base.eq, table.base.n)
        self.le_near = _neighbours(table.base.le, table.base.n)
        self.roots: list[int] = []
        # Targets within one cell and measure, for the row-space check.
        self.column_targets: dict[tuple[Key, str], list[Target]] = {}
        for target in table.targets:
            cells = {table.entries[v][1:] for v in target.expression}
            if len(cells) == 1:
                self.column_targets.setdefault(cells.pop(), []).append(target)

    def quick(self, published: list[int]) -> list[Target]:
        """Return the targets that propagated outer bounds already show narrower than k."""
        table = self.table
        if not table.base.n:
            return []
        system = table.system(published)
        self.roots = component_roots(system)
        low, high = propagate_bounds(system)
        out = self._pinned(published)
        for target in table.targets:
            width = 0.0
            for var, coef in target.expression.items():
                width += high[var] - low[var] if coef else 0.0
            if width < table.k - TOLERANCE:
                out.append(target)
        return out

    def _pinned(self, published: list[int]) -> list[Target]:
        """Return the targets the published totals of one cell determine outright.

        Totals of one cell and measure over overlapping groups (nation, network,
        region) are linear equations in the members' hidden values there; a
        value in their row space is pinned, whatever bounds say (the n-1 and
        differencing attacks).  Cheap: a few unknowns per cell.
        """
        columns: dict[tuple[Key, str], list[int]] = {}
        for i in published:
            row = self.table.rows[i]
            if row.row:
                columns.setdefault((row.key, row.measure), []).append(i)
        out: list[Target] = []
        for (key, name), rows in columns.items():
            variables = sorted({v for i in rows for v in self.table.rows[i].row})
            at = {v: j for j, v in enumerate(variables)}
            matrix = np.zeros((len(rows), len(variables)))
            for r, i in enumerate(rows):
                for v in self.table.rows[i].row:
                    matrix[r, at[v]] = 1.0
            free = null_space(matrix)
            for target in self.column_targets.get((key, name), []):
                vector = np.zeros(len(variables))
                for v, coef in target.expression.items():
                    if v not in at:
                        break  # a value outside these totals keeps it open
                    vector[at[v]] = coef
                else:
                    if not free.size or np.all(np.abs(vector @ free) < PINNED):
                        out.append(target)
        return out

    def prove(self, reasons: dict[int, str]) -> None:
        """Go through the targets once with the LP, withholding binding totals until each is wide.

        Withholding only loosens the system, so a target proven wide stays wide
        and every point found stays feasible: each point widens every target's
        known range, and most targets need no LP of their own.
        """
        table = self.table
        if not table.base.n or not table.targets:
            return
        lp = LinkedLP(table, reasons)
        k = table.k - TOLERANCE
        matrix = target_matrix([t.expression for t in table.targets], table.base.n)
        # A node none of whose values is in a published total is tied to nothing but its
        # own cube: the totals cannot narrow it, and its own audit proved it.
        published = [i for i in range(len(table.rows)) if i not in reasons]
        reached = {table.entries[v][0] for i in published for v in table.rows[i].row}
        points = np.column_stack([table.point, *self._probe(lp, reached)])
        values = matrix @ points
        lows, highs = values.min(axis=1), values.max(axis=1)
        untouched = [
            isinstance(target.label[0], str) and target.label[0] not in reached
            for target in table.targets
        ]
        for t, target in enumerate(table.targets):
            if untouched[t]:
                continue
            if lp.solved > PROVE_LPS and highs[t] - lows[t] < k:
                # Withholding every total leaves the node cubes alone, each proven safe by
                # its own audit: a bounded, safe end for a table too costly to prove.
                for i in range(len(table.rows)):
                    if i not in reasons:
                        reasons[i] = BUDGET
                break
            while highs[t] - lows[t] < k:
                binding: set[int] = set()
                for maximize in (True, False):
                    x, rows = lp.extreme(target.expression, maximize)
                    reached = matrix @ x
                    np.minimum(lows, reached, out=lows)
                    np.maximum(highs, reached, out=highs)
                    binding |= set(rows)
                    if highs[t] - lows[t] >= k:
                        break
                else:
                    options = [i for i in binding if i not in reasons]
                    if not options:
                        # Only the node cubes bind it, and they passed their own audit.
                        raise AuditFailed(
                            f"{target.label} is narrower than k={table.k} from the node cubes"
                            " alone: was a node cube protected with a smaller k?"
                        )
                    best = min(options, key=self._cost)
                    reasons[best] = SECONDARY
                    lp.withhold(best)
        self.lps += lp.solved

    def _probe(self, lp: LinkedLP, nodes: Collection[str]) -> list[np.ndarray]:
        """Return points from random objectives: each pair pushes unknowns both ways.

        One pair over every unknown, then pairs over one node's unknowns at a time:
        a short objective solves fast and spreads that node's values far apart.
        """
        rng = np.random.default_rng(0)
        by_node: dict[str, list[int]] = {}
        for var, (node_id, _, _) in enumerate(self.table.entries):
            by_node.setdefault(node_id, []).append(var)
        costs = [dict(enumerate(rng.choice((-1.0, 1.0), size=lp.n))) for _ in range(PROBES)]
        for _ in range(NODE_PROBES):
            for node_id in sorted(nodes):
                own = by_node.get(node_id, [])
                costs.append(dict(zip(own, rng.choice((-1.0, 1.0), size=len(own)), strict=True)))
        points = []
        for cost in costs:
            if cost:
                for maximize in (True, False):
                    points.append(lp.extreme(cost, maximize)[0])
        return points

    def choose(self, failures: list[Target], published: list[int]) -> list[int]:
        """Return totals to withhold: the cheapest constraining each failure, one per failure."""
        live = set(published)
        chosen: list[int] = []
        touched: set[int] = set()
        for failure in failures:
            variables = set(failure.expression)
            if variables & touched:
                continue  # a total withheld this round may already widen it
            for tier in self._tiers(variables):
                options = [i for i in tier if i in live and self.table.rows[i].row]
                if options:
                    best = min(options, key=self._cost)
                    chosen.append(best)
                    live.discard(best)
                    touched |= variables | set(self.table.rows[best].row)
                    break
            else:
                if chosen:
                    continue  # this round withheld what was left near it; re-audit first
                # Withholding every total left the node cubes alone, which passed their
                # own audit: a failure here means a node was protected with a smaller k.
                raise AuditFailed(
                    f"{failure.label} stays narrower than k={self.table.k} without any total:"
                    " was the node cube protected with a smaller k?"
                )
        return chosen

    def _tiers(self, variables: set[int]) -> Iterator[Iterator[int]]:
        # Nearest first: totals on the value itself, then on values sharing a
        # margin with it, then a numerator/denominator partner, then anything linked.
        yield (i for v in variables for i in self.rows_of.get(v, []))
        eq = {u for v in variables for u in self.eq_near[v]}
        yield (i for u in eq for i in self.rows_of.get(u, []))
        le = {w for u in eq | variables for w in self.le_near[u]}
        yield (
            i
            for u in le | {x for w in le for x in self.eq_near[w]}
            for i in self.rows_of.get(u, [])
        )
        roots = {self.roots[v] for v in variables}
        yield (
            i
            for i, row in enumerate(self.table.rows)
            if row.row and self.roots[next(iter(row.row))] in roots
        )

    def _cost(self, i: int) -> tuple:
        # Least useful first: small groups, finest cells, small values.
        row = self.table.rows[i]
        level = sum(v is None for v in row.key)
        return (
            len(self.table.members[row.group]),
            level,
            row.value,
            repr(row.group),
            repr(row.key),
            row.measure,
        )


def _neighbours(rows: list[Mapping[int, float]], n: int) -> list[set[int]]:
    near: list[set[int]] = [set() for _ in range(n)]
    for row in rows:
        for var in row:
            near[var] |= set(row) - {var}
    return near


def _result(
    table: LinkedTable,
    totals: Mapping[GroupId, Mapping[Key, Mapping[str, int]]],
    reasons: dict[int, str],
    lps: int,
    rounds: int,
) -> LinkedResult:
    withheld = {(table.rows[i].group, table.rows[i].key, table.rows[i].measure) for i in reasons}
    by_reason: dict[str, int] = {}
    for reason in reasons.values():
        by_reason[reason] = by_reason.get(reason, 0) + 1
    out: dict[GroupId, dict[Key, dict[str, int | None]]] = {}
    for group in table.members:
        cells = out.setdefault(group, {})
        for key, measured in totals[group].items():
            values: dict[str, int | None] = {}
            for m in table.measures:
                if m.name not in measured:
                    continue
                name = m.parent if m.kind == "sum" else m.name
                if (group, key, name) in withheld:
                    values[m.name] = None
                    if m.kind == "sum":
                        by_reason[SUM_FOLLOWS_COUNT] = by_reason.get(SUM_FOLLOWS_COUNT, 0) + 1
                else:
                    values[m.name] = int(measured[m.name])
            cells[key] = values
    return LinkedResult(out, by_reason, lps, rounds)
