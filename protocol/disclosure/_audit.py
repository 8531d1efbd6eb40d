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
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from ..errors import DisclosureError
from ._cube import Cube, Key
from ._lp import LinearSystem, intervals

__all__ = ["TOLERANCE", "AuditResult", "audit", "complement_label", "count_entries"]

TOLERANCE = 1e-6
"""How much narrower than k an interval may look and still pass: LP rounding, nothing more."""

MENDED = 20
"""Points on each side of a newly published value that are mixed pairwise into seeds."""

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
    witnesses: np.ndarray | None = None
    """Attacker-feasible points found, one row each over ``count_entries(cube)``."""

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
    witnesses: np.ndarray | None = None,
) -> AuditResult:
    """Audit a suppression pattern; with ``stop_at_first``, stop at the first failure.

    ``witnesses`` are attacker-feasible points of earlier audits of the same
    cube, one row each over ``count_entries(cube)``; those still feasible here
    spare LPs.  The result carries the points this audit found, to pass on.
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
    universe = count_entries(cube)
    position = {e: i for i, e in enumerate(universe)}
    truth = np.array([float(cube.cells[key][name]) for key, name in universe])
    hidden_at = np.array([position[e] for e in variables], dtype=np.int64)
    point = truth[hidden_at]
    seeds = _seeds(witnesses, truth, hidden_at)
    solved = intervals(
        system,
        targets,
        point=point,
        seeds=seeds,
        min_width=k - TOLERANCE,
        stop_at_first=stop_at_first,
    )
    found, lps = solved.bounds, solved.lps
    new_points = np.tile(truth, (len(solved.points), 1))
    if solved.points:
        new_points[:, hidden_at] = np.vstack(solved.points)
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


def count_entries(cube: Cube) -> list[Entry]:
    """Return every count entry of a cube in a fixed order (the columns of witness points)."""
    counts = [m.name for m in cube.measures if m.kind == "count"]
    return [(key, name) for key in cube.sorted_keys() for name in counts]


def _seeds(witnesses: np.ndarray | None, truth: np.ndarray, hidden_at: np.ndarray) -> np.ndarray:
    """Keep the earlier points still feasible here; mend those one published value breaks.

    A point that disagrees with the published values is dropped, unless it
    disagrees on one entry only: two such points on either side of that
    entry's true value mix into one that agrees (the feasible set is convex).
    Pruning publishes one value at a time, so this keeps most of the points.
    """
    if witnesses is None or not len(witnesses):
        return np.zeros((0, len(hidden_at)))
    published = np.ones(len(truth), dtype=bool)
    published[hidden_at] = False
    diff = witnesses[:, published] - truth[published]
    off = np.abs(diff) > TOLERANCE
    n_off = off.sum(axis=1)
    rows = [witnesses[n_off == 0][:, hidden_at]]
    single = np.flatnonzero(n_off == 1)
    if len(single):
        which = off[single].argmax(axis=1)
        by = diff[single, which]
        for column in np.unique(which):
            mine = single[which == column]
            gaps = by[which == column]
            above, below = mine[gaps > 0][:MENDED], mine[gaps < 0][:MENDED]
            up, down = gaps[gaps > 0][:MENDED], gaps[gaps < 0][:MENDED]
            if not len(above) or not len(below):
                continue
            share = (-down[None, :] / (up[:, None] - down[None, :]))[..., None]
            mixed = (
                share * witnesses[above][:, None, :] + (1 - share) * witnesses[below][None, :, :]
            )
            rows.append(mixed.reshape(-1, len(truth))[:, hidden_at])
    return np.vstack(rows)


def _entry_sort(entry: Entry) -> tuple[str, str]:
    return (repr(entry[0]), entry[1])
