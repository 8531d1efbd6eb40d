"""Disclosure control for a result cube: primary and secondary suppression, proven by audit.

1. Primary: counts in 1..k-1, numerators whose complement is in 1..k-1, and
   everything of a cell whose denominator is in 1..k-1.
2. Secondary: the cheapest pattern the LP audit lets through, near enough
   (``near_optimal_suppression``): a MILP over which counts to suppress, constrained
   by what each additive relation needs and by cuts from the audit's own LPs, then
   completed with the fewest additions until the audit passes.  Cost: one per count,
   a little more for a larger count, the grand total last.
3. Fallbacks, should the MILP not get there (it always has so far): the hypercube
   heuristic, then a greedy search that suppresses one partner per narrow interval.
Sums follow their count.  The final pattern always passes the audit, and every
limit counts work, not time: the same cube gets the same pattern on any machine.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import AuditFailed, DisclosureError
from ._audit import AuditResult, audit, complement_label, count_entries
from ._cube import Cube, Key, MeasureDef
from ._optimal import hypercube_suppression, near_optimal_suppression

__all__ = [
    "FEW_PERSONS",
    "SECONDARY",
    "SUM_FOLLOWS_COUNT",
    "ProtectedCube",
    "SuppressionReport",
    "primary_reason",
    "primary_suppression",
    "protect",
]

Entry = tuple[Key, str]

COUNT_BELOW_K = "count below k"
COMPLEMENT_BELOW_K = "complement below k"
DENOMINATOR_SUPPRESSED = "denominator suppressed"
SUM_FOLLOWS_COUNT = "sum follows count"
FEW_PERSONS = "fewer than k persons"
SECONDARY = "secondary"
EARLIER_RELEASE = "narrows an earlier release"

WITNESSES = 200
"""How many attacker-feasible points to carry from one audit to the next (greedy fallback)."""

PRUNE_LPS = 800
"""LPs the greedy fallback's pruning pass may spend giving values back."""

MILP_NODES = 500
"""Branch-and-bound nodes each MILP of the secondary suppression may explore."""

CUTS_PER_ROUND = 15
"""Audit cuts per MILP while completing a pattern: the suppressions they bring often
widen other narrow intervals too, so checking those again is cheaper than cutting all."""

THIN_ROUNDS = 1
"""MILPs spent giving values back once a pattern passes."""

MORE_ROUNDS = 3
"""MILPs over all patterns (with every cut found) after the first passing pattern, for
tables of at most ``SMALL_TABLE`` counts: there they often reach a proven optimum, in
well under a second; on larger tables they cost seconds for a few values."""

SMALL_TABLE = 200
"""Counts a table may have to get ``MORE_ROUNDS``."""

VALUE_SCALE = 20.0
"""A count of this size costs as much as suppressing one more count: both the number of
values hidden and their total stay near their optima (measured, benchmarks/information_loss)."""


@dataclass(frozen=True)
class SuppressionReport:
    """How many values were withheld and why (for logs, never published)."""

    k: int
    values: int
    primary: int
    secondary: int
    by_reason: dict[str, int]
    audit_lps: int


@dataclass(frozen=True)
class ProtectedCube:
    """A cube with its suppression pattern; suppressed values read as ``None``."""

    cube: Cube
    k: int
    suppressed: frozenset[Entry]
    report: SuppressionReport

    def value(self, key: Key, measure: str) -> int | None:
        """Return the published value of one cell's measure, ``None`` if suppressed."""
        if (key, measure) in self.suppressed:
            return None
        return self.cube.cells[key][measure]

    def rows(self) -> list[dict[str, object]]:
        """Return one dict per cell: dimension values (None = all), then measure values."""
        names = [m.name for m in self.cube.measures]
        return [
            {
                **dict(zip(self.cube.dimensions, key, strict=True)),
                **{n: self.value(key, n) for n in names},
            }
            for key in self.cube.sorted_keys()
        ]


def _small(value: int, k: int) -> bool:
    return 0 < value < k


def primary_reason(measure: MeasureDef, value: int, parent: int | None, k: int) -> str | None:
    """Return why the primary rules withhold a count, or None; ``parent`` is its denominator's
    value (None: not known, e.g. suppressed, so only the count's own size is judged)."""
    if measure.parent is not None and parent is not None:
        if _small(parent, k):
            return DENOMINATOR_SUPPRESSED
        if not _small(value, k) and _small(parent - value, k):
            return COMPLEMENT_BELOW_K
    return COUNT_BELOW_K if _small(value, k) else None


def primary_suppression(cube: Cube, k: int) -> dict[Entry, str]:
    """Return the values the primary rules suppress, each with its reason."""
    if k < 1:
        raise DisclosureError(f"minimum cell size must be at least 1, not {k}")
    out: dict[Entry, str] = {}
    for key, values in cube.cells.items():
        for m in cube.measures:
            if m.kind != "count":
                continue
            value = values[m.name]
            if value < 0:
                raise DisclosureError(f"count {m.name} is negative in cell {key}")
            parent = values[m.parent] if m.parent is not None else None
            if parent is not None and value > parent:
                raise DisclosureError(f"{m.name} exceeds {m.parent} in cell {key}")
            reason = primary_reason(m, value, parent, k)
            if reason is not None:
                out[(key, m.name)] = reason
    for key, persons in (cube.persons or {}).items():
        for name, count in persons.items():
            # k visits of fewer than k people are as small as a count of those people.
            if _small(count, k) and (key, name) not in out:
                out[(key, name)] = FEW_PERSONS
    return out


class _Protector:
    """The greedy search, kept as the last fallback: one partner per narrow interval."""

    def __init__(self, cube: Cube, k: int) -> None:
        self.cube = cube
        self.k = k
        self.counts = [m for m in cube.measures if m.kind == "count"]
        self.levels = {key: sum(v is None for v in key) for key in cube.cells}
        self.grand_total: Key = (None,) * len(cube.dimensions)
        self.order = {key: i for i, key in enumerate(cube.sorted_keys())}
        self.relations: list[list[Key]] = [[t, *parts] for t, parts in cube.relations()]
        self.relations_of: dict[Key, list[int]] = {}
        for i, members in enumerate(self.relations):
            for key in members:
                self.relations_of.setdefault(key, []).append(i)
        self.complements = {
            complement_label(m.name, m.parent): (m.name, m.parent)
            for m in self.counts
            if m.parent is not None
        }
        self.lps = 0
        self.witnesses: np.ndarray | None = None

    def cost(self, entry: Entry, protecting: int, hidden: set[Entry]) -> tuple:
        """Cheaper first: not the grand total, reaches k with the protected value, opens few."""
        value = self.cube.cells[entry[0]][entry[1]]
        enough = value + protecting >= self.k
        return (
            entry[0] == self.grand_total,  # the most useful value: last resort
            0 if enough else 1,
            self.opens(entry, hidden),
            value if enough else -value,
            self.levels[entry[0]],
            self.order[entry[0]],
            entry[1],
        )

    def opens(self, entry: Entry, hidden: set[Entry]) -> int:
        """Return how many relations hiding ``entry`` leaves needing another partner.

        A relation with nothing hidden would then hide one value (needing a partner
        of its own); one hiding exactly one value is mended.  Preferring partners
        that mend more than they open keeps the pattern in few planes of the cube
        instead of cascading through all of them.
        """
        counts = list(self.hidden_beside(entry, hidden))
        return counts.count(0) - counts.count(1)

    def hidden_beside(self, entry: Entry, hidden: set[Entry]) -> Iterable[int]:
        """Yield, per relation ``entry`` is in, how many of its values (same measure) are hidden."""
        key, name = entry
        for i in self.relations_of.get(key, []):
            yield sum((other, name) in hidden for other in self.relations[i])

    def close_relations(self, hidden: set[Entry]) -> None:
        """Suppress until no additive relation hides exactly one value."""
        changed = True
        while changed:
            changed = False
            for members in self.relations:
                for m in self.counts:
                    inside = [key for key in members if (key, m.name) in hidden]
                    if len(inside) != 1:
                        continue
                    protecting = self.cube.cells[inside[0]][m.name]
                    candidates = [(key, m.name) for key in members if key != inside[0]]
                    hidden.add(min(candidates, key=lambda e: self.cost(e, protecting, hidden)))
                    changed = True

    def candidates(self, failure: Entry) -> Iterable[Entry]:
        """Published values whose suppression can widen the failing interval."""
        key, label = failure
        names = self.complements.get(label, (label,))
        for name in names:
            for i in self.relations_of.get(key, []):
                for other in self.relations[i]:
                    yield (other, name)
            parent = self.cube.measure(name).parent
            for m in self.counts:  # the cell's numerator <-> denominator partners
                if m.parent == name or m.name == parent:
                    yield (key, m.name)

    def audit(self, hidden: set[Entry], stop_at_first: bool) -> AuditResult:
        result = audit(
            self.cube, hidden, self.k, stop_at_first=stop_at_first, witnesses=self.witnesses
        )
        self.lps += result.lps
        # Keep the newest points: the patterns to come are close to the current one.
        if result.witnesses is not None and len(result.witnesses):
            pool = result.witnesses
            if self.witnesses is not None:
                pool = np.vstack([self.witnesses, pool])
            self.witnesses = pool[-WITNESSES:]
        return result

    def prove(self, hidden: set[Entry]) -> None:
        """Suppress more until the LP audit passes: one partner per failing value per round.

        Ends: every round suppresses at least one more count, and with every count
        suppressed the audit passes.
        """
        while True:
            result = self.audit(hidden, stop_at_first=False)
            if result.passed:
                return
            touched: set[int] = set()
            for failure in result.failures:
                near = set(self.relations_of.get(failure[0], []))
                if near & touched:
                    continue  # a partner added this round may already widen it
                low, high = result.intervals[failure]
                options = [e for e in self.candidates(failure) if e not in hidden]
                if not options:
                    options = [
                        (key, m.name)
                        for key in self.cube.cells
                        for m in self.counts
                        if (key, m.name) not in hidden
                    ]
                if not options:
                    if not touched:
                        raise AuditFailed(f"cannot protect {failure}: nothing left to suppress")
                    break  # this round hid everything; the next audit decides
                chosen = min(options, key=lambda e: self.cost(e, int(high - low), hidden))
                hidden.add(chosen)
                touched |= near | set(self.relations_of.get(chosen[0], []))

    def prune(self, hidden: set[Entry], primary: set[Entry]) -> None:
        """Publish again the secondary suppressions the audit does not need, most useful first.

        At most ``PRUNE_LPS`` LPs: the grand total is the value most worth giving
        back, then the largest values; the bound keeps a cube of many tiny cells
        fast.
        """
        start = self.lps
        extra = sorted(
            hidden - primary,
            key=lambda e: (
                e[0] != self.grand_total,
                -self.cube.cells[e[0]][e[1]],
                -self.levels[e[0]],
                self.order[e[0]],
                e[1],
            ),
        )
        for entry in extra:
            if self.lps - start > PRUNE_LPS:
                return
            hidden.discard(entry)
            if self.leaves_singleton(entry, hidden):
                hidden.add(entry)
                continue
            if not self.audit(hidden, stop_at_first=True).passed:
                hidden.add(entry)

    def leaves_singleton(self, entry: Entry, hidden: set[Entry]) -> bool:
        """Return whether publishing ``entry`` leaves a relation hiding exactly one value."""
        return 1 in self.hidden_beside(entry, hidden)


def protect(cube: Cube, k: int, withhold: Collection[Entry] = ()) -> ProtectedCube:
    """Suppress as little as the proof allows so no count of 1..k-1 is published or derivable.

    ``withhold`` are counts to suppress whatever their size (the node's joint audit of its
    earlier releases asks for them); they are protected like small counts.  The cells are
    taken in one order (``Cube.sorted_keys``), whatever order the rows came in: the same
    cube always gets the same pattern.
    """
    cells = {key: cube.cells[key] for key in cube.sorted_keys()}
    cube = Cube(cube.dimensions, cube.measures, cells, cube.persons)
    reasons = primary_suppression(cube, k)
    for entry in sorted(withhold, key=_entry_order):
        if entry[0] not in cells or cube.measure(entry[1]).kind != "count":
            raise DisclosureError(f"cannot withhold {entry}: no such count in the cube")
        reasons.setdefault(entry, EARLIER_RELEASE)
    primary = set(reasons)
    hidden, lps, witnesses = _secondary(cube, k, primary) if primary else (set(), 0, None)
    final = audit(cube, hidden, k, witnesses=witnesses)
    if not final.passed:  # every search keeps only passing patterns; this is a guard
        raise AuditFailed(f"suppression pattern fails the audit at {final.failures[0]}")
    lps += final.lps
    by_reason: dict[str, int] = {}
    for reason in reasons.values():
        by_reason[reason] = by_reason.get(reason, 0) + 1
    secondary = len(hidden - primary)
    if secondary:
        by_reason[SECONDARY] = secondary
    suppressed = set(hidden)
    for m in cube.measures:
        if m.kind == "sum":
            if m.parent is None:
                raise DisclosureError(f"sum {m.name} names no count")
            followers = {(key, m.name) for key, name in hidden if name == m.parent}
            suppressed |= followers
            if followers:
                by_reason[SUM_FOLLOWS_COUNT] = by_reason.get(SUM_FOLLOWS_COUNT, 0) + len(followers)
    followers = len(suppressed) - len(hidden)
    secondary_followers = sum(
        1 for key, name in suppressed - hidden if (key, cube.measure(name).parent) not in primary
    )
    report = SuppressionReport(
        k=k,
        values=len(cube.cells) * len(cube.measures),
        primary=len(primary) + followers - secondary_followers,
        secondary=secondary + secondary_followers,
        by_reason=by_reason,
        audit_lps=lps,
    )
    return ProtectedCube(cube, k, frozenset(suppressed), report)


def _secondary(
    cube: Cube, k: int, primary: set[Entry]
) -> tuple[set[Entry], int, np.ndarray | None]:
    """Return the suppressed counts (primary ones included), the LPs spent and the
    attacker-feasible points found (to spare the final audit LPs)."""
    costs = _costs(cube, k)
    try:
        found = near_optimal_suppression(
            cube,
            k,
            primary,
            costs,
            max_nodes=MILP_NODES,
            rounds=len(costs),  # each round adds a suppression: this never binds
            cuts_per_round=CUTS_PER_ROUND,
            thin_rounds=THIN_ROUNDS,
            more_rounds=MORE_ROUNDS if len(costs) <= SMALL_TABLE else 0,
        )
    except ArithmeticError:  # an attacker LP HiGHS could not solve: fall back (below)
        found = None
    lps, witnesses = (found.lps, found.witnesses) if found is not None else (0, None)
    if found is not None and found.suppressed is not None:
        hidden = set(found.suppressed)
    else:
        boxes = hypercube_suppression(cube, k, primary, costs)
        if boxes is not None:
            hidden = set(boxes)
        else:
            protector = _Protector(cube, k)
            hidden = set(primary)
            protector.close_relations(hidden)
            protector.prove(hidden)
            protector.prune(hidden, primary)
            lps += protector.lps
            witnesses = protector.witnesses
    return _publish_a_total(cube, k, primary, hidden), lps, witnesses


def _costs(cube: Cube, k: int) -> dict[Entry, float]:
    """Return what suppressing each count costs: 1, plus its size over ``VALUE_SCALE``.

    The grand total's counts cost more than every other count together: they are the
    values most worth publishing, and a table with all of them suppressed shows nothing.
    """
    entries = count_entries(cube)
    top = (None,) * len(cube.dimensions)
    costs = {e: 1.0 + cube.cells[e[0]][e[1]] / VALUE_SCALE for e in entries}
    everything = sum(costs.values())
    for entry in entries:
        if entry[0] == top:
            costs[entry] += everything
    return costs


def _publish_a_total(cube: Cube, k: int, primary: set[Entry], hidden: set[Entry]) -> set[Entry]:
    """Publish a grand total of k or more where a pattern would hide every count.

    The MILP never hides everything while a grand total could show (it costs more than
    all else), but a fallback can; with every other count suppressed, a grand total
    of k or more leaves each count 0..total wide, which the audit confirms.
    """
    top = (None,) * len(cube.dimensions)
    everything = {(key, m.name) for key in cube.cells for m in cube.measures if m.kind == "count"}
    if hidden != everything:
        return hidden
    for m in cube.measures:
        entry = (top, m.name)
        if (
            m.kind == "count"
            and entry not in primary
            and cube.cells[top][m.name] >= k
            and audit(cube, hidden - {entry}, k, stop_at_first=True).passed
        ):
            return hidden - {entry}
    return hidden


def _entry_order(entry: Entry) -> tuple:
    return (tuple((v is None, str(v)) for v in entry[0]), entry[1])
