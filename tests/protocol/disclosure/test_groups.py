"""Group tables protected jointly: the n-1 attack, overlapping groups, headlines beside groups.

The attacker here is written apart from ``protocol``: its own equations over every provider's
shown cells, solved with scipy's ``linprog``, against the true values the test knows.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from protocol import Cube, DisclosureError, primary_suppression, protect_group_tables, shown_keys
from tests.linked_world import DEN, NUM, K

SEXES = ("F", "M", "U")
KEYS = shown_keys(("sex",), {"sex": SEXES})
TOP = (None,)
COUNTS = ("denominator", "numerator")


def node_table(cells: dict[str, tuple[int, int]]) -> dict:
    """One provider's shown cells from its values by sex: (denominator, numerator)."""
    table = {(sex,): {"denominator": d, "numerator": n} for sex, (d, n) in cells.items()}
    for sex in SEXES:
        table.setdefault((sex,), {"denominator": 0, "numerator": 0})
    table[TOP] = {name: sum(table[(s,)][name] for s in SEXES) for name in COUNTS}
    return table


def group_tables(nodes: dict[str, dict], groups: dict) -> dict:
    return {
        group: {key: {c: sum(nodes[n][key][c] for n in members) for c in COUNTS} for key in KEYS}
        for group, members in groups.items()
    }


def headlines(nodes: dict[str, dict]) -> dict:
    """Each provider's overall values as its node publishes them (primary rules at the node)."""
    out = {}
    for node, table in nodes.items():
        hidden = primary_suppression(Cube(("sex",), (DEN, NUM), {TOP: table[TOP]}), K)
        out[node] = {c: None if (TOP, c) in hidden else table[TOP][c] for c in COUNTS}
    return out


def primaries_only(tables: dict) -> dict:
    """What publishing each group's table with its primary rules alone would show."""
    out = {}
    for group, table in tables.items():
        cube = Cube(("cell",), (DEN, NUM), {(key,): table[key] for key in KEYS})
        hidden = {(key, name) for ((key,), name) in primary_suppression(cube, K)}
        out[group] = {
            key: {c: None if (key, c) in hidden else table[key][c] for c in COUNTS} for key in KEYS
        }
    return out


def narrow_values(nodes, groups, published, heads) -> list[tuple]:
    """Every true count of 1..k-1 (a provider's, a group's, or a complement) the attacker
    narrows below k from everything published, with its interval."""
    names = sorted(nodes)
    var = {(n, key, c): i for i, (n, key, c) in enumerate(itertools.product(names, KEYS, COUNTS))}
    eq, eq_rhs, le = [], [], []

    def row(entries: dict) -> np.ndarray:
        out = np.zeros(len(var))
        for v, coef in entries.items():
            out[v] += coef
        return out

    for n, c in itertools.product(names, COUNTS):
        eq.append(row({var[(n, (s,), c)]: 1 for s in SEXES} | {var[(n, TOP, c)]: -1}))
        eq_rhs.append(0)
        if heads.get(n, {}).get(c) is not None:
            eq.append(row({var[(n, TOP, c)]: 1}))
            eq_rhs.append(heads[n][c])
    for n, key in itertools.product(names, KEYS):
        le.append(row({var[(n, key, "numerator")]: 1, var[(n, key, "denominator")]: -1}))
    for group, table in published.items():
        for key, c in itertools.product(KEYS, COUNTS):
            if table[key][c] is not None:
                eq.append(row({var[(n, key, c)]: 1 for n in groups[group]}))
                eq_rhs.append(table[key][c])
    truth = group_tables(nodes, groups)
    targets = []
    for n, key in itertools.product(names, KEYS):
        d, m = nodes[n][key]["denominator"], nodes[n][key]["numerator"]
        den, num = var[(n, key, "denominator")], var[(n, key, "numerator")]
        targets += [
            ((n, key, "denominator"), {den: 1}, d),
            ((n, key, "numerator"), {num: 1}, m),
            ((n, key, "complement"), {den: 1, num: -1}, d - m),
        ]
    for group, key in itertools.product(groups, KEYS):
        d, m = truth[group][key]["denominator"], truth[group][key]["numerator"]
        den = {var[(n, key, "denominator")]: 1 for n in groups[group]}
        num = {var[(n, key, "numerator")]: 1 for n in groups[group]}
        targets += [
            ((group, key, "denominator"), den, d),
            ((group, key, "numerator"), num, m),
            ((group, key, "complement"), den | {v: -1 for v in num}, d - m),
        ]
    found = []
    for label, expression, true in targets:
        if not 0 < true < K:
            continue
        objective = row(expression)
        ends = []
        for sign in (1, -1):
            done = linprog(
                sign * objective, A_ub=np.array(le), b_ub=np.zeros(len(le)),
                A_eq=np.array(eq), b_eq=np.array(eq_rhs, dtype=float), bounds=(0, None),
                method="highs",
            )  # fmt: skip
            if done.status == 3:  # unbounded: nothing caps it
                ends.append(-sign * np.inf)
                continue
            assert done.status == 0, done.message
            ends.append(sign * done.fun)
        low, high = ends
        if high - low < K - 1e-6:
            found.append((label, true, round(low, 6), round(high, 6)))
    return found


def _check(nodes, groups, heads=None):
    heads = headlines(nodes) if heads is None else heads
    tables = group_tables(nodes, groups)
    result = protect_group_tables(tables, groups, (DEN, NUM), K, heads)
    for group, table in result.published.items():
        for key, values in table.items():
            for c, value in values.items():
                assert value is None or value == tables[group][key][c]
    assert narrow_values(nodes, groups, result.published, heads) == []
    return result, tables


# The n-1 attack: the nation minus two networks gives the third's hidden value.
NINE = {f"n{i}": node_table({"F": (40, 15), "M": (30, 12)}) for i in range(9)}
NINE["n0"] = node_table({"F": (40, 1), "M": (30, 12)})
NINE["n1"] = node_table({"F": (40, 1), "M": (30, 12)})
NINE["n2"] = node_table({"F": (40, 1), "M": (30, 12)})
NETWORKS = {
    ("national", "NL"): [f"n{i}" for i in range(9)],
    ("network", "A"): ["n0", "n1", "n2"],
    ("network", "B"): ["n3", "n4", "n5"],
    ("network", "C"): ["n6", "n7", "n8"],
}


def test_n_minus_1_attack_works_on_primaries_alone_and_not_after_protection() -> None:
    tables = group_tables(NINE, NETWORKS)
    heads = headlines(NINE)
    found = narrow_values(NINE, NETWORKS, primaries_only(tables), heads)
    # Network A's 3 women with the outcome: the nation's 93 minus B's 45 and C's 45.
    assert ((("network", "A"), ("F",), "numerator"), 3, 3.0, 3.0) in found
    result, _ = _check(NINE, NETWORKS)
    assert result.published[("national", "NL")][TOP] == {"denominator": 630, "numerator": 201}


# Overlapping groups: Y minus X is provider d alone.
OVERLAP_NODES = {
    "a": node_table({"F": (30, 12), "M": (25, 11)}),
    "b": node_table({"F": (20, 10), "M": (22, 12)}),
    "c": node_table({"F": (28, 14), "M": (26, 13)}),
    "d": node_table({"F": (4, 2), "M": (31, 15)}),
    "e": node_table({"F": (35, 15), "M": (30, 12)}),
}
OVERLAP_GROUPS = {
    ("national", "NL"): ["a", "b", "c", "d", "e"],
    ("network", "X"): ["a", "b", "c"],
    ("zorgkantoor", "Y"): ["a", "b", "c", "d"],
}


def test_overlapping_groups_isolate_a_provider_on_primaries_alone_and_not_after() -> None:
    tables = group_tables(OVERLAP_NODES, OVERLAP_GROUPS)
    found = narrow_values(OVERLAP_NODES, OVERLAP_GROUPS, primaries_only(tables), {})
    assert (("d", ("F",), "denominator"), 4, 4.0, 4.0) in found
    _check(OVERLAP_NODES, OVERLAP_GROUPS, heads={})


# A provider's headline beside its group: the group's total minus the others' headlines.
HEADLINE_NODES = {
    "a": node_table({"F": (30, 12), "M": (25, 11)}),
    "b": node_table({"F": (20, 10), "M": (22, 12)}),
    "c": node_table({"F": (3, 1), "M": (3, 1)}),
}


def test_headlines_beside_a_group_give_back_a_small_provider_unless_protected() -> None:
    groups = {("network", "X"): ["a", "b", "c"]}
    heads = headlines(HEADLINE_NODES)
    assert heads["c"] == {"denominator": None, "numerator": None}  # 6 and 2: hidden at the node
    tables = group_tables(HEADLINE_NODES, groups)
    found = narrow_values(HEADLINE_NODES, groups, primaries_only(tables), heads)
    assert (("c", TOP, "denominator"), 6, 6.0, 6.0) in found
    result, _ = _check(HEADLINE_NODES, groups)
    assert result.published[("network", "X")][TOP]["denominator"] is None


def test_a_group_of_fewer_than_three_is_refused() -> None:
    groups = {("network", "X"): ["a", "b"]}
    with pytest.raises(DisclosureError, match="fewer than 3"):
        protect_group_tables(group_tables(HEADLINE_NODES, groups), groups, (DEN, NUM), K)


def test_zero_cells_are_published_and_large_ones_stay_exact() -> None:
    nodes = {n: node_table({"F": (40, 20), "M": (0, 0)}) for n in ("a", "b", "c")}
    result, _ = _check(nodes, {("network", "X"): ["a", "b", "c"]})
    assert result.published[("network", "X")][("M",)] == {"denominator": 0, "numerator": 0}
    assert result.published[("network", "X")][("F",)] == {"denominator": 120, "numerator": 60}


small = st.one_of(st.integers(0, 6), st.integers(0, 40))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict, dict]:
    count = draw(st.integers(3, 6))
    nodes = {}
    for i in range(count):
        cells = {}
        for sex in SEXES:
            d = draw(small)
            cells[sex] = (d, draw(st.integers(0, d)))
        nodes[f"n{i}"] = node_table(cells)
    names = sorted(nodes)
    groups = {("national", "NL"): names}
    for j in range(draw(st.integers(0, 3))):
        members = draw(st.lists(st.sampled_from(names), min_size=3, max_size=count, unique=True))
        groups[(draw(st.sampled_from(["network", "zorgkantoor"])), f"g{j}")] = sorted(members)
    return nodes, groups


@settings(max_examples=40, deadline=None)
@given(worlds(), st.booleans())
def test_nothing_published_narrows_a_small_count(world, with_headlines: bool) -> None:
    nodes, groups = world
    _check(nodes, groups, None if with_headlines else {})
