"""The linked-table audit: node cubes beside exact group totals leak nothing below k."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import DEN, NUM, SUM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from protocol import (
    Cube,
    DisclosureError,
    PublishedCube,
    protect,
    protect_linked,
)

K = 10
DIMS = ("sex",)


def _node(cells: dict[tuple, tuple[int, ...]], dims=DIMS, measures=(DEN,), k=K) -> tuple:
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


def _totals(true: dict[str, Cube], groups: dict) -> dict:
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


def _attacker(published: dict[str, PublishedCube], groups: dict, totals: dict) -> dict:
    """An LP attacker written apart from protocol: each suppressed node count's (min, max).

    Unknowns are every node count; published ones are fixed by their bounds.
    Constraints: each margin is the sum of its parts, numerator <= denominator,
    and every published group total is the sum of its members' values.
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


def _narrowest(intervals: dict) -> float:
    return min((high - low for low, high in intervals.values()), default=math.inf)


def test_n_minus_1_attack_is_stopped() -> None:
    # n1 hides its 4 women (and, to protect them, its men); n2 and n3 publish everything.
    true, published = {}, {}
    for node, cells in {
        "n1": {("F",): (4,), ("M",): (50,)},
        "n2": {("F",): (30,), ("M",): (40,)},
        "n3": {("F",): (25,), ("M",): (35,)},
    }.items():
        true[node], published[node] = _node(cells)
    assert published["n1"].cells[("F",)]["denominator"] is None
    groups = {("national", "NL"): ["n1", "n2", "n3"]}
    totals = _totals(true, groups)
    # Naive: the total minus n2's and n3's published women gives n1's 4 back exactly.
    naive = _attacker(published, groups, totals)
    assert naive[("n1", ("F",), "denominator")] == pytest.approx((4, 4))
    result = protect_linked(published, groups, totals, K)
    assert _narrowest(_attacker(published, groups, result.totals)) >= K
    national = result.totals[("national", "NL")]
    assert national[("F",)]["denominator"] is None and national[("M",)]["denominator"] is None
    assert national[(None,)]["denominator"] == 184  # the grand total pins nothing: kept
    assert result.withheld == {"isolates a node value": 2}


def test_overlapping_groups_attack_is_stopped() -> None:
    # n1, n2 and n3 hide their few women; n4 publishes.  Network A = {n1, n2, n3} and
    # zorgkantoor Z = {n2, n3, n4}: neither alone pins anyone, but A - (Z - n4) = n1.
    true, published = {}, {}
    for node, cells in {
        "n1": {("F",): (4,), ("M",): (50,)},
        "n2": {("F",): (7,), ("M",): (40,)},
        "n3": {("F",): (5,), ("M",): (35,)},
        "n4": {("F",): (30,), ("M",): (20,)},
    }.items():
        true[node], published[node] = _node(cells)
    groups = {("network", "A"): ["n1", "n2", "n3"], ("zorgkantoor", "Z"): ["n2", "n3", "n4"]}
    totals = _totals(true, groups)
    # Totals of women are 16 and 42, men 125 and 95: none below k, so none is primary.
    for group in groups:
        alone = _attacker(published, {group: groups[group]}, {group: totals[group]})
        assert _narrowest(alone) >= K, group
    both = _attacker(published, groups, totals)
    assert both[("n1", ("F",), "denominator")] == pytest.approx((4, 4))
    result = protect_linked(published, groups, totals, K)
    assert _narrowest(_attacker(published, groups, result.totals)) >= K
    assert result.lps > 0


def test_a_spent_budget_withholds_every_total_still_published(monkeypatch) -> None:
    # Past its LP budget the proof withholds everything left: the node cubes alone are safe.
    import protocol._linked as linked

    monkeypatch.setattr(linked, "PROVE_LPS", -1)
    true, published = {}, {}
    for node, cells in {
        "n1": {("F",): (4,), ("M",): (50,)},
        "n2": {("F",): (7,), ("M",): (40,)},
        "n3": {("F",): (5,), ("M",): (35,)},
        "n4": {("F",): (30,), ("M",): (20,)},
    }.items():
        true[node], published[node] = _node(cells)
    groups = {("network", "A"): ["n1", "n2", "n3"], ("zorgkantoor", "Z"): ["n2", "n3", "n4"]}
    totals = _totals(true, groups)
    result = protect_linked(published, groups, totals, K)
    assert result.withheld.get(linked.BUDGET, 0) > 0
    assert _narrowest(_attacker(published, groups, result.totals)) >= K


def test_a_small_total_is_withheld_and_stays_underivable() -> None:
    true, published = {}, {}
    for node, cells in {
        "n1": {("F",): (2,), ("M",): (50,)},
        "n2": {("F",): (3,), ("M",): (40,)},
        "n3": {("F",): (0,), ("M",): (35,)},
    }.items():
        true[node], published[node] = _node(cells)
    groups = {("national", "NL"): ["n1", "n2", "n3"]}
    result = protect_linked(published, groups, _totals(true, groups), K)
    assert result.totals[("national", "NL")][("F",)]["denominator"] is None
    assert result.withheld.get("count below k") == 1
    # With the men's total published the women's would follow from the grand total.
    assert result.totals[("national", "NL")][("M",)]["denominator"] is None


def test_sums_follow_their_count_total() -> None:
    true, published = {}, {}
    for node, cells in {
        "n1": {("F",): (4, 1, 20), ("M",): (50, 20, 300)},
        "n2": {("F",): (30, 10, 90), ("M",): (40, 20, 120)},
        "n3": {("F",): (25, 12, 50), ("M",): (35, 15, 70)},
    }.items():
        true[node], published[node] = _node(cells, measures=(DEN, NUM, SUM))
    groups = {("national", "NL"): ["n1", "n2", "n3"]}
    result = protect_linked(published, groups, _totals(true, groups), K)
    for values in result.totals[("national", "NL")].values():
        assert (values["days"] is None) == (values["denominator"] is None)
    assert result.withheld["sum follows count"] >= 1


def test_bad_input() -> None:
    true, published = {}, {}
    for node in ("n1", "n2", "n3"):
        true[node], published[node] = _node({("F",): (30,), ("M",): (40,)})
    totals = _totals(true, {("network", "A"): ["n1", "n2", "n3"]})
    with pytest.raises(DisclosureError, match="needs 3"):
        protect_linked(published, {("network", "A"): ["n1", "n2"]}, totals, K)
    with pytest.raises(DisclosureError, match="no published cube"):
        protect_linked(published, {("network", "A"): ["n1", "n2", "n9"]}, totals, K)
    wrong = {("network", "A"): {**totals[("network", "A")], ("F",): {"denominator": 7}}}
    with pytest.raises(DisclosureError, match="contradicts"):
        protect_linked(published, {("network", "A"): ["n1", "n2", "n3"]}, wrong, K)


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
        true[node], published[node] = _node(cells, dims, (DEN, NUM))
    groups: dict = {("national", "NL"): nodes}
    for level in ("network", "zorgkantoor"):
        labels = draw(st.lists(st.integers(0, 2), min_size=n_nodes, max_size=n_nodes))
        for label in set(labels):
            members = [n for n, x in zip(nodes, labels, strict=True) if x == label]
            if len(members) >= 3:
                groups[(level, f"{level[0]}{label}")] = members
    return true, published, groups


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies())
def test_no_linked_table_narrows_a_suppressed_count(case: tuple) -> None:
    true, published, groups = case
    totals = _totals(true, groups)
    result = protect_linked(published, groups, totals, K)
    for group, cells in result.totals.items():
        for key, values in cells.items():
            for name, value in values.items():
                assert value is None or value == totals[group][key][name]
                assert value is None or not 0 < value < K
    intervals = _attacker(published, groups, result.totals)
    for entry, (low, high) in intervals.items():
        assert high - low >= K - 1e-6, (entry, low, high)
