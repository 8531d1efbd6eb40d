"""Group tables: protect the exact tables of overlapping groups, and the providers in them, jointly.

A round publishes, per group (nation, network, region, province), the cells factsheets show: the
overall value and every one-way breakdown (by year, by sex, by age band), summed exactly over the
group's members.  Beside them stand the providers' own headline values (each provider's overall
value, protected at the node).  The attacker holds all of it and knows that every member's
one-way breakdowns add up to its overall value, that a numerator never exceeds its denominator,
that counts are non-negative, and at which cells (``floors``: the first and last year a page
shows) the members counted at least one unit.  Unknowns are every member's value in every
shown cell.

1. Primary: a group value in 1..k-1, a numerator under a denominator in 1..k-1 or with a
   complement in 1..k-1 is withheld (the node's own primary rules, on the group's values).
2. Audit: every withheld group value, every member's value in every cell, and the complement of
   each (denominator - numerator) must stay uncertain: an interval narrower than k is allowed only
   when it shows the value is 0 or at least k, never a count of 1..k-1.  That covers a nation total
   minus the other networks (n-1), differences of overlapping groups that isolate one provider, and
   a provider's headline beside its groups.
3. While a target is too narrow, withhold one more published group value that constrains it, the
   cheapest first: a small group before a large one, a breakdown before an overall value, a small
   value before a large one (so national figures survive where they can).
Sums (e.g. days of stay) are published only where their count is.  Which values are withheld
depends on the group values and on what is published, never on a provider's own values.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DisclosureError
from ._audit import TOLERANCE
from ._cube import Cube, Key, MeasureDef
from ._loaded import LoadedSystem
from ._lp import LinearSystem, Row, intervals, least_point
from ._protect import EARLIER_RELEASE, SECONDARY, SUM_FOLLOWS_COUNT, primary_suppression
from ._shown import MIN_MEMBERS, GroupId

__all__ = ["Cell", "GroupTables", "protect_group_tables"]

WITHHELD_BEFORE = "withheld before"

Cell = tuple[GroupId, Key, str]
"""A group's value: group, shown cell, count measure."""


@dataclass(frozen=True)
class GroupTables:
    """What a round may publish of its group tables, and what it took."""

    published: dict[GroupId, dict[Key, dict[str, int | None]]]
    """Per group, shown cell and measure: the exact value, or None where withheld."""
    withheld: dict[str, int]
    """Withheld values by reason (for logs)."""
    lps: int
    rounds: int


def protect_group_tables(
    tables: Mapping[GroupId, Mapping[Key, Mapping[str, int]]],
    groups: Mapping[GroupId, Sequence[str]],
    measures: Sequence[MeasureDef],
    k: int,
    headlines: Mapping[str, Mapping[str, int | None]] | None = None,
    floors: Sequence[Key] = (),
    withhold: Collection[Cell] = (),
    known: Collection[Cell] = (),
    differences: Collection[Cell] = (),
) -> GroupTables:
    """Withhold group values until nothing published narrows a count of 1..k-1 below k.

    ``groups`` names the members each table sums; ``headlines`` each provider's published
    overall values (None: suppressed); at each of ``floors`` the members together counted
    at least one unit, as anyone can tell from the cells a page shows.  Earlier releases
    come in as ``known`` (values shown before: public whatever this round withholds),
    ``withhold`` (values withheld before: withheld again) and ``differences`` (values 1..k-1
    away from one shown before: withheld and kept k wide themselves, where withholding can).
    """
    if k < 1:
        raise DisclosureError(f"minimum cell size must be at least 1, not {k}")
    audit = _GroupAudit(tables, groups, tuple(measures), k, headlines or {}, floors)
    reasons: dict[Cell, str] = dict(audit.primary)
    audit.known = frozenset(c for c in known if c in audit.y and c not in reasons)
    for cell in sorted(withhold, key=repr):
        if cell in audit.y and cell not in audit.known:
            reasons.setdefault(cell, WITHHELD_BEFORE)
    for cell in audit.hideable(differences):
        reasons.setdefault(cell, EARLIER_RELEASE)
    rounds = 0
    # Each pass audits the pattern from scratch, in a model of its own, and withholds
    # until every target is wide; a pass that withholds nothing has proven the pattern.
    while audit.settle(reasons):
        rounds += 1
    return _result(tables, audit, reasons, audit.lps, rounds)


class _GroupAudit:
    """The attacker's system over the members' shown cells, and the targets it must keep wide."""

    def __init__(
        self,
        tables: Mapping[GroupId, Mapping[Key, Mapping[str, int]]],
        groups: Mapping[GroupId, Sequence[str]],
        measures: tuple[MeasureDef, ...],
        k: int,
        headlines: Mapping[str, Mapping[str, int | None]],
        floors: Sequence[Key],
    ) -> None:
        self.k = k
        # One order, whatever the caller's: the same tables always withhold the same values.
        self.tables = {group: tables[group] for group in sorted(tables)}
        self.measures = measures
        self.counts = [m for m in measures if m.kind == "count"]
        self.members = {g: tuple(sorted(set(groups[g]))) for g in self.tables}
        for group, members in self.members.items():
            if len(members) < MIN_MEMBERS:
                raise DisclosureError(
                    f"group {group} has {len(members)} member(s), fewer than {MIN_MEMBERS}"
                )
        self.keys = _common_keys(self.tables)
        self.top: Key = next(key for key in self.keys if all(v is None for v in key))
        self.headlines = headlines
        self.floors = floors
        self.primary = self._primary()
        nodes = sorted({n for members in self.members.values() for n in members})
        self.x: dict[tuple[str, Key, str], int] = {}
        for node in nodes:
            for key in self.keys:
                for m in self.counts:
                    self.x[(node, key, m.name)] = len(self.x)
        self.y = {
            (g, key, m.name): len(self.x) + i
            for i, (g, key, m) in enumerate(
                (g, key, m) for g in self.members for key in self.keys for m in self.counts
            )
        }
        self.n = len(self.x) + len(self.y)
        self.base = self._base(nodes)
        self.targets, self.labels = self._targets(nodes)
        self.own = list(range(len(self.targets)))
        self.of_cell: dict[Cell, list[int]] = {}
        for cell in self.y:
            for label, expression in self.targets_of(cell):
                self.of_cell.setdefault(cell, []).append(len(self.targets))
                self.targets.append(expression)
                self.labels.append(label)
        # Withholding only loosens the system: every point found stays feasible, and seeds
        # the next pass so most targets need no LP again.
        self.points: list[np.ndarray] = []
        self.lps = 0
        self.known: frozenset[Cell] = frozenset()
        """Values published before: bound in every system, never worth withholding."""

    def hideable(self, cells: Collection[Cell]) -> list[Cell]:
        """Return the cells that withholding every group value would keep k wide; the others
        are given by what stays shown anyway (the headlines, values known from before)."""
        cells = sorted((c for c in cells if c in self.y), key=repr)
        if not cells:
            return []
        system = self.system(dict.fromkeys(self.y, SECONDARY))
        found = intervals(
            system,
            [{self.y[c]: 1.0} for c in cells],
            point=least_point(system),
            min_width=self.k - TOLERANCE,
        )
        return [
            cell
            for cell, bounds in zip(cells, found.bounds, strict=True)
            if bounds is not None and bounds[1] - bounds[0] >= self.k - TOLERANCE
        ]

    def _primary(self) -> dict[Cell, str]:
        out: dict[Cell, str] = {}
        for group, table in self.tables.items():
            cube = Cube(("cell",), self.measures, {(key,): dict(table[key]) for key in self.keys})
            for ((key,), name), reason in primary_suppression(cube, self.k).items():
                out[(group, key, name)] = reason  # type: ignore[index]
        return out

    def _base(self, nodes: list[str]) -> LinearSystem:
        system = LinearSystem(self.n)
        for node in nodes:
            for m in self.counts:
                total = self.x[(node, self.top, m.name)]
                for i in range(len(self.top)):
                    # Every one-way breakdown of a member adds up to its overall value.
                    parts = [key for key in self.keys if key[i] is not None]
                    if parts:
                        row = {self.x[(node, key, m.name)]: 1.0 for key in parts}
                        row[total] = -1.0
                        system.add_eq(row, 0.0)
                if m.parent is not None:
                    for key in self.keys:
                        child, parent = self.x[(node, key, m.name)], self.x[(node, key, m.parent)]
                        system.add_le({child: 1.0, parent: -1.0}, 0.0)
                value = self.headlines.get(node, {}).get(m.name)
                if value is not None:
                    system.bound(total, float(value), float(value))
        for (group, key, name), var in self.y.items():
            row = {self.x[(node, key, name)]: 1.0 for node in self.members[group]}
            row[var] = -1.0
            system.add_eq(row, 0.0)
        for key in self.floors:
            for m in self.counts:
                if m.parent is None:
                    system.add_le({self.x[(node, key, m.name)]: -1.0 for node in nodes}, -1.0)
        return system

    def _targets(self, nodes: list[str]) -> tuple[list[Row], list[tuple]]:
        targets: list[Row] = []
        labels: list[tuple] = []
        for node in nodes:
            for key in self.keys:
                for m in self.counts:
                    var = self.x[(node, key, m.name)]
                    targets.append({var: 1.0})
                    labels.append((node, key, m.name))
                    if m.parent is not None:
                        targets.append({self.x[(node, key, m.parent)]: 1.0, var: -1.0})
                        labels.append((node, key, f"{m.parent}-{m.name}"))
        return targets, labels

    def system(self, reasons: Mapping[Cell, str]) -> LinearSystem:
        """Return the attacker's system with every group value not in ``reasons`` published."""
        system = self.base.copy()
        for cell, var in self.y.items():
            if cell not in reasons or cell in self.known:
                value = float(self.tables[cell[0]][cell[1]][cell[2]])
                system.bound(var, value, value)
        return system

    def targets_of(self, cell: Cell) -> list[tuple]:
        """Return a withheld group value's targets: itself, and its complement."""
        var = self.y[cell]
        out: list[tuple] = [(cell, {var: 1.0})]
        m = next(m for m in self.counts if m.name == cell[2])
        if m.parent is not None:
            parent = self.y[(cell[0], cell[1], m.parent)]
            out.append(((cell[0], cell[1], f"{m.parent}-{m.name}"), {parent: 1.0, var: -1.0}))
        return out

    def too_narrow(self, label: tuple, low: float, high: float, reasons: Mapping) -> bool:
        """Return whether a target's range gives a count of 1..k-1 away."""
        # A value withheld for its small difference to one published before must stay
        # k wide itself: knowing it narrowly gives the difference back.
        strict = reasons.get(label) == EARLIER_RELEASE
        small = high > TOLERANCE and low < self.k - TOLERANCE
        return high - low < self.k - TOLERANCE and (small or strict)

    def settle(self, reasons: dict[Cell, str]) -> int:
        """Audit the pattern of ``reasons`` and withhold until every target is wide; return
        how many values it withheld.

        Targets are taken in order.  The values that bind a narrow target's bounds (nonzero
        reduced cost at its max or min) are the ones whose withholding can widen it; the
        cheapest of them is withheld and the target goes to the back of the queue, as do
        the withheld value's own targets.  Without such a value (a degenerate optimum), the
        cheapest value near it is.  Withholding only loosens the system, so a target once
        wide stays wide: the queue empties when every target is wide.
        """
        switchable = [var for cell, var in self.y.items() if cell not in self.known]
        system = self.system(reasons)
        loaded = LoadedSystem(system, switchable, self.targets, seeds=self.points)
        cell_of = {var: cell for cell, var in self.y.items()}
        width = self.k - TOLERANCE
        queue = deque(self.own)
        queue += [t for cell in self.y if cell in reasons for t in self.of_cell[cell]]
        loaded.probe(list(queue), width)
        withheld = 0
        while queue:
            t = queue.popleft()
            strict = reasons.get(self.labels[t]) == EARLIER_RELEASE
            safe = None if strict else (TOLERANCE, self.k - TOLERANCE)
            (low, high), binding = loaded.interval(t, width, safe)
            if not self.too_narrow(self.labels[t], low, high, reasons):
                continue
            cell = self.cheapest(self.labels[t], {cell_of[v] for v in binding}, reasons)
            if cell is None:
                raise DisclosureError(
                    f"{self.labels[t]} stays narrower than k={self.k} with every group value"
                    " withheld: a provider's own publication was not protected with k"
                )
            reasons[cell] = SECONDARY
            loaded.release(self.y[cell])
            withheld += 1
            # Back of the queue: what the targets after it withhold may widen it already.
            queue += [t, *self.of_cell[cell]]
        self.points = loaded.witnesses()
        self.lps += loaded.solved
        return withheld

    def cheapest(self, label: tuple, near: set[Cell], reasons: Mapping[Cell, str]) -> Cell | None:
        """Return the cheapest published value to withhold for a narrow target: of the
        values binding it if any, else of the values nearest to it."""
        for tier in (near, *self._tiers(label)):
            options = [c for c in tier if c not in reasons and c not in self.known]
            if options:
                return min(options, key=self._cost)
        return None

    def _tiers(self, label: tuple) -> list[set[Cell]]:
        """Return the group values near a target, nearest first, each tier within the next:
        its cell and measure in any group, its cell, then its one-way table and overall value
        in the groups it shares a member with."""
        who, key = label[0], label[1]
        nodes = set(self.members[who]) if who in self.members else {who}
        over = [cell for cell in self.y if nodes & set(self.members[cell[0]])]
        dims = [i for i, v in enumerate(key) if v is not None]
        table = {
            cell
            for cell in over
            if not dims
            or all(v is None for v in cell[1])
            or any(cell[1][i] is not None for i in dims)
        }
        # A cell of a group without the target's members still narrows it by difference
        # (the nation minus the other regions): the same cell is looked for in every group.
        same = {cell for cell in self.y if cell[1] == key}
        name = label[2] if label[2] in {m.name for m in self.counts} else None
        own = {cell for cell in same if cell[2] == name} if name else same
        return [own, same, table | same]

    def _cost(self, cell: Cell) -> tuple:
        # Least useful first: small groups, breakdowns before overall values, small values.
        group, key, name = cell
        return (
            len(self.members[group]),
            all(v is None for v in key),
            self.tables[group][key][name],
            repr(group),
            repr(key),
            name,
        )


def _common_keys(tables: Mapping[GroupId, Mapping[Key, Mapping[str, int]]]) -> list[Key]:
    keys: list[Key] | None = None
    for group, table in tables.items():
        own = list(table)
        if keys is None:
            keys = own
        elif set(own) != set(keys):
            raise DisclosureError(f"group {group} shows other cells than the other groups")
    if not keys or not any(all(v is None for v in key) for key in keys):
        raise DisclosureError("group tables need the overall value")
    return keys


def _result(
    tables: Mapping[GroupId, Mapping[Key, Mapping[str, int]]],
    audit: _GroupAudit,
    reasons: Mapping[Cell, str],
    lps: int,
    rounds: int,
) -> GroupTables:
    by_reason: dict[str, int] = {}
    for reason in reasons.values():
        by_reason[reason] = by_reason.get(reason, 0) + 1
    out: dict[GroupId, dict[Key, dict[str, int | None]]] = {}
    for group, table in tables.items():
        cells = out.setdefault(group, {})
        for key in audit.keys:
            values: dict[str, int | None] = {}
            for m in audit.measures:
                count = m.parent if m.kind == "sum" else m.name
                hidden = (group, key, count) in reasons
                values[m.name] = None if hidden else int(table[key][m.name])
                if hidden and m.kind == "sum":
                    by_reason[SUM_FOLLOWS_COUNT] = by_reason.get(SUM_FOLLOWS_COUNT, 0) + 1
            cells[key] = values
    return GroupTables(out, by_reason, lps, rounds)
