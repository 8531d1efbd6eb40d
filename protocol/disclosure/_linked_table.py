"""The linked table: published node cubes plus exact group totals, as one attacker LP.

Unknowns are the node counts the nodes suppressed.  Each node cube adds its
own additivity, numerator <= denominator and non-negativity (the attacker of
``_bounds``); each published group total adds ``sum of its members' values ==
total``.  The audit targets are every suppressed node count, the complement
where a node hid both numerator and denominator, and every group total the
primary rules withhold (a total in 1..k-1 must not be derivable either).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..errors import DisclosureError
from ._bounds import PublishedCube, attacker_system, count_targets
from ._cube import Cube, Key, MeasureDef
from ._lp import LinearSystem, least_point
from ._protect import primary_suppression

__all__ = [
    "MIN_MEMBERS",
    "GroupId",
    "LinkedTable",
    "Target",
    "TotalRow",
    "check_members",
    "common_measures",
]

Entry = tuple[Key, str]

GroupId = tuple[str, str]
"""(level, area), e.g. ("network", "N1")."""

MIN_MEMBERS = 3
"""A total over fewer nodes is as revealing as a node cube: refused outright."""


@dataclass(frozen=True)
class TotalRow:
    """One group total of one count: the node unknowns in it and what they must sum to."""

    group: GroupId
    key: Key
    measure: str
    value: int
    row: dict[int, float]
    rhs: float


@dataclass(frozen=True)
class Target:
    """An audited expression over unknowns: a node count, a complement, or a withheld total."""

    label: tuple[object, ...]
    expression: dict[int, float]


class LinkedTable:
    """The attacker's linear system over a set of node cubes and group totals."""

    def __init__(
        self,
        node_cubes: Mapping[str, PublishedCube],
        groups: Mapping[GroupId, Sequence[str]],
        totals: Mapping[GroupId, Mapping[Key, Mapping[str, int]]],
        k: int,
    ) -> None:
        if k < 1:
            raise DisclosureError(f"minimum cell size must be at least 1, not {k}")
        self.k = k
        self.cubes = node_cubes
        self.measures = common_measures(node_cubes)
        self.counts = [m for m in self.measures if m.kind == "count"]
        self.members = {g: tuple(dict.fromkeys(groups[g])) for g in totals if g in groups}
        self._check_groups(groups, totals)
        self.entries: list[tuple[str, Key, str]] = []
        self.vars_of: dict[str, dict[Entry, int]] = {}
        self.base = LinearSystem(0)
        self._add_nodes()
        self.rows: list[TotalRow] = []
        self.primary: dict[tuple[GroupId, Key, str], str] = {}
        self.targets: list[Target] = []
        for group in self.members:
            self._add_group(group, totals[group])
        self._add_node_targets()
        self.point = self._feasible_point()

    def _check_groups(self, groups: Mapping[GroupId, Sequence[str]], totals: Mapping) -> None:
        for group in totals:
            if group not in groups:
                raise DisclosureError(f"totals for {group}, which is not a group")
            check_members(group, self.members[group], self.cubes)

    def _add_nodes(self) -> None:
        names = {m.name for m in self.counts}
        for node_id in sorted(self.cubes):
            cube = self.cubes[node_id]
            for (key, name), value in _published_counts(cube, names):
                if 0 < value < self.k:
                    raise DisclosureError(
                        f"node {node_id} publishes {name}={value} at {key!r}: below k={self.k}"
                    )
            entries, system = attacker_system(cube)
            # Sums are separate unknowns never tied to counts: the linked audit leaves them out.
            keep = {i: e for i, e in enumerate(entries) if e[1] in names}
            offset = len(self.entries)
            local = {i: offset + j for j, i in enumerate(keep)}
            self.entries += [(node_id, key, name) for key, name in keep.values()]
            self.vars_of[node_id] = {keep[i]: local[i] for i in keep}
            for rows, rhs, add in (
                (system.eq, system.eq_rhs, self.base.add_eq),
                (system.le, system.le_rhs, self.base.add_le),
            ):
                for row, b in zip(rows, rhs, strict=True):
                    if all(v in local for v in row):
                        add({local[v]: c for v, c in row.items()}, b)
            for v, low in system.lower.items():
                if v in local:
                    self.base.bound(local[v], lower=low)
            for v, high in system.upper.items():
                if v in local:
                    self.base.bound(local[v], upper=high)
        self.base.n = len(self.entries)
        self.index = {e: i for i, e in enumerate(self.entries)}

    def _add_group(self, group: GroupId, cells: Mapping[Key, Mapping[str, int]]) -> None:
        members = self.members[group]
        values: dict[Key, dict[str, int]] = {}
        for key, measured in cells.items():
            missing = [m.name for m in self.counts if measured.get(m.name) is None]
            if missing:
                raise DisclosureError(f"totals of {group} at {key!r} lack {missing}")
            values[key] = {m.name: int(measured[m.name]) for m in self.counts}  # type: ignore[arg-type]
        grid = Cube(self.cubes[members[0]].dimensions, tuple(self.counts), values)
        for (key, name), reason in primary_suppression(grid, self.k).items():
            self.primary[(group, key, name)] = reason
        for key, measured in values.items():
            for name, total in measured.items():
                row: dict[int, float] = {}
                rhs = float(total)
                for node_id in members:
                    var = self.index.get((node_id, key, name))
                    if var is not None:
                        row[var] = 1.0
                    else:  # published, or 0 where the key lies beyond the node's grid
                        rhs -= (self.cubes[node_id].cells.get(key) or {}).get(name) or 0
                if not row and rhs != 0:
                    raise DisclosureError(
                        f"total {name}={total} of {group} at {key!r} contradicts the node cubes"
                    )
                self.rows.append(TotalRow(group, key, name, total, row, rhs))
                if (group, key, name) in self.primary and row:
                    self.targets.append(Target((group, key, name), row))
        for key in values:
            for m in self.counts:
                if m.parent is None or (group, key, m.name) not in self.primary:
                    continue
                if (group, key, m.parent) not in self.primary:
                    continue  # a published denominator: the complement is as wide as the count
                expression = self._group_expression(members, key, m.parent, 1.0)
                for var, coef in self._group_expression(members, key, m.name, -1.0).items():
                    expression[var] = expression.get(var, 0.0) + coef
                if expression:
                    self.targets.append(Target((group, key, f"{m.parent}-{m.name}"), expression))

    def _group_expression(
        self, members: Sequence[str], key: Key, name: str, coef: float
    ) -> dict[int, float]:
        found = (self.index.get((n, key, name)) for n in members)
        return {var: coef for var in found if var is not None}

    def _add_node_targets(self) -> None:
        for node_id in sorted(self.cubes):
            for label, expression in count_targets(self.cubes[node_id], self.vars_of[node_id]):
                self.targets.append(Target((node_id, *label), expression))

    def _feasible_point(self) -> list[float]:
        """Return a point satisfying every total, so every looser system contains it too.

        Also cap every unknown well above it: the cap keeps each LP bounded, and
        a cap only narrows the attacker's intervals, so it errs on the safe side.
        """
        system = self.system(range(len(self.rows)))
        if not system.n:
            return []
        try:
            point = least_point(system)
        except DisclosureError:
            raise DisclosureError("the group totals contradict the node cubes") from None
        largest = max(
            [*point, *(r.value for r in self.rows)]
            + [
                v
                for c in self.cubes.values()
                for row in c.cells.values()
                for v in row.values()
                if v
            ]
        )
        cap = 2.0 * (math.ceil(largest) + self.k)
        for var in range(system.n):
            self.base.bound(var, upper=cap)
        return [min(x, cap) for x in point]

    def system(self, published: Sequence[int] | range) -> LinearSystem:
        """Return the node cubes' system plus the published total rows (by index)."""
        system = self.base.copy()
        for i in published:
            if self.rows[i].row:
                system.add_eq(self.rows[i].row, self.rows[i].rhs)
        return system


def check_members(group: GroupId, members: Sequence[str], cubes: Mapping[str, object]) -> None:
    """Refuse a group of fewer than ``MIN_MEMBERS`` nodes, or with a node that published nothing."""
    distinct = list(dict.fromkeys(members))
    if len(distinct) < MIN_MEMBERS:
        raise DisclosureError(
            f"group {group} has {len(distinct)} member(s), fewer than {MIN_MEMBERS}:"
            f" a total needs {MIN_MEMBERS}"
        )
    missing = [n for n in distinct if n not in cubes]
    if missing:
        raise DisclosureError(f"group {group}: no published cube of {missing}")


def common_measures(cubes: Mapping[str, PublishedCube]) -> tuple[MeasureDef, ...]:
    """Return the measures every node cube shares; refuse cubes of different shapes."""
    shapes = {(c.dimensions, c.measures) for c in cubes.values()}
    if len(shapes) > 1:
        raise DisclosureError("the node cubes differ in dimensions or measures")
    return next(iter(shapes))[1] if shapes else ()


def _published_counts(cube: PublishedCube, names: set[str]) -> Iterator[tuple[Entry, int]]:
    for key, values in cube.cells.items():
        for name in names:
            value = values[name]
            if value is not None:
                yield (key, name), value
