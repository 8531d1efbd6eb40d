"""Choosing the cells a group may sum: no total the coordinator learns fixes a node value."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from protocol import DisclosureError, aggregation_cells
from tests.linked_world import (
    N_MINUS_1,
    OVERLAPPING,
    OVERLAPPING_GROUPS,
    attacker,
    determined,
    hierarchies,
    protected_nodes,
    true_totals,
)


def _only(totals: dict, cells: dict) -> dict:
    """Return the true totals of the chosen cells: what the coordinator would learn."""
    return {g: {key: totals[g][key] for key in keys} for g, keys in cells.items()}


def test_the_n_minus_1_cell_is_never_summed() -> None:
    # n1 hides its 4 women and, to protect them, its men; n2 and n3 publish everything.
    true, published = protected_nodes(N_MINUS_1)
    groups = {("national", "NL"): ["n1", "n2", "n3"]}
    everything = {("national", "NL"): [("F",), ("M",), (None,)]}
    # Summing every cell would hand the coordinator n1's 4 women.
    assert ("n1", ("F",), "denominator") in determined(published, groups, everything)
    full = attacker(published, groups, _only(true_totals(true, groups), everything))
    assert full[("n1", ("F",), "denominator")] == pytest.approx((4, 4))
    chosen = aggregation_cells(published, groups)
    assert chosen == {("national", "NL"): []}  # the grand total is published: nothing to sum
    assert determined(published, groups, chosen) == []


def test_overlapping_groups_are_not_both_summed_where_they_isolate_a_node() -> None:
    # Network A = {n1, n2, n3} and zorgkantoor Z = {n2, n3, n4}; n4 publishes its women.
    # Either total alone fixes nobody, but A - (Z - n4) is n1's women.
    true, published = protected_nodes(OVERLAPPING)
    groups = OVERLAPPING_GROUPS
    both = {group: [("F",), ("M",)] for group in groups}
    assert ("n1", ("F",), "denominator") in determined(published, groups, both)
    full = attacker(published, groups, _only(true_totals(true, groups), both))
    assert full[("n1", ("F",), "denominator")] == pytest.approx((4, 4))
    chosen = aggregation_cells(published, groups)
    assert chosen[("network", "A")] == [("F",), ("M",)]  # the first group offered keeps both
    assert chosen[("zorgkantoor", "Z")] == []
    assert determined(published, groups, chosen) == []
    learnt = attacker(published, groups, _only(true_totals(true, groups), chosen))
    assert min(high - low for low, high in learnt.values()) > 0


def test_cells_already_held_count_first() -> None:
    # Z's totals are already known (an earlier attempt chose them): A must now yield.
    _true, published = protected_nodes(OVERLAPPING)
    groups = OVERLAPPING_GROUPS
    held = {("zorgkantoor", "Z"): [("F",)]}
    chosen = aggregation_cells(published, groups, held=held)
    assert chosen == {("network", "A"): [], ("zorgkantoor", "Z"): [("F",)]}


def test_bad_input() -> None:
    _true, published = protected_nodes(
        {n: {("F",): (30,), ("M",): (4,)} for n in ("n1", "n2", "n3")}
    )
    with pytest.raises(DisclosureError, match="fewer than 3"):
        aggregation_cells(published, {("network", "A"): ["n1", "n2"]})
    with pytest.raises(DisclosureError, match="no published cube"):
        aggregation_cells(published, {("network", "A"): ["n1", "n2", "n9"]})
    assert aggregation_cells({}, {("network", "A"): ["n1", "n2", "n3"]}) == {("network", "A"): []}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies())
def test_no_chosen_total_fixes_a_suppressed_count(case: tuple) -> None:
    _true, published, groups = case
    chosen = aggregation_cells(published, groups)
    assert determined(published, groups, chosen) == []
    # Nothing safe is left out for nothing: every cell left out would fix some count.
    for group, members in groups.items():
        for key in published[members[0]].cells:
            if key in chosen[group]:
                continue
            more = {**chosen, group: [*chosen[group], key]}
            hidden_here = any(None in published[n].cells.get(key, {}).values() for n in members)
            if hidden_here:
                assert determined(published, groups, more), (group, key)
