"""The joint audit: every release of one node, audited together as an attacker holds them.

Units (persons, or visits) fall into atoms by the published cells that hold them: two units
in exactly the same published cells are alike to anyone holding every release.  Each
published count is the sum of its atoms, and atoms are never negative; that is all an
attacker can write down, whatever specs, rounds or extracts the cells came from.  An atom
of 1..k-1 units, or of units of 1..k-1 persons, is a small group the releases single out
(persons aged exactly 67; the two who died since the last extract; the one of them who had
anticancer therapy).  Its feasible interval must be at least k wide, as a suppressed
count's must.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array

from ..errors import DisclosureError
from ._lp import LinearSystem, component_roots, intervals

__all__ = ["Atoms", "NarrowAtom", "atoms_of", "narrowed_atoms"]

WORD = 64


@dataclass(frozen=True)
class Atoms:
    """Units grouped by the cells holding them; ``membership`` is cells x atoms, 0/1."""

    membership: csr_array
    units: np.ndarray
    """Per atom, how many units it holds (the true value the attacker is after)."""
    persons: np.ndarray
    """Per atom, how many distinct persons those units belong to."""

    def small_atoms(self, k: int) -> np.ndarray:
        """Return the indices of atoms of 1..k-1 units, or of units of 1..k-1 persons."""
        few = ((self.units > 0) & (self.units < k)) | ((self.persons > 0) & (self.persons < k))
        return np.flatnonzero(few)


@dataclass(frozen=True)
class NarrowAtom:
    """A small atom the published values narrow below k, the cells holding it, the fresh
    cells linked to it (through shared atoms): withholding one of those can widen it."""

    atom: int
    interval: tuple[float, float]
    cells: tuple[int, ...]
    linked: tuple[int, ...]


def atoms_of(cells: Sequence[np.ndarray], n_units: int, persons: np.ndarray | None = None) -> Atoms:
    """Group units 0..n_units-1 into atoms by the ``cells`` (arrays of unit indices) holding them.

    ``persons[i]`` is unit i's person (visits); without it every unit is a person.
    Units in no cell are in no atom.
    """
    words = np.zeros((n_units, max(1, -(-len(cells) // WORD))), dtype=np.uint64)
    for j, members in enumerate(cells):
        words[members, j // WORD] |= np.uint64(1 << (j % WORD))
    held = np.flatnonzero(words.any(axis=1))
    rows = np.ascontiguousarray(words[held])
    keys = rows.view(np.dtype((np.void, rows.shape[1] * 8))).ravel()
    _, first, inverse, units = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    signatures = rows[first]
    cols: list[np.ndarray] = []
    indptr = [0]
    for j in range(len(cells)):
        inside = np.flatnonzero(signatures[:, j // WORD] & np.uint64(1 << (j % WORD)))
        cols.append(inside)
        indptr.append(indptr[-1] + len(inside))
    indices = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    membership = csr_array(
        (np.ones(len(indices)), indices, np.array(indptr)), shape=(len(cells), len(first))
    )
    if persons is None:
        people = units
    else:
        pairs = np.unique(np.column_stack([inverse, persons[held]]), axis=0)
        people = np.bincount(pairs[:, 0], minlength=len(first))
    return Atoms(membership, units.astype(np.int64), people.astype(np.int64))


def narrowed_atoms(
    atoms: Atoms, values: Sequence[int], k: int, fresh: Sequence[int]
) -> list[NarrowAtom]:
    """Return the small atoms that the published ``values`` (one per cell) narrow below k.

    Only atoms linked to a ``fresh`` cell (through shared atoms) are audited: the others
    are as they were when the earlier releases passed.
    """
    if k < 1:
        raise DisclosureError(f"minimum cell size must be at least 1, not {k}")
    matrix = atoms.membership
    n_cells, n_atoms = matrix.shape
    if len(values) != n_cells:
        raise DisclosureError(f"{len(values)} values for {n_cells} cells")
    system = LinearSystem(n_atoms)
    rows: list[np.ndarray] = []
    for j in range(n_cells):
        row = matrix.indices[matrix.indptr[j] : matrix.indptr[j + 1]]
        rows.append(row)
        system.add_eq(dict.fromkeys(row.tolist(), 1.0), float(values[j]))
    roots = component_roots(system)
    fresh_of: dict[int, list[int]] = {}
    for j in sorted(set(fresh)):
        if len(rows[j]):
            fresh_of.setdefault(roots[int(rows[j][0])], []).append(j)
    targets = [int(a) for a in atoms.small_atoms(k) if roots[a] in fresh_of]
    if not targets:
        return []
    found = intervals(
        system, [{a: 1.0} for a in targets], point=atoms.units.astype(float), min_width=k
    )
    narrow: list[NarrowAtom] = []
    columns = matrix.tocsc()
    for atom, bound in zip(targets, found.bounds, strict=True):
        assert bound is not None
        low, high = bound
        if high - low < k - 1e-6:
            held = columns.indices[columns.indptr[atom] : columns.indptr[atom + 1]]
            cells = tuple(sorted(held.tolist()))
            narrow.append(NarrowAtom(atom, (low, high), cells, tuple(fresh_of[roots[atom]])))
    return narrow
