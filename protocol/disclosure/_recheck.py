"""The node's audit run again by whoever receives a published cube, without its values.

A node publishes a cube only after its primary rules withheld every count of
1..k-1 (and every numerator whose complement is one) and its audit found every
suppressed count (and every hidden ``denominator - numerator``) at least k wide.
Both depend on the published values alone, so a recipient can check the same
claim: a cube that fails here was not protected as it says, whatever its node
ran.  The coordinator refuses such a result on upload, before it can reach the
open benchmark or a group's figures.
"""

from __future__ import annotations

from ..errors import AuditFailed, DisclosureError
from ._audit import TOLERANCE
from ._bounds import PublishedCube, attacker_system, count_targets
from ._lp import intervals, least_point
from ._protect import COMPLEMENT_BELOW_K, DENOMINATOR_SUPPRESSED, primary_reason

__all__ = ["check_published"]


def check_published(cube: PublishedCube, k: int) -> int:
    """Raise ``AuditFailed`` unless the primary rules hold for every published value and
    every suppressed count keeps a feasible interval k wide.

    Returns the number of LPs solved.  Contradictory published values raise
    ``DisclosureError``.
    """
    if k < 1:
        raise DisclosureError(f"minimum cell size must be at least 1, not {k}")
    _check_primary(cube, k)
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
    for (_key, name), var in index.items():
        if name in counts:
            system.bound(var, upper=cap)
    pairs = list(count_targets(cube, index))
    labels, targets = [p[0] for p in pairs], [p[1] for p in pairs]
    try:
        point = least_point(system)
    except DisclosureError:
        raise DisclosureError("the published values contradict each other") from None
    solved = intervals(system, targets, point=point, min_width=k - TOLERANCE)
    for (key, name), bound in zip(labels, solved.bounds, strict=True):
        if bound is not None and bound[1] - bound[0] < k - TOLERANCE:
            low, high = bound
            raise AuditFailed(
                f"cell {key!r}: the suppressed {name} can be narrowed to"
                f" [{low:g}, {high:g}] from the published values, less than k={k} wide"
            )
    return solved.lps


def _check_primary(cube: PublishedCube, k: int) -> None:
    """Refuse a published value the node's primary rules never let out (``primary_reason``),
    and a sum published where its count is not."""
    for key, values in cube.cells.items():
        for m in cube.measures:
            value, parent = values[m.name], values.get(m.parent or "")
            if value is None:
                continue
            if m.kind == "sum":
                if m.parent is not None and parent is None:
                    raise AuditFailed(f"cell {key!r}: {m.name} is published, its count is not")
                continue
            reason = primary_reason(m, value, parent, k)
            if reason == COMPLEMENT_BELOW_K:
                raise AuditFailed(
                    f"cell {key!r}: {m.parent} - {m.name} = {parent - value} is published,"
                    f" below k={k}"
                )
            if reason is not None:
                # A small denominator is refused at its own value, the count's measure first.
                name, small = (
                    (m.parent, parent) if reason == DENOMINATOR_SUPPRESSED else (m.name, value)
                )
                raise AuditFailed(f"cell {key!r}: {name} = {small} is published, below k={k}")
