"""Audit new counts together with every count the ledger holds of the same kind of unit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pyroaring import BitMap64

from protocol import NarrowAtom, atoms_of, narrowed_atoms

from ..errors import NodeError
from .store import Ledger

__all__ = ["Fresh", "JointAudit", "Narrowed"]

DENSE = 4
"""Index unit ids through a lookup table when their range is at most this many times their
number (ids are usually dense), else by binary search."""


@dataclass(frozen=True)
class Fresh:
    """A count about to be published and the ids of its units."""

    value: int
    units: np.ndarray


@dataclass(frozen=True)
class Narrowed:
    """A small atom narrowed below k: its interval, the fresh counts linked to it (through
    shared atoms) and those holding it, by index."""

    interval: tuple[float, float]
    linked: list[int]
    holding: list[int]


class JointAudit:
    """The published counts of one kind of unit ("person", "visit") in a ledger."""

    def __init__(self, ledger: Ledger, unit: str, visit_persons: np.ndarray | None = None):
        self.unit = unit
        self.folder = ledger.folder
        self.earlier: list[tuple[int, BitMap64]] = []
        self.visits: list[tuple[np.ndarray, np.ndarray]] = []
        seen: set[bytes] = set()
        for release in ledger.releases():
            if release.unit != unit:
                continue
            if release.visit_persons is not None:
                self.visits.append(release.visit_persons)
            for cell in release.cells:
                if cell.value is None or cell.units is None:
                    continue
                if len(cell.units) != cell.value:
                    raise NodeError(
                        f"ledger {ledger.folder}: {release.query} {cell.key} records"
                        f" {cell.value} but {len(cell.units)} units; it was changed"
                    )
                fingerprint = cell.units.serialize()
                if fingerprint not in seen:  # the same units published again add nothing
                    seen.add(fingerprint)
                    self.earlier.append((cell.value, cell.units))
        self.seen = seen
        if visit_persons is not None:
            self.visits.append(visit_persons)

    def narrowed(self, fresh: Sequence[Fresh], k: int) -> list[Narrowed]:
        """Return the small atoms the fresh counts would narrow below k."""
        rows = list(self.earlier)
        owners: list[list[int]] = [[] for _ in rows]
        new_rows: dict[bytes, int] = {}
        for i, cell in enumerate(fresh):
            bitmap = BitMap64(cell.units)
            bitmap.run_optimize()
            fingerprint = bitmap.serialize()
            if fingerprint in self.seen:
                continue  # published before: nothing new
            if fingerprint not in new_rows:
                new_rows[fingerprint] = len(rows)
                rows.append((cell.value, bitmap))
                owners.append([])
            owners[new_rows[fingerprint]].append(i)
        if not new_rows:
            return []
        universe = np.asarray(BitMap64.union(*(b for _, b in rows)).to_array(), dtype=np.int64)
        index = _indexer(universe)
        cells = [index(np.asarray(b.to_array(), dtype=np.int64)) for _, b in rows]
        persons = self._persons(universe) if self.unit != "person" else None
        atoms = atoms_of(cells, len(universe), persons)
        narrow = narrowed_atoms(atoms, [v for v, _ in rows], k, sorted(new_rows.values()))
        return [_fresh(n, owners) for n in narrow]

    def _persons(self, universe: np.ndarray) -> np.ndarray:
        if not len(universe):  # no visit released at all (every count 0): no one to look up
            return np.zeros(0, dtype=np.int64)
        visits = np.concatenate([v for v, _ in self.visits])
        persons = np.concatenate([p for _, p in self.visits])
        ids, first = np.unique(visits, return_index=True)
        at = np.searchsorted(ids, universe)
        known = len(ids) > 0 and (at < len(ids)).all()
        if not known or (ids[np.minimum(at, len(ids) - 1)] != universe).any():
            raise NodeError(f"ledger {self.folder}: a released visit has no person on record")
        return persons[first][at]


def _fresh(narrow: NarrowAtom, owners: list[list[int]]) -> Narrowed:
    linked = sorted(i for row in narrow.linked for i in owners[row])
    holding = sorted(i for row in narrow.cells for i in owners[row])
    return Narrowed(narrow.interval, linked, holding)


def _indexer(universe: np.ndarray):
    """Return a function mapping sorted unit ids (all in ``universe``) to their positions."""
    if len(universe) == 0:
        return lambda ids: np.zeros(0, dtype=np.int64)
    low, high = int(universe[0]), int(universe[-1])
    if high - low + 1 <= DENSE * len(universe):
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[universe - low] = np.arange(len(universe))
        return lambda ids: table[ids - low]
    return lambda ids: np.searchsorted(universe, ids)
