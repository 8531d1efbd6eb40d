"""What anyone can learn about a published cube's suppressed values: their feasible intervals.

The same attacker as the disclosure audit, run on the published cube alone
(no true values): every margin is the sum of its parts, a numerator never
exceeds its denominator, and every value is non-negative.  Sums (days of
stay) are additive and non-negative too.  The coordinator uses these bounds to
turn a merged sum over nodes that suppressed cells into an honest interval.

The bounds are the LP's exact extremes, found cheaply: propagating each
relation gives valid outer bounds, and an LP is solved only for a bound no
feasible point has reached yet (on real cubes about one LP in six).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..errors import DisclosureError
from ._audit import TOLERANCE, complement_label
from ._cube import Cube, Key, MeasureDef
from ._lp import Component, LinearSystem, Row, split

__all__ = ["Bound", "PublishedCube", "attacker_system", "count_targets", "suppressed_bounds"]

Entry = tuple[Key, str]

Bound = tuple[float, float]
"""``(low, high)`` of one suppressed value; ``high`` is ``math.inf`` when nothing caps it."""


@dataclass(frozen=True)
class PublishedCube:
    """A cube as published: every cell of the grid, suppressed values as ``None``."""

    dimensions: tuple[str, ...]
    measures: tuple[MeasureDef, ...]
    cells: dict[Key, dict[str, int | None]]

    @classmethod
    def from_rows(
        cls,
        dimensions: Sequence[str],
        measures: Sequence[MeasureDef],
        rows: Iterable[Mapping[str, object]],
    ) -> PublishedCube:
        """Check published rows form a whole, consistent cube and return it."""
        dims, defs = tuple(dimensions), tuple(measures)
        names = [m.name for m in defs]
        signed = {m.name: m.signed for m in defs}
        fields = {*dims, *names}
        cells: dict[Key, dict[str, int | None]] = {}
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise DisclosureError(f"cell {i} is not an object")
            if set(row) != fields:
                missing, extra = sorted(fields - set(row)), sorted(set(row) - fields, key=str)
                raise DisclosureError(
                    f"cell {i} has fields missing {missing} and unexpected {extra}"
                )
            key = tuple(row[d] for d in dims)
            if any(
                v is not None and (isinstance(v, bool) or not isinstance(v, str | int)) for v in key
            ):
                raise DisclosureError(
                    f"cell {i}: a dimension value must be text, a whole number or null"
                )
            if key in cells:
                raise DisclosureError(f"cell {key!r} appears twice")
            values: dict[str, int | None] = {}
            for name in names:
                value = row[name]
                floor = -math.inf if signed[name] else 0
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int) or value < floor
                ):
                    kind = "a whole number" if signed[name] else "a whole number >= 0"
                    raise DisclosureError(
                        f"cell {key!r}: {name} must be {kind} or null, not {value!r}"
                    )
                values[name] = value
            cells[key] = values
        cube = cls(dims, defs, cells)
        cube._check_grid()
        cube._check_published()
        return cube

    def _check_grid(self) -> None:
        # A node publishes every combination of the values it saw, plus every margin.
        if not self.cells and self.dimensions:
            return  # an empty extract publishes no cells at all
        domains = [
            {key[i] for key in self.cells if key[i] is not None}
            for i in range(len(self.dimensions))
        ]
        grid = set(itertools.product(*([*d, None] for d in domains)))
        missing = grid - set(self.cells)
        if missing:
            raise DisclosureError(
                f"the cells do not form a whole cube: {min(missing, key=repr)!r} is missing"
            )

    def _check_published(self) -> None:
        for key, values in self.cells.items():
            for m in self.measures:
                num, den = values[m.name], values.get(m.parent or "")
                if m.kind == "count" and num is not None and den is not None and num > den:
                    raise DisclosureError(f"cell {key!r}: {m.name} exceeds {m.parent}")
        for total, parts in self.relations():
            for m in self.measures:
                column = [self.cells[k][m.name] for k in (total, *parts)]
                if None not in column and column[0] != sum(column[1:]):  # type: ignore[arg-type]
                    raise DisclosureError(f"cell {total!r}: {m.name} is not the sum of its parts")

    def _grid(self) -> Cube:
        # The cube's key structure alone: relations and ordering need no values.
        return Cube(self.dimensions, self.measures, {key: {} for key in self.cells})

    def relations(self) -> list[tuple[Key, list[Key]]]:
        """Return every additive relation of the grid (margin, parts)."""
        return list(self._grid().relations())

    def suppressed(self) -> list[Entry]:
        """Return every suppressed (key, measure) in a stable order."""
        keys = self._grid().sorted_keys()
        return [(k, m.name) for k in keys for m in self.measures if self.cells[k][m.name] is None]


def attacker_system(cube: PublishedCube) -> tuple[list[Entry], LinearSystem]:
    """Return the suppressed entries and what is published about them, as a linear system."""
    # A signed sum (of changes) is left out: nothing bounds it below, and no rule protects it.
    signed = {m.name for m in cube.measures if m.signed}
    entries = [e for e in cube.suppressed() if e[1] not in signed]
    variables = {e: i for i, e in enumerate(entries)}
    system = LinearSystem(len(variables))
    for total, parts in cube.relations():
        for m in cube.measures:
            if m.signed:
                continue
            row: dict[int, float] = {}
            rhs = 0.0
            for key, coef in ((total, -1.0), *((p, 1.0) for p in parts)):
                var = variables.get((key, m.name))
                if var is None:
                    rhs -= coef * (cube.cells[key][m.name] or 0)
                else:
                    row[var] = row.get(var, 0.0) + coef
            if row:
                system.add_eq(row, rhs)
    for m in cube.measures:
        if m.kind != "count" or m.parent is None:
            continue
        for key, values in cube.cells.items():
            num, den = variables.get((key, m.name)), variables.get((key, m.parent))
            if num is not None and den is not None:
                system.add_le({num: 1.0, den: -1.0}, 0.0)
            elif num is not None:
                system.bound(num, upper=values[m.parent])
            elif den is not None:
                system.bound(den, lower=values[m.name])
    return entries, system


def count_targets(cube: PublishedCube, var: Mapping[Entry, int]) -> Iterator[tuple[Entry, Row]]:
    """Yield what an audit keeps k wide: every hidden count, as ``var`` numbers it, and
    ``denominator - numerator`` where both are hidden (labelled ``complement_label``)."""
    measures = {m.name: m for m in cube.measures}
    for key, name in cube.suppressed():
        m = measures[name]
        if m.kind != "count" or (key, name) not in var:
            continue
        yield (key, name), {var[(key, name)]: 1.0}
        den = var.get((key, m.parent or ""))
        if den is not None:
            yield (key, complement_label(name, m.parent or "")), {den: 1.0, var[(key, name)]: -1.0}


def suppressed_bounds(cube: PublishedCube) -> dict[Entry, Bound]:
    """Return each suppressed value's feasible interval given everything published.

    The bounds are the attacker LP's exact minimum and maximum, rounded inwards
    to whole numbers; a value nothing published caps gets ``math.inf`` above, and a
    suppressed signed sum is unbounded both ways.
    """
    entries, system = attacker_system(cube)
    low, high = propagate_bounds(system)
    try:
        _solve(system, low, high)
    except DisclosureError as exc:
        raise DisclosureError(f"the published values contradict each other ({exc})") from None
    bounds: dict[Entry, Bound] = {
        entry: (
            max(0, math.ceil(lo - TOLERANCE)),
            hi if math.isinf(hi) else math.floor(hi + TOLERANCE),
        )
        for entry, lo, hi in zip(entries, low, high, strict=True)
    }
    signed = {m.name for m in cube.measures if m.signed}
    for entry in cube.suppressed():
        if entry[1] in signed:
            bounds[entry] = (-math.inf, math.inf)
    return bounds


def propagate_bounds(system: LinearSystem, rounds: int = 100) -> tuple[list[float], list[float]]:
    """Return valid outer bounds of every unknown by propagating each row over the others.

    Cheap and usually already exact on a cube; the LPs then only have to
    confirm them.  Values are whole numbers, so bounds round inwards.
    """
    low = [system.lower.get(v, 0.0) for v in range(system.n)]
    high = [system.upper.get(v, math.inf) for v in range(system.n)]
    rows = [(r, b, 1.0) for r, b in zip(system.eq, system.eq_rhs, strict=True)]
    rows += [(r, b, 1.0) for r, b in zip(system.le, system.le_rhs, strict=True)]
    # An equality is also ">=": the same row negated.
    rows += [(r, b, -1.0) for r, b in zip(system.eq, system.eq_rhs, strict=True)]
    for _ in range(rounds):
        changed = False
        for row, rhs, sign in rows:
            # sign * (row . x) <= sign * rhs; each term's least value given the bounds:
            least = {v: sign * a * (low[v] if sign * a > 0 else high[v]) for v, a in row.items()}
            infinite = sum(math.isinf(t) for t in least.values())
            finite = sum(t for t in least.values() if not math.isinf(t))
            for v, a in row.items():
                own = least[v]
                if infinite - math.isinf(own) > 0:
                    continue
                cap = sign * rhs - (finite - (0.0 if math.isinf(own) else own))
                coef = sign * a
                if coef > 0 and math.floor(cap / coef + TOLERANCE) < high[v]:
                    high[v], changed = math.floor(cap / coef + TOLERANCE), True
                elif coef < 0 and math.ceil(cap / coef - TOLERANCE) > low[v]:
                    low[v], changed = math.ceil(cap / coef - TOLERANCE), True
        if not changed:
            break
    return low, high


def _solve(system: LinearSystem, low: list[float], high: list[float]) -> None:
    """Make ``low`` and ``high`` the exact LP extremes, solving as few LPs as it can.

    A feasible point that reaches a valid outer bound proves it exact.  One LP
    minimizing the sum of a component proves most minima at once; maxima need
    one LP each unless an earlier point already reached them.  All minima
    before all maxima, so each LP warm-starts from a similar one.
    """
    _roots, members, eq_of, le_of = split(system)
    for root, variables in members.items():
        component = Component(system, variables, eq_of.get(root, []), le_of.get(root, []))
        _solve_component(component, variables, low, high)


def _solve_component(
    component: Component, variables: list[int], low: list[float], high: list[float]
) -> None:
    at_low: set[int] = set()
    at_high: set[int] = set()

    def seen(point: Sequence[float] | None) -> None:
        for v in variables if point is not None else ():
            value = point[component.index[v]]  # type: ignore[index]
            if value <= low[v] + TOLERANCE:
                at_low.add(v)
            if value >= high[v] - TOLERANCE:
                at_high.add(v)

    seen(component.extreme(dict.fromkeys(variables, 1.0), maximize=False)[1])
    for maximize, bounds, proven in ((False, low, at_low), (True, high, at_high)):
        for v in variables:
            if v not in proven:
                value, point = component.extreme({v: 1.0}, maximize)
                bounds[v] = value
                proven.add(v)
                seen(point)
