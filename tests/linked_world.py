"""Linked-table worlds for the disclosure tests: protected node cubes, true totals, an attacker.

The attacker is written apart from ``protocol``: its equations are built here
from the published cells, and scipy's ``linprog`` solves them.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import strategies as st
from scipy.linalg import null_space
from scipy.optimize import linprog

from protocol import Cube, MeasureDef, PublishedCube, protect

DEN = MeasureDef("denominator")
NUM = MeasureDef("numerator", "count", parent="denominator")

K = 10
DIMS = ("sex",)


def protected_node(cells: dict[tuple, tuple[int, ...]], dims=DIMS, measures=(DEN,), k=K) -> tuple:
    """Protect one node's cube; return (true cube, published cube)."""
    rows = [
        {
            **dict(zip(dims, key, strict=True)),
            **dict(zip([m.name for m in measures], v, strict=True)),
        }
        for key, v in cells.items()
    ]
    cube = Cube.from_finest(dims, measures, rows)
    rows = protect(cube, k).rows()
    return cube, PublishedCube.from_rows(dims, measures, rows)


def protected_nodes(cells_by_node: dict, measures=(DEN,)) -> tuple[dict, dict]:
    """Protect several nodes' cubes of one ``sex`` dimension; return (true, published) by node."""
    true, published = {}, {}
    for node, cells in cells_by_node.items():
        true[node], published[node] = protected_node(cells, measures=measures)
    return true, published


N_MINUS_1 = {
    "n1": {("F",): (4,), ("M",): (50,)},  # hides its 4 women and, to protect them, its men
    "n2": {("F",): (30,), ("M",): (40,)},
    "n3": {("F",): (25,), ("M",): (35,)},
}
"""Nodes whose national total minus n2's and n3's published women gives n1's 4 back."""

OVERLAPPING = {
    "n1": {("F",): (4,), ("M",): (50,)},
    "n2": {("F",): (7,), ("M",): (40,)},
    "n3": {("F",): (5,), ("M",): (35,)},
    "n4": {("F",): (30,), ("M",): (20,)},
}
"""Nodes where network A - (zorgkantoor Z - n4) is n1's women (see ``OVERLAPPING_GROUPS``)."""

OVERLAPPING_GROUPS = {
    ("network", "A"): ["n1", "n2", "n3"],
    ("zorgkantoor", "Z"): ["n2", "n3", "n4"],
}


def true_totals(true: dict[str, Cube], groups: dict) -> dict:
    """Exact group totals: every cell and measure summed over the members."""
    out: dict = {}
    for group, members in groups.items():
        keys = set().union(*(true[n].cells for n in members))
        out[group] = {
            key: {
                m.name: sum(true[n].cells.get(key, {}).get(m.name, 0) for n in members)
                for m in true[members[0]].measures
            }
            for key in keys
        }
    return out


def equations(published: dict[str, PublishedCube], groups: dict, totals: dict) -> tuple:
    """Return the attacker's system: entries, their index, bounds, A_eq, b_eq and A_ub.

    Unknowns are every node count; published ones are fixed by their bounds.
    Constraints: each margin is the sum of its parts, numerator <= denominator,
    and every group total given is the sum of its members' values.
    """
    entries = [
        (n, key, m.name)
        for n, cube in published.items()
        for key in cube.cells
        for m in cube.measures
        if m.kind == "count"
    ]
    at = {e: i for i, e in enumerate(entries)}
    bounds = []
    for n, key, name in entries:
        value = published[n].cells[key][name]
        bounds.append((0, None) if value is None else (value, value))
    a_eq, b_eq, a_ub = [], [], []
    for n, cube in published.items():
        counts = [m for m in cube.measures if m.kind == "count"]
        for key in cube.cells:
            for i, v in enumerate(key):
                if v is not None:
                    continue
                parts = [
                    c
                    for c in cube.cells
                    if c[i] is not None and all(c[j] == key[j] for j in range(len(key)) if j != i)
                ]
                for m in counts:
                    row = np.zeros(len(entries))
                    row[at[(n, key, m.name)]] = -1
                    for p in parts:
                        row[at[(n, p, m.name)]] += 1
                    a_eq.append(row)
                    b_eq.append(0)
            for m in counts:
                if m.parent is not None:
                    row = np.zeros(len(entries))
                    row[at[(n, key, m.name)]] = 1
                    row[at[(n, key, m.parent)]] = -1
                    a_ub.append(row)
    for group, cells in totals.items():
        for key, values in cells.items():
            for name, total in values.items():
                if total is None or not any(name == e[2] for e in entries):
                    continue
                row = np.zeros(len(entries))
                for n in groups[group]:
                    if key in published[n].cells:
                        row[at[(n, key, name)]] = 1
                a_eq.append(row)
                b_eq.append(total)
    return entries, at, bounds, a_eq, b_eq, a_ub


def attacker(published: dict[str, PublishedCube], groups: dict, totals: dict) -> dict:
    """Return each suppressed node count's (min, max) under the totals given (an LP each)."""
    entries, at, bounds, a_eq, b_eq, a_ub = equations(published, groups, totals)
    out = {}
    for e, i in at.items():
        if bounds[i] != (0, None):
            continue
        ends = []
        for sign in (1, -1):
            c = np.zeros(len(entries))
            c[i] = sign
            res = linprog(
                c,
                A_ub=np.array(a_ub) if a_ub else None,
                b_ub=[0] * len(a_ub) if a_ub else None,
                A_eq=np.array(a_eq) if a_eq else None,
                b_eq=b_eq or None,
                bounds=bounds,
                method="highs",
            )
            assert res.status in (0, 3), res.message
            ends.append(-sign * math.inf if res.status == 3 else sign * res.fun)
        out[e] = (ends[0], ends[1])
    return out


def narrowest(intervals: dict) -> float:
    return min((high - low for low, high in intervals.values()), default=math.inf)


@st.composite
def hierarchies(draw: st.DrawFn) -> tuple:
    """Random nodes, cubes, networks and regions of at least 3 members each."""
    n_nodes = draw(st.integers(3, 6))
    nodes = [f"n{i}" for i in range(n_nodes)]
    sizes = [draw(st.integers(2, 3)) for _ in range(draw(st.integers(1, 2)))]
    dims = tuple(f"d{i}" for i in range(len(sizes)))
    small = st.one_of(st.integers(0, 12), st.integers(0, 60))
    true, published = {}, {}
    for node in nodes:
        cells = {}
        for key in itertools.product(*(range(s) for s in sizes)):
            den = draw(small)
            cells[key] = (den, draw(st.integers(0, den)))
        true[node], published[node] = protected_node(cells, dims, (DEN, NUM))
    groups: dict = {("national", "NL"): nodes}
    for level in ("network", "zorgkantoor"):
        labels = draw(st.lists(st.integers(0, 2), min_size=n_nodes, max_size=n_nodes))
        for label in set(labels):
            members = [n for n, x in zip(nodes, labels, strict=True) if x == label]
            if len(members) >= 3:
                groups[(level, f"{level[0]}{label}")] = members
    return true, published, groups


def determined(published: dict[str, PublishedCube], groups: dict, cells: dict) -> list:
    """Return the suppressed node counts that group totals at ``cells`` fix by equalities alone.

    Whatever the totals' values: a count is fixed when its unit vector lies in the
    row space of the equalities over the suppressed counts (an SVD null space).
    """
    totals = {
        g: {key: dict.fromkeys(["denominator", "numerator"], 0) for key in keys}
        for g, keys in cells.items()
    }
    entries, _at, bounds, a_eq, _b, _ub = equations(published, groups, totals)
    hidden = [i for i, b in enumerate(bounds) if b == (0, None)]
    if not hidden:
        return []
    matrix = np.array(a_eq)[:, hidden] if a_eq else np.zeros((0, len(hidden)))
    basis = null_space(matrix) if len(matrix) else np.eye(len(hidden))
    norms = np.linalg.norm(basis, axis=1) if basis.size else np.zeros(len(hidden))
    return [entries[hidden[j]] for j in np.flatnonzero(norms < 1e-8)]
