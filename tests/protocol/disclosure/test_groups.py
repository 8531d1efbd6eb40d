"""Group tables protected jointly: the n-1 attack, overlapping groups, headlines beside groups.

The attacker here is written apart from ``protocol``: its own equations over every provider's
shown cells, solved with scipy's ``linprog``, against the true values the test knows.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    Cube,
    DisclosureError,
    primary_suppression,
    protect_group_tables,
    protect_shown_tables,
    shown_keys,
)
from tests.attacker import DEN, NUM, K, Published, narrowed

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
    """Every true count of 1..k-1 the independent attacker narrows below k, with its interval."""
    seen = Published(("sex",), KEYS, (DEN, NUM), groups, published, heads)
    return narrowed(seen, nodes, K)


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


# A page shows the years from the first to the last any summed member counted units in: at
# both ends the members together counted at least one, and the attacker knows it.
YEARS = (2021, 2022, 2023)
YEAR_KEYS = shown_keys(("year",), {"year": YEARS})
FLOORS = [(2021,), (2023,)]


def year_table(by_year: dict[int, tuple[int, int]]) -> dict:
    table = {(y,): {"denominator": 0, "numerator": 0} for y in YEARS}
    table.update({(y,): {"denominator": d, "numerator": n} for y, (d, n) in by_year.items()})
    table[(None,)] = {c: sum(table[(y,)][c] for y in YEARS) for c in COUNTS}
    return table


def _year_round(nodes: dict, groups: dict, floors: list | None) -> tuple[dict, list]:
    """Protect a year world's group tables; return them and what the attacker narrows.

    ``floors``: the floors to protect with (None: as a round does, ``protect_shown_tables``).
    """
    keys = YEAR_KEYS
    tables = {
        g: {key: {c: sum(nodes[n][key][c] for n in m) for c in COUNTS} for key in keys}
        for g, m in groups.items()
    }
    heads = {}
    for n, table in nodes.items():
        hidden = primary_suppression(Cube(("year",), (DEN, NUM), {TOP: table[TOP]}), K)
        heads[n] = {c: None if (TOP, c) in hidden else table[TOP][c] for c in COUNTS}
    if floors is None:
        result = protect_shown_tables(tables, groups, ("year",), (DEN, NUM), K, heads)
    else:
        result = protect_group_tables(tables, groups, (DEN, NUM), K, heads, floors=floors)
    shown = list(next(iter(result.published.values())))
    floors = [key for key in FLOORS if key in shown]  # no year row: nothing told of years
    seen = Published(("year",), shown, (DEN, NUM), groups, result.published, heads, floors)
    return result.published, narrowed(seen, nodes, K)


def test_the_years_a_page_shows_are_part_of_what_the_attacker_knows() -> None:
    nodes = {
        "a": year_table({2021: (32, 18), 2022: (2, 1)}),
        "b": year_table({2021: (40, 17)}),
        "c": year_table({}),
        "d": year_table({2021: (6, 6), 2022: (7, 5), 2023: (1, 0)}),
    }
    groups = {("network", "X"): sorted(nodes)}
    # Not told that 2023 holds a unit, the protection leaves 2022 + 2023 = 10 with 2022 in
    # [0, 9]: the group's 9 in 2022 is narrowed below k.
    blind, found = _year_round(nodes, groups, [])
    assert ((("network", "X"), (2022,), "denominator"), 9, 0.0, 9.0) in found
    assert blind[("network", "X")][(2022,)]["denominator"] is None
    _, found = _year_round(nodes, groups, FLOORS)
    assert found == []


@st.composite
def year_worlds(draw: st.DrawFn) -> dict:
    nodes = {}
    for i in range(draw(st.integers(3, 5))):
        by_year = {}
        for year in draw(st.lists(st.sampled_from(YEARS), max_size=3, unique=True)):
            d = draw(st.one_of(st.integers(1, 9), st.integers(10, 40)))
            by_year[year] = (d, draw(st.integers(0, d)))
        nodes[f"n{i}"] = year_table(by_year)
    # The layout spans the years someone counted: the first and the last are not empty.
    for year in (YEARS[0], YEARS[-1]):
        if not any(t[(year,)]["denominator"] for t in nodes.values()):
            nodes["n0"] = year_table(
                {**{y: tuple(nodes["n0"][(y,)].values()) for y in YEARS}, year: (1, 0)}
            )
    return nodes


@settings(max_examples=40, deadline=None)
@given(year_worlds())
def test_nothing_published_narrows_a_small_count_given_the_years_shown(nodes) -> None:
    groups = {("national", "NL"): sorted(nodes), ("network", "X"): sorted(nodes)[:3]}
    assert _year_round(nodes, groups, None)[1] == []


def test_year_rows_that_alone_would_tell_a_count_are_not_shown() -> None:
    # n0 holds every unit, 9 in 2021 and 1 in 2023: rows 2021..2023 and its headline of 10
    # put its 2021 in [1, 9], whatever is withheld.  The round shows no year row.
    nodes = {
        "n0": year_table({2021: (9, 0), 2023: (1, 0)}),
        "n1": year_table({}),
        "n2": year_table({}),
    }
    groups = {("national", "NL"): sorted(nodes)}
    with pytest.raises(DisclosureError, match="narrower than k"):
        _year_round(nodes, groups, FLOORS)
    published, found = _year_round(nodes, groups, None)
    assert found == [] and list(published[("national", "NL")]) == [TOP]


def test_the_same_tables_in_another_order_withhold_the_same_values() -> None:
    tables = group_tables(NINE, NETWORKS)
    heads = headlines(NINE)
    first = protect_group_tables(tables, NETWORKS, (DEN, NUM), K, heads).published
    backwards = {g: tables[g] for g in reversed(list(tables))}
    shuffled = {g: list(reversed(m)) for g, m in reversed(list(NETWORKS.items()))}
    again = protect_group_tables(backwards, shuffled, (DEN, NUM), K, heads).published
    assert again == first


def _three() -> tuple[dict, dict]:
    nodes = {
        "a": node_table({"F": (40, 20), "M": (35, 15), "U": (3, 1)}),
        "b": node_table({"F": (50, 25), "M": (44, 20)}),
        "c": node_table({"F": (30, 12), "M": (28, 14), "U": (2, 0)}),
    }
    return nodes, {("national", "NL"): ("a", "b", "c")}


def test_a_value_withheld_for_an_earlier_release_stays_k_wide() -> None:
    nodes, groups = _three()
    tables = group_tables(nodes, groups)
    nation = ("national", "NL")
    earlier = (nation, TOP, "denominator")  # shown before, 4 away from this round's
    plain = protect_group_tables(tables, groups, (DEN, NUM), K)
    assert plain.published[nation][TOP]["denominator"] == 232
    done = protect_group_tables(tables, groups, (DEN, NUM), K, differences=[earlier])
    assert done.published[nation][TOP]["denominator"] is None
    assert done.withheld["narrows an earlier release"] == 1
    # With every provider's headline shown the overall value is their sum, public whatever
    # is withheld: withholding it would hide nothing, and it is shown.
    given = protect_group_tables(
        tables, groups, (DEN, NUM), K, headlines(nodes), differences=[earlier]
    )
    assert given.published[nation][TOP]["denominator"] == 232
    assert "narrows an earlier release" not in given.withheld


def test_a_value_known_from_an_earlier_release_is_never_withheld_and_counts_as_shown() -> None:
    nodes, groups = _three()
    tables = group_tables(nodes, groups)
    nation = ("national", "NL")
    plain = protect_group_tables(tables, groups, (DEN, NUM), K).published[nation]
    hidden = [s for s in ("F", "M") if plain[(s,)]["denominator"] is None]
    assert hidden  # U (5) is small: one of F, M goes with it
    known = (nation, (hidden[0],), "denominator")
    done = protect_group_tables(tables, groups, (DEN, NUM), K, known=[known]).published[nation]
    assert done[(hidden[0],)]["denominator"] is not None
    assert done[TOP]["denominator"] is None or all(
        done[(s,)]["denominator"] is None for s in ("F", "M") if s != hidden[0]
    )
