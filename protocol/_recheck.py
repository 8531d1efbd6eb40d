"""The node's LP audit run again by whoever receives a published cube, without its values.

A node publishes a cube only after its own audit found every suppressed count
(and every hidden ``denominator - numerator``) at least k wide.  The
constraints of that audit depend on the published values alone, so a
recipient can check the same claim: a cube that fails here was not protected
as it says, whatever its node ran.  The coordinator refuses such a result on
upload, before it can reach the open benchmark or an aggregation layout.
"""

from __future__ import annotations

import math

from ._audit import complement_label
from ._bounds import PublishedCube, attacker_system
from ._errors import AuditFailed, DisclosureError
from ._lp import LinearSystem, Row, _Component, intervals, split

__all__ = ["check_published"]

TOLERANCE = 1e-6


def check_published(cube: PublishedCube, k: int) -> int:
    """Raise ``AuditFailed`` unless every suppressed count keeps a feasible interval k wide.

    Returns the number of LPs solved.  Contradictory published values raise
    ``DisclosureError``.
    """
    if k < 1:
        raise DisclosureError(f"minimum cell size must be at least 1, not {k}")
    entries, system = attacker_system(cube)
    index = {entry: i for i, entry in enumerate(entries)}
    counts = {m.name for m in cube.measures if m.kind == "count"}
    # The node's audit caps every count to keep its LPs bounded; any cap above every
    # feasible bounded value gives the same verdict, and the sum of all published
    # counts plus k is one (no count is forced above the published values it adds up to).
    published = sum(
        v for values in cube.cells.values() for name, v in values.items() if name in counts and v
    )
    cap = 2.0 * (published + k)
    targets: list[Row] = []
    labels: list[tuple] = []
    for entry, var in index.items():
        if entry[1] in counts:
            system.bound(var, upper=cap)
            targets.append({var: 1.0})
            labels.append(entry)
    for m in cube.measures:
        if m.kind == "count" and m.parent is not None:
            for key in cube.cells:
                num, den = index.get((key, m.name)), index.get((key, m.parent))
                if num is not None and den is not None:
                    targets.append({den: 1.0, num: -1.0})
                    labels.append((key, complement_label(m.name, m.parent)))
    solved = intervals(system, targets, point=_feasible_point(system), min_width=k - TOLERANCE)
    for (key, name), bound in zip(labels, solved.bounds, strict=True):
        if bound is not None and bound[1] - bound[0] < k - TOLERANCE:
            low, high = bound
            raise AuditFailed(
                f"cell {key!r}: the suppressed {name} can be narrowed to"
                f" [{low:g}, {high:g}] from the published values, less than k={k} wide"
            )
    return solved.lps


def _feasible_point(system: LinearSystem) -> list[float]:
    """Return a point meeting every published constraint (the least total per component)."""
    point = [0.0] * system.n
    _roots, members, eq_of, le_of = split(system)
    for root, variables in members.items():
        component = _Component(system, variables, eq_of.get(root, []), le_of.get(root, []))
        try:
            least, local = component.extreme(dict.fromkeys(variables, 1.0), maximize=False)
        except DisclosureError:
            least, local = math.nan, None
        if local is None or not math.isfinite(least):
            raise DisclosureError("the published values contradict each other")
        for var, value in zip(variables, local, strict=True):
            point[var] = value
    return point
