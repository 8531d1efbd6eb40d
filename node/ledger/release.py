"""Decide what one query may release given the ledger, and hold the release to record it.

The cube is protected on its own first.  Then the counts it would publish are audited with
every count published before (``JointAudit``); while a small atom is narrowed below k, one
more count linked to it is withheld (the cube's own protection re-run around it) and the
audit repeats.  Withholding every new count leaves what passed before, so this ends.
Which count to withhold is tried, a few at a time (``_choose``); the choice is
deterministic: counts are taken in the cube's one order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pyroaring import BitMap64

from protocol import HEADLINE, Key, ProtectedCube, protect, protect_headline

from ..errors import NodeError
from .audit import Fresh, JointAudit, Narrowed
from .members import Members
from .store import Ledger, Release, ReleasedCell

__all__ = ["Decision", "decide"]

log = logging.getLogger(__name__)

Entry = tuple[Key, str]

TRIALS = 4
"""Counts tried per withholding step: each trial is one more joint audit."""


@dataclass(frozen=True)
class Decision:
    """What a query releases: its cube as protected, and the counts the ledger withheld."""

    protected: ProtectedCube
    withheld: frozenset[Entry]
    narrowed: int
    """Small atoms found narrowed along the way (each answered by withholding a count)."""


def decide(
    ledger: Ledger,
    spec_id: str,
    spec_hash: str,
    protected: ProtectedCube,
    members: Members,
    scope: str,
) -> Decision:
    """Withhold what the joint audit needs and add the release to the ledger's pending ones."""
    cube, k = protected.cube, protected.k
    visits = (members.units, members.persons) if members.unit != "person" else None
    audit = JointAudit(ledger, members.unit, visits)
    withheld: set[Entry] = set()
    narrowed = 0
    units: dict[Entry, np.ndarray] = {}
    while True:
        if withheld and scope != HEADLINE:
            protected = protect(cube, k, withheld)
        values = _released(protected, scope, withheld)
        published = [entry for entry, value in values.items() if value is not None]
        for entry in published:
            if entry not in units:
                units[entry] = members.of(*entry)
                if len(units[entry]) != values[entry]:
                    raise NodeError(f"{spec_id}: the units behind {entry} do not add up")
        fresh = [Fresh(values[e] or 0, units[e]) for e in published]
        found = audit.narrowed(fresh, k)
        if not found:
            break
        narrowed += len(found)
        withheld.add(published[_choose(audit, fresh, found, k)])
    if withheld:
        log.info("%s: %d counts withheld by the joint audit", spec_id, len(withheld))
    cells = tuple(
        ReleasedCell(key, name, value, None if value is None else BitMap64(units[(key, name)]))
        for (key, name), value in values.items()
    )
    ledger.add(Release(spec_id, spec_hash, scope, k, members.unit, cells, visits))
    return Decision(protected, frozenset(withheld), narrowed)


def _released(
    protected: ProtectedCube, scope: str, withheld: set[Entry]
) -> dict[Entry, int | None]:
    """Return every count the release would publish (None: suppressed), in the cube's order."""
    cube = protected.cube
    counts = [m.name for m in cube.measures if m.kind == "count"]
    if scope == HEADLINE:
        top: Key = (None,) * len(cube.dimensions)
        names = [name for key, name in sorted(withheld, key=str) if key == top]
        values, _ = protect_headline(cube, protected.k, names)
        return {(top, name): values[name] for name in counts}
    return {
        (key, name): protected.value(key, name) for key in cube.sorted_keys() for name in counts
    }


def _choose(audit: JointAudit, fresh: list[Fresh], found: Sequence[Narrowed], k: int) -> int:
    """Return the fresh count to withhold: of the few likeliest (those holding a narrowed atom,
    then those linked to one; smaller first), the one leaving the fewest atoms narrowed."""
    holding = {i for narrow in found for i in narrow.holding}
    linked = {i for narrow in found for i in narrow.linked}
    order = sorted(linked, key=lambda i: (i not in holding, fresh[i].value, i))[:TRIALS]
    if len(order) == 1:
        return order[0]
    left = [len(audit.narrowed([f for j, f in enumerate(fresh) if j != i], k)) for i in order]
    return order[left.index(min(left))]
