"""The linked-table audit: node cubes beside exact group totals leak nothing below k."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from protocol import DisclosureError, protect_linked
from tests.linked_world import (
    N_MINUS_1,
    OVERLAPPING,
    OVERLAPPING_GROUPS,
    K,
    attacker,
    hierarchies,
    narrowest,
    protected_nodes,
    true_totals,
)
from tests.protocol.cubes import DEN, NUM, SUM


def test_n_minus_1_attack_is_stopped() -> None:
    # n1 hides its 4 women (and, to protect them, its men); n2 and n3 publish everything.
    true, published = protected_nodes(N_MINUS_1)
    assert published["n1"].cells[("F",)]["denominator"] is None
    groups = {("national", "NL"): ["n1", "n2", "n3"]}
    totals = true_totals(true, groups)
    # Naive: the total minus n2's and n3's published women gives n1's 4 back exactly.
    naive = attacker(published, groups, totals)
    assert naive[("n1", ("F",), "denominator")] == pytest.approx((4, 4))
    result = protect_linked(published, groups, totals, K)
    assert narrowest(attacker(published, groups, result.totals)) >= K
    national = result.totals[("national", "NL")]
    assert national[("F",)]["denominator"] is None and national[("M",)]["denominator"] is None
    assert national[(None,)]["denominator"] == 184  # the grand total pins nothing: kept
    assert result.withheld == {"isolates a node value": 2}


def test_overlapping_groups_attack_is_stopped() -> None:
    # n1, n2 and n3 hide their few women; n4 publishes.  Network A = {n1, n2, n3} and
    # zorgkantoor Z = {n2, n3, n4}: neither alone pins anyone, but A - (Z - n4) = n1.
    true, published = protected_nodes(OVERLAPPING)
    groups = OVERLAPPING_GROUPS
    totals = true_totals(true, groups)
    # Totals of women are 16 and 42, men 125 and 95: none below k, so none is primary.
    for group in groups:
        alone = attacker(published, {group: groups[group]}, {group: totals[group]})
        assert narrowest(alone) >= K, group
    both = attacker(published, groups, totals)
    assert both[("n1", ("F",), "denominator")] == pytest.approx((4, 4))
    result = protect_linked(published, groups, totals, K)
    assert narrowest(attacker(published, groups, result.totals)) >= K
    assert result.lps > 0


def test_a_spent_budget_withholds_every_total_still_published(monkeypatch) -> None:
    # Past its LP budget the proof withholds everything left: the node cubes alone are safe.
    import protocol.disclosure._linked as linked

    monkeypatch.setattr(linked, "PROVE_LPS", -1)
    monkeypatch.setattr(linked, "PROBES", 0)
    monkeypatch.setattr(linked, "NODE_PROBES", 0)
    true, published = protected_nodes(OVERLAPPING)
    groups = OVERLAPPING_GROUPS
    totals = true_totals(true, groups)
    result = protect_linked(published, groups, totals, K)
    assert result.withheld.get(linked.BUDGET, 0) > 0
    assert narrowest(attacker(published, groups, result.totals)) >= K


def test_a_small_total_is_withheld_and_stays_underivable() -> None:
    true, published = protected_nodes(
        {
            "n1": {("F",): (2,), ("M",): (50,)},
            "n2": {("F",): (3,), ("M",): (40,)},
            "n3": {("F",): (0,), ("M",): (35,)},
        }
    )
    groups = {("national", "NL"): ["n1", "n2", "n3"]}
    result = protect_linked(published, groups, true_totals(true, groups), K)
    assert result.totals[("national", "NL")][("F",)]["denominator"] is None
    assert result.withheld.get("count below k") == 1
    # With the men's total published the women's would follow from the grand total.
    assert result.totals[("national", "NL")][("M",)]["denominator"] is None


def test_sums_follow_their_count_total() -> None:
    true, published = protected_nodes(
        {
            "n1": {("F",): (4, 1, 20), ("M",): (50, 20, 300)},
            "n2": {("F",): (30, 10, 90), ("M",): (40, 20, 120)},
            "n3": {("F",): (25, 12, 50), ("M",): (35, 15, 70)},
        },
        measures=(DEN, NUM, SUM),
    )
    groups = {("national", "NL"): ["n1", "n2", "n3"]}
    result = protect_linked(published, groups, true_totals(true, groups), K)
    for values in result.totals[("national", "NL")].values():
        assert (values["days"] is None) == (values["denominator"] is None)
    assert result.withheld["sum follows count"] >= 1


def test_bad_input() -> None:
    true, published = protected_nodes(
        {n: {("F",): (30,), ("M",): (40,)} for n in ("n1", "n2", "n3")}
    )
    totals = true_totals(true, {("network", "A"): ["n1", "n2", "n3"]})
    with pytest.raises(DisclosureError, match="needs 3"):
        protect_linked(published, {("network", "A"): ["n1", "n2"]}, totals, K)
    with pytest.raises(DisclosureError, match="no published cube"):
        protect_linked(published, {("network", "A"): ["n1", "n2", "n9"]}, totals, K)
    wrong = {("network", "A"): {**totals[("network", "A")], ("F",): {"denominator": 7}}}
    with pytest.raises(DisclosureError, match="contradicts"):
        protect_linked(published, {("network", "A"): ["n1", "n2", "n3"]}, wrong, K)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hierarchies())
def test_no_linked_table_narrows_a_suppressed_count(case: tuple) -> None:
    true, published, groups = case
    totals = true_totals(true, groups)
    result = protect_linked(published, groups, totals, K)
    for group, cells in result.totals.items():
        for key, values in cells.items():
            for name, value in values.items():
                assert value is None or value == totals[group][key][name]
                assert value is None or not 0 < value < K
    intervals = attacker(published, groups, result.totals)
    for entry, (low, high) in intervals.items():
        assert high - low >= K - 1e-6, (entry, low, high)
