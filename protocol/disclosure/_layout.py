"""Which cells a group may sum: chosen before aggregation, from the published cubes alone.

Secure aggregation shows the coordinator every total it sums, including those
the linked-table audit later withholds from publication.  So the cells are
chosen first, without any exact value, such that no suppressed node value is a
linear function of what the coordinator then holds: the node cubes' published
values and the group totals.  Per measure, the unknowns are the suppressed
values of every node; a value is determined by equalities exactly when its
unit vector lies in their row space, i.e. when every null-space vector is zero
there.  The null space starts as the nodes' own (each node's audit left every
suppressed value free in its cube) and shrinks by one column per independent
total added.  A total that would zero a row of the null space is left out;
a total the others already imply costs nothing and is always kept.

Totals are offered most useful first: coarse cells before fine, large groups
before small.  Equalities are what the layout can see; a total that happens to
sit at the edge of what the published cubes allow (all its suppressed values
zero, say) can still pin values that the structure leaves free.  The published
totals are audited again, with their values, by ``protect_linked``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..errors import DisclosureError
from ._bounds import PublishedCube, attacker_system
from ._cube import Key
from ._linked_table import GroupId, check_members, common_measures
from ._nullspace import NullBasis, Step

__all__ = ["aggregation_cells"]


def aggregation_cells(
    node_cubes: Mapping[str, PublishedCube],
    groups: Mapping[GroupId, Sequence[str]],
    held: Mapping[GroupId, Sequence[Key]] | None = None,
    wanted: Callable[[Key], bool] | None = None,
) -> dict[GroupId, list[Key]]:
    """Choose, without exact values, the cells each group may sum: none determines a node value.

    ``held`` names cells of some groups whose totals are already known (an earlier
    attempt's choice): they count first, and those groups get nothing more.  Only
    cells ``wanted`` accepts are offered (default: every cell).
    """
    held = held or {}
    if not node_cubes:
        return {group: [] for group in groups}
    measures = common_measures(node_cubes)
    for group, members in groups.items():
        check_members(group, members, node_cubes)
    spans = [_Span(node_cubes, m.name) for m in measures]
    for group, keys in held.items():
        for key in keys:
            steps = [span.step(groups[group], key) for span in spans]
            if any(step is None for step in steps):
                raise DisclosureError(f"the totals already held for {group} determine a value")
            for span, step in zip(spans, steps, strict=True):
                span.commit(step)  # type: ignore[arg-type]
    # Only cells where a member suppressed something: any other total is already known.
    hidden = {
        (node_id, key)
        for node_id, cube in node_cubes.items()
        for key, values in cube.cells.items()
        if None in values.values() and (wanted is None or wanted(key))
    }
    offers = sorted(
        (
            (group, key)
            for group in groups
            if group not in held
            for key in {key for n, key in hidden if n in groups[group]}
        ),
        key=lambda gk: (
            -sum(v is None for v in gk[1]),  # coarse cells first
            -len(groups[gk[0]]),  # then large groups
            repr(gk[0]),
            repr(gk[1]),
        ),
    )
    chosen: dict[GroupId, list[Key]] = {group: list(held.get(group, [])) for group in groups}
    for group, key in offers:
        steps = [span.step(groups[group], key) for span in spans]
        if all(step is not None for step in steps):
            for span, step in zip(spans, steps, strict=True):
                span.commit(step)  # type: ignore[arg-type]
            chosen[group].append(key)
    return chosen


class _Span:
    """The null space of the equalities over one measure's suppressed node values."""

    def __init__(self, node_cubes: Mapping[str, PublishedCube], name: str) -> None:
        self.index: dict[tuple[str, Key], int] = {}
        equalities: list[tuple[list[int], list[float]]] = []
        for node_id in sorted(node_cubes):
            entries, system = attacker_system(node_cubes[node_id])
            at = {}
            for i, (key, measure) in enumerate(entries):
                if measure == name:
                    at[i] = len(self.index)
                    self.index[(node_id, key)] = at[i]
            for row in system.eq:
                if row and all(v in at for v in row):
                    equalities.append(([at[v] for v in row], list(row.values())))
        self.space = NullBasis(len(self.index))
        for variables, coefs in equalities:
            if not self.space.add(variables, coefs):
                # A node's own equalities determine one of its values: its audit cannot have passed.
                raise DisclosureError(f"a node cube publishes enough to determine a {name} value")

    def step(self, members: Sequence[str], key: Key) -> Step | None:
        """Return how adding a group's total at a key shrinks the null space, or None if unsafe."""
        rows = [self.index[(n, key)] for n in members if (n, key) in self.index]
        return self.space.step(rows, [1.0] * len(rows))

    def commit(self, step: Step) -> None:
        """Apply a step returned by ``step``."""
        self.space.commit(step)
