"""The LP audit: can anyone narrow a suppressed count to less than k from what is published?

The attacker knows every published value, that every margin is the sum of its
parts, that a numerator never exceeds its denominator, and that counts are
non-negative.  For every suppressed count (and for the complement
denominator - numerator where both are suppressed) the audit computes the
feasible interval by linear programming; each must be at least k wide.

Sums (e.g. days of stay) are not audited as counts: they are suppressed
exactly where their count is, and reveal no count.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._cube import Cube, Key
from ._errors import DisclosureError
from ._lp import LinearSystem, intervals

__all__ = ["AuditResult", "audit", "complement_label"]

TOLERANCE = 1e-6

Entry = tuple[Key, str]


def complement_label(numerator: str, denominator: str) -> str:
    """Return the audit label of ``denominator - numerator``."""
    return f"{denominator}-{numerator}"


@dataclass(frozen=True)
class AuditResult:
    """Feasible intervals of every suppressed count and the entries narrower than k.

    An interval narrower than k is exact; a wider one may be a witnessed part of
    the feasible interval, enough to prove it at least k wide.
    """

    k: int
    intervals: dict[Entry, tuple[float, float]]
    failures: tuple[Entry, ...]
    lps: int = 0
    witnesses: tuple[dict[Entry, float], ...] = ()

    @property
    def passed(self) -> bool:
        """Return whether every audited interval is at least k wide."""
        return not self.failures


def audit(
    cube: Cube,
    suppressed: Collection[Entry],
    k: int,
    *,
    stop_at_first: bool = False,
    witnesses: Sequence[Mapping[Entry, float]] = (),
) -> AuditResult:
    """Audit a suppression pattern; with ``stop_at_first``, stop at the first failure.

    ``witnesses`` are attacker-feasible points of earlier audits (suppressed
    entry -> value); those still feasible here spare LPs.  The result carries
    the points this audit found, to pass on.
    """
    if k < 1:
        raise DisclosureError(f"minimum cell size must be at least 1, not {k}")
    counts = [m for m in cube.measures if m.kind == "count"]
    hidden = {e for e in suppressed if cube.measure(e[1]).kind == "count"}
    variables: dict[Entry, int] = {e: i for i, e in enumerate(sorted(hidden, key=_entry_sort))}
    system = LinearSystem(len(variables))
    for total, parts in cube.relations():
        for m in counts:
            row: dict[int, float] = {}
            rhs = 0.0
            for key, coef in ((total, -1.0), *((p, 1.0) for p in parts)):
                var = variables.get((key, m.name))
                if var is None:
                    rhs -= coef * cube.cells[key][m.name]
                else:
                    row[var] = row.get(var, 0.0) + coef
            system.add_eq(row, rhs)
    targets: list[dict[int, float]] = []
    labels: list[Entry] = []
    for entry, var in variables.items():
        targets.append({var: 1.0})
        labels.append(entry)
    for m in counts:
        if m.parent is None:
            continue
        for key, values in cube.cells.items():
            num = variables.get((key, m.name))
            den = variables.get((key, m.parent))
            if num is not None and den is not None:
                system.add_le({num: 1.0, den: -1.0}, 0.0)
                targets.append({den: 1.0, num: -1.0})
                labels.append((key, complement_label(m.name, m.parent)))
            elif num is not None:
                system.bound(num, upper=values[m.parent])
            elif den is not None:
                system.bound(den, lower=values[m.name])
    # A cap far above every true value keeps each LP bounded, so even an unbounded
    # direction yields a witness point; it cannot hide a narrow interval, since
    # raising any count by k raises no other count by more than k.
    cap = 2.0 * (max((v for c in cube.cells.values() for v in c.values()), default=0) + k)
    for var in variables.values():
        system.bound(var, upper=cap)
    point = np.zeros(len(variables))
    for (key, name), var in variables.items():
        point[var] = float(cube.cells[key][name])
    seeds = [s for s in (_seed(w, variables, point, cube) for w in witnesses) if s is not None]
    solved = intervals(
        system,
        targets,
        point=point,
        seeds=seeds,
        min_width=k - TOLERANCE,
        stop_at_first=stop_at_first,
    )
    found, lps = solved.bounds, solved.lps
    entries = list(variables)
    new_points = tuple(
        {entries[i]: float(p[i]) for i in range(len(entries))} for p in solved.points
    )
    result: dict[Entry, tuple[float, float]] = {}
    failures: list[Entry] = []
    for label, interval in zip(labels, found, strict=True):
        if interval is None:
            continue
        result[label] = interval
        low, high = interval
        if not math.isinf(high) and high - low < k - TOLERANCE:
            failures.append(label)
    return AuditResult(k, result, tuple(failures), lps, new_points)


def _seed(
    witness: Mapping[Entry, float], variables: Mapping[Entry, int], point: np.ndarray, cube: Cube
) -> np.ndarray | None:
    """Map an earlier feasible point to this system, or None if it is no longer feasible."""
    for entry, value in witness.items():
        if entry not in variables and abs(value - cube.cells[entry[0]][entry[1]]) > TOLERANCE:
            return None  # that value is published now, and the point disagrees with it
    seed = point.copy()
    for entry, var in variables.items():
        if entry in witness:
            seed[var] = witness[entry]
    return seed


def _entry_sort(entry: Entry) -> tuple[str, str]:
    return (repr(entry[0]), entry[1])
