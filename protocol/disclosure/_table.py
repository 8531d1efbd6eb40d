"""The table a suppression pattern is chosen over: its counts, what a pattern leaves the
attacker to narrow (targets), and boxes of suppressed corners that show targets wide at once."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array

from ._audit import TOLERANCE, count_entries
from ._cube import Cube, Key

__all__ = ["Boxes", "Entry", "Table", "Target"]

Entry = tuple[Key, str]


class Table:
    """The cube's counts as one vector, with its additive relations and numerator pairs."""

    def __init__(self, cube: Cube, k: int) -> None:
        self.k = k
        self.entries = count_entries(cube)
        self.n = len(self.entries)
        self.index = {e: i for i, e in enumerate(self.entries)}
        self.values = np.array([float(cube.cells[key][name]) for key, name in self.entries])
        self.counts = [m for m in cube.measures if m.kind == "count"]
        # One (total, parts) per relation and count measure: -x_total + sum(x_parts) == 0.
        # Sorted, so that the same cube in any order of cells gives the same MILP.
        self.relations: list[tuple[int, list[int]]] = sorted(
            (self.index[(total, m.name)], sorted(self.index[(p, m.name)] for p in parts))
            for total, parts in cube.relations()
            for m in self.counts
        )
        # Numerator <= denominator in every cell.
        self.pairs: list[tuple[int, int]] = [
            (self.index[(key, m.name)], self.index[(key, m.parent)])
            for key in cube.sorted_keys()
            for m in self.counts
            if m.parent is not None
        ]
        # The audit's cap on every suppressed count (see ``audit``): the same LP, the same verdicts.
        top = max((v for c in cube.cells.values() for v in c.values()), default=0)
        self.cap = 2.0 * (top + k)
        self.boxes = Boxes(cube, self)

    def targets(self, hidden: np.ndarray) -> list[Target]:
        """Return the audit's targets under a pattern: each hidden count and complement."""
        out = [Target({int(i): 1.0}, (int(i),)) for i in np.flatnonzero(hidden)]
        for num, den in self.pairs:
            if hidden[num] and hidden[den]:
                out.append(Target({den: 1.0, num: -1.0}, (num, den)))
        return out

    def bounds(self, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each count's bounds for the attacker: its value, or 0..cap where hidden."""
        v = self.values
        return np.where(hidden, 0.0, v), np.where(hidden, self.cap, v)


@dataclass(frozen=True)
class Target:
    """A linear expression the audit keeps k wide while the counts in ``needs`` are hidden."""

    expression: dict[int, float]
    needs: tuple[int, ...]


class Boxes:
    """Boxes of cells (two coordinates in each dimension, a total counting as one) and the
    moves they allow: every corner shifted by +-delta, signs alternating, keeps every relation.

    One move shifts one count measure, or a denominator with all its numerators together.
    A box whose move reaches k both ways shows every count it shifts k wide, and the
    difference of a shifted denominator and an unshifted numerator too.
    """

    def __init__(self, cube: Cube, table: Table) -> None:
        k, cap = table.k, table.cap
        dims = len(cube.dimensions)
        coords = [
            [*sorted({key[i] for key in cube.cells if key[i] is not None}, key=repr), None]
            for i in range(dims)
        ]
        position = [{c: j for j, c in enumerate(values)} for values in coords]
        grid = np.full([len(c) for c in coords], -1, dtype=np.int64)
        keys = cube.sorted_keys()
        for cell, key in enumerate(keys):
            grid[tuple(position[i][key[i]] for i in range(dims))] = cell
        # A dimension with the total alone has no relation: a box keeps its one coordinate.
        pairs = [
            np.array(list(itertools.combinations(range(len(c)), 2)) or [(0, 0)]) for c in coords
        ]
        active = [i for i in range(dims) if len(coords[i]) > 1]
        # Moving to the other coordinate flips the sign, unless one of the two is the total.
        flips = [np.where(p[:, 1] == len(c) - 1, 1, -1) for p, c in zip(pairs, coords, strict=True)]
        mesh = np.meshgrid(*[np.arange(len(p)) for p in pairs], indexing="ij")
        choice = [m.ravel() for m in mesh]
        n_boxes = int(np.prod([len(p) for p in pairs]))
        corners, signs = [], []
        for mask in itertools.product((0, 1), repeat=len(active)):
            side = dict(zip(active, mask, strict=True))
            at = tuple(pairs[i][choice[i], side.get(i, 0)] for i in range(dims))
            corners.append(grid[at] if dims else np.zeros(1, dtype=np.int64))
            sign = np.ones(n_boxes, dtype=np.int64)
            for i in active:
                if side[i]:
                    sign = sign * flips[i][choice[i]]
            signs.append(sign)
        cells = np.stack(corners, axis=1)  # boxes x corners: cell numbers
        sign = np.stack(signs, axis=1)
        whole = np.all(cells >= 0, axis=1)
        cells, sign = cells[whole], sign[whole]
        names = [m.name for m in table.counts]
        of = {name: i for i, name in enumerate(names)}
        value = np.array(
            [[cube.cells[key][name] for name in names] for key in keys], dtype=np.float64
        ).reshape(len(keys), len(names))
        entry = np.array(
            [[table.index[(key, name)] for name in names] for key in keys], dtype=np.int64
        ).reshape(len(keys), len(names))
        moves: list[tuple[str, ...]] = [(m.name,) for m in table.counts]
        for m in table.counts:
            children = tuple(c.name for c in table.counts if c.parent == m.name)
            if children:
                moves.append((m.name, *children))
        members, widths, single = [], [], []
        for move in moves:
            up = np.full(cells.shape, np.inf)
            down = np.full(cells.shape, np.inf)
            for name in move:
                v = value[cells, of[name]]
                rise = cap - v
                parent = table.counts[of[name]].parent
                if parent is not None and parent not in move:
                    rise = np.minimum(rise, value[cells, of[parent]] - v)
                fall = v
                for child in table.counts:
                    if child.parent == name and child.name not in move:
                        fall = np.minimum(fall, v - value[cells, of[child.name]])
                up, down = np.minimum(up, rise), np.minimum(down, fall)
            plus = np.where(sign > 0, up, down).min(axis=1)
            minus = np.where(sign > 0, down, up).min(axis=1)
            width = plus + minus
            good = width >= k - TOLERANCE
            members.append(np.concatenate([entry[cells[good], of[name]] for name in move], axis=1))
            widths.append(width[good])
            single += [len(move) == 1] * int(good.sum())
        rows = [row for block in members for row in block]
        self.n = len(rows)
        self.single = np.array(single, dtype=bool)
        indptr = np.cumsum([0, *(len(r) for r in rows)])
        indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        self.matrix = csr_array((np.ones(len(indices)), indices, indptr), shape=(self.n, table.n))
        self.size = np.diff(indptr)
        self.members = self.matrix.T.tocsr()  # entries x boxes

    def covering(self, target: Target) -> np.ndarray:
        """Return the boxes that would show a target k wide, in a fixed order."""
        if len(target.needs) == 1:
            return np.sort(self.members[[target.needs[0]]].indices)
        alone = [self.members[[i]].indices for i in target.needs]
        both = np.concatenate(alone)
        return np.sort(both[self.single[both]])

    def shown(self, hidden: np.ndarray, targets: Sequence[Target]) -> np.ndarray:
        """Return, per target, whether a box of hidden counts shows it k wide."""
        if not self.n:
            return np.zeros(len(targets), dtype=bool)
        whole = (self.matrix @ hidden.astype(np.float64)) >= self.size - 0.5
        usable = whole.astype(np.float64)
        single = (whole & self.single).astype(np.float64)
        shifts = self.members @ usable
        shifts_alone = self.members @ single
        out = np.zeros(len(targets), dtype=bool)
        for t, target in enumerate(targets):
            if len(target.needs) == 1:
                out[t] = shifts[target.needs[0]] > 0
            else:
                # A box shifting only one of numerator and denominator moves their difference.
                out[t] = any(shifts_alone[i] > 0 for i in target.needs)
        return out
