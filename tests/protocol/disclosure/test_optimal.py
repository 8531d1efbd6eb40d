"""The secondary-suppression optimiser: optimal where it says so, and its patterns pass."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import Cube, MeasureDef, audit, primary_suppression
from protocol.disclosure._audit import count_entries
from protocol.disclosure._optimal import (
    _Search,
    hypercube_suppression,
    near_optimal_suppression,
    optimal_suppression,
    suppression_costs,
)
from protocol.disclosure._table import Table
from tests.protocol.cubes import DEN, NUM, cube_of, cubes, sparse_rows

K = 10


def _brute_force(cube: Cube, k: int, costs: dict) -> tuple[float, frozenset]:
    """Return the cheapest pattern holding the primary suppressions that passes the audit,
    by trying every one (ties: the first in a fixed order)."""
    primary = set(primary_suppression(cube, k))
    free = [e for e in count_entries(cube) if e not in primary]
    best: tuple[float, frozenset] = (float("inf"), frozenset())
    for size in range(len(free) + 1):
        for extra in itertools.combinations(free, size):
            pattern = frozenset(primary | set(extra))
            cost = sum(costs[e] for e in pattern)
            if cost < best[0] - 1e-9 and audit(cube, pattern, k).passed:
                best = (cost, pattern)
    return best


def _one_dim(values: list[tuple[int, int]]) -> Cube:
    return cube_of({(f"r{i}",): v for i, v in enumerate(values)}, ("region",))


def _two_by_two(values: list[int]) -> Cube:
    # A 2x2 table of one count with its margins: 9 counts.
    cells = {(a, b): (v,) for (a, b), v in zip(itertools.product("ab", "FM"), values, strict=True)}
    return cube_of(cells, ("region", "sex"), (DEN,))


BRUTE = [
    _one_dim([(3, 1), (40, 12), (25, 20)]),
    _one_dim([(12, 4), (6, 6), (30, 29), (50, 10)]),
    _two_by_two([3, 40, 25, 8]),
    _two_by_two([2, 15, 30, 60]),
    _two_by_two([0, 9, 12, 12]),
]


@pytest.mark.parametrize("objective", ["count", "value"])
@pytest.mark.parametrize("cube", BRUTE, ids=range(len(BRUTE)))
def test_the_optimum_equals_brute_force_on_small_tables(cube: Cube, objective: str) -> None:
    costs = suppression_costs(cube, objective)  # type: ignore[arg-type]
    best, _ = _brute_force(cube, K, costs)
    found = optimal_suppression(cube, K, primary_suppression(cube, K), costs)
    assert found.optimal
    assert found.suppressed is not None and audit(cube, found.suppressed, K).passed
    assert found.cost == pytest.approx(best)
    assert found.bound <= found.cost + 1e-6


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=2, max_size=3))
def test_the_optimum_equals_brute_force_on_random_one_way_tables(pairs) -> None:
    cube = _one_dim([(max(p), min(p)) for p in pairs])
    costs = suppression_costs(cube, "count")
    best, _ = _brute_force(cube, K, costs)
    found = optimal_suppression(cube, K, primary_suppression(cube, K), costs)
    assert found.optimal and found.cost == pytest.approx(best)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes(max_dims=2), st.integers(3, 12), st.sampled_from(["count", "value"]))
def test_every_pattern_passes_the_audit_and_keeps_the_fixed_counts(cube, k, objective) -> None:
    primary = set(primary_suppression(cube, k))
    costs = suppression_costs(cube, objective)
    optimum = optimal_suppression(cube, k, primary, costs, max_rounds=4)
    near = near_optimal_suppression(cube, k, primary, costs)
    boxes = hypercube_suppression(cube, k, primary, costs)
    for pattern in (optimum.suppressed, near.suppressed, boxes):
        if pattern is None:
            continue
        assert primary <= pattern
        assert audit(cube, pattern, k).passed
    assert optimum.suppressed is not None and near.suppressed is not None
    # The optimiser's lower bound holds for every passing pattern it or others found.
    assert optimum.bound <= optimum.cost + 1e-6
    assert optimum.bound <= sum(costs[e] for e in near.suppressed) + 1e-6
    if optimum.optimal:
        assert optimum.cost <= sum(costs[e] for e in near.suppressed) + 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes(max_dims=2), st.integers(3, 12), st.randoms(use_true_random=False))
def test_a_cut_never_excludes_a_pattern_that_passes(cube, k, rng) -> None:
    # Cuts come from failing patterns; each must hold for every passing one.
    primary = primary_suppression(cube, k)
    search = _Search(cube, k, primary, suppression_costs(cube, "count"))
    passing = [search.pattern(count_entries(cube))]
    near = near_optimal_suppression(cube, k, primary, suppression_costs(cube, "count"))
    if near.suppressed is not None:
        passing.append(search.pattern(near.suppressed))
    cuts = []
    for _ in range(4):
        hidden = search.pattern(primary) | (np.array([rng.random() for _ in search.fixed]) < 0.3)
        cuts += search.separator.cuts(hidden)
    for cut in cuts:
        row, lower = cut.row()
        for pattern in passing:
            assert sum(c * pattern[j] for j, c in row.items()) >= lower - 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes(max_dims=2), st.integers(3, 12), st.randoms(use_true_random=False))
def test_what_a_box_shows_wide_the_audit_finds_wide(cube, k, rng) -> None:
    table = Table(cube, k)
    hidden = np.array([rng.random() < 0.6 for _ in range(table.n)])
    targets = table.targets(hidden)
    shown = table.boxes.shown(hidden, targets)
    result = audit(cube, {table.entries[i] for i in np.flatnonzero(hidden)}, k)
    for target, wide in zip(targets, shown, strict=True):
        if not wide:
            continue
        if len(target.needs) == 1:
            label = table.entries[target.needs[0]]
        else:
            num, den = target.needs
            label = (table.entries[num][0], f"{table.entries[den][1]}-{table.entries[num][1]}")
        assert label not in result.failures


def test_the_same_cube_in_any_row_order_gets_the_same_pattern() -> None:
    patterns = set()
    for shuffle in range(3):
        rows = sparse_rows(5, range(2020, 2024))
        random.Random(shuffle).shuffle(rows)
        cube = Cube.from_finest(("year", "sex", "band"), (DEN, NUM), rows)
        cube = Cube(cube.dimensions, cube.measures, {k: cube.cells[k] for k in cube.sorted_keys()})
        primary = primary_suppression(cube, K)
        found = near_optimal_suppression(cube, K, primary, suppression_costs(cube, "count"))
        patterns.add(found.suppressed)
    assert len(patterns) == 1


def test_work_limits_still_give_a_passing_pattern_or_none() -> None:
    cube = Cube.from_finest(("year", "sex", "band"), (DEN, NUM), sparse_rows(3, range(2019, 2024)))
    primary = primary_suppression(cube, K)
    costs = suppression_costs(cube, "count")
    found = optimal_suppression(cube, K, primary, costs, max_rounds=1, max_nodes=1)
    assert found.rounds >= 1
    if found.suppressed is not None:
        assert audit(cube, found.suppressed, K).passed
    # A passing start pattern is kept when nothing cheaper is proven.
    everything = count_entries(cube)
    kept = optimal_suppression(cube, K, primary, costs, start=everything, max_rounds=0)
    assert kept.suppressed == frozenset(everything) and not kept.optimal


def test_costs_rank_by_one_objective_and_break_ties_by_the_other() -> None:
    cube = cube_of({("a",): (30, 5), ("b",): (2, 1)}, ("region",))
    by_count = suppression_costs(cube, "count")
    by_value = suppression_costs(cube, "value")
    big, small = ((("a",), "denominator")), ((("b",), "numerator"))
    assert 1 < by_count[small] < by_count[big] < 2
    assert by_value[big] == pytest.approx(30, abs=0.5) and by_value[small] < 2
    with pytest.raises(ValueError, match="objective"):
        suppression_costs(cube, "size")  # type: ignore[arg-type]


def test_a_measure_without_numerators_and_a_cube_without_dimensions() -> None:
    single = cube_of({("a",): (3,), ("b",): (40,), ("c",): (8,)}, ("region",), (MeasureDef("n"),))
    top = cube_of({(): (4, 1)}, ())
    for cube in (single, top):
        primary = primary_suppression(cube, K)
        found = optimal_suppression(cube, K, primary, suppression_costs(cube, "count"))
        assert found.optimal and found.suppressed is not None
        assert audit(cube, found.suppressed, K).passed


def test_a_cut_the_duals_cannot_give_cuts_off_the_pattern_and_all_it_contains() -> None:
    cube = _one_dim([(3, 1), (40, 12), (25, 20)])
    search = _Search(cube, K, primary_suppression(cube, K), suppression_costs(cube, "count"))
    hidden = search.pattern(primary_suppression(cube, K))
    lower, upper = search.table.bounds(hidden)
    target = search.table.targets(hidden)[0]
    flat = np.zeros(search.table.n)
    # Zero reduced costs and a width of k: the duals promise nothing to cut with.
    cut = search.separator._cut(lower, upper, target, (K, flat), (0.0, flat))
    row, lower_bound = cut.row()
    assert cut.rhs == 1.0 and set(cut.coefs) == set(np.flatnonzero(~hidden))
    assert sum(c * hidden[j] for j, c in row.items()) < lower_bound
