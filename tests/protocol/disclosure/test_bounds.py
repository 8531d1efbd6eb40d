"""Bounds of a published cube's suppressed values: what anyone can infer from it."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import (
    Cube,
    DisclosureError,
    MeasureDef,
    PublishedCube,
    protect,
    suppressed_bounds,
)
from protocol.disclosure._bounds import attacker_system
from protocol.disclosure._lp import intervals
from tests.protocol.cubes import region_cube, region_row

DIMS = ("region",)
DEN = MeasureDef("denominator")
NUM = MeasureDef("numerator", "count", parent="denominator")
SUM = MeasureDef("days", "sum", parent="denominator")
CHANGE = MeasureDef("change", "sum", parent="denominator", signed=True)


@st.composite
def cubes(draw: st.DrawFn) -> Cube:
    """Random cubes of up to two dimensions with many small counts, sometimes a sum."""
    sizes = draw(st.lists(st.integers(2, 4), max_size=2))
    dims = tuple(f"d{i}" for i in range(len(sizes)))
    measures = (DEN, NUM, SUM) if draw(st.booleans()) else (DEN, NUM)
    rows = []
    for key in itertools.product(*(range(s) for s in sizes)):
        den = draw(st.one_of(st.integers(0, 12), st.integers(0, 60)))
        row = {**dict(zip(dims, key, strict=True)), "denominator": den}
        row["numerator"] = draw(st.integers(0, den))
        row["days"] = den * draw(st.integers(0, 9))
        rows.append(
            {k: v for k, v in row.items() if k in dims or any(m.name == k for m in measures)}
        )
    return Cube.from_finest(dims, measures, rows)


def test_published_margin_caps_the_hidden_parts() -> None:
    cube = region_cube(
        [
            region_row("a", 60, 30),
            region_row("b", None, None),
            region_row("c", None, None),
            region_row(None, 100, 50),
        ]
    )
    bounds = suppressed_bounds(cube)
    assert bounds[(("b",), "denominator")] == (0, 40)
    assert bounds[(("c",), "denominator")] == (0, 40)
    assert bounds[(("b",), "numerator")] == (0, 20)
    assert set(bounds) == set(cube.suppressed())


def test_numerator_is_capped_by_its_published_denominator() -> None:
    cube = region_cube([{"denominator": 25, "numerator": None}], dims=())
    assert suppressed_bounds(cube) == {((), "numerator"): (0, 25)}


def test_published_numerator_is_a_floor_for_its_hidden_denominator() -> None:
    cube = region_cube(
        [region_row("a", None, 12), region_row("b", None, 3), region_row(None, None, 15)]
    )
    bounds = suppressed_bounds(cube)
    assert bounds[(("a",), "denominator")] == (12, math.inf)
    assert bounds[((None,), "denominator")] == (15, math.inf)


def test_sums_are_additive_and_unbounded_without_a_margin() -> None:
    measures = (DEN, SUM)
    capped = region_cube(
        [
            {"region": "a", "denominator": 20, "days": 80},
            {"region": "b", "denominator": None, "days": None},
            {"region": None, "denominator": 25, "days": 130},
        ],
        measures=measures,
    )
    assert suppressed_bounds(capped)[(("b",), "days")] == (50, 50)
    assert suppressed_bounds(capped)[(("b",), "denominator")] == (5, 5)
    open_ended = region_cube(
        [
            {"region": "a", "denominator": None, "days": None},
            {"region": None, "denominator": None, "days": None},
        ],
        measures=measures,
    )
    assert suppressed_bounds(open_ended)[(("a",), "days")] == (0, math.inf)


def test_a_signed_sum_may_be_negative_and_a_hidden_one_is_bounded_by_nothing() -> None:
    cube = region_cube(
        [
            {"region": "a", "denominator": 20, "change": -35},
            {"region": "b", "denominator": None, "change": None},
            {"region": None, "denominator": 25, "change": -5},
        ],
        measures=(DEN, CHANGE),
    )
    bounds = suppressed_bounds(cube)
    assert bounds[(("b",), "change")] == (-math.inf, math.inf)
    assert bounds[(("b",), "denominator")] == (5, 5)  # the counts' audit is unchanged
    with pytest.raises(DisclosureError, match=r"days must be a whole number >= 0"):
        region_cube(
            [
                {"region": "a", "denominator": 20, "days": -1},
                {"region": None, "denominator": 20, "days": -1},
            ],
            measures=(DEN, SUM),
        )
    with pytest.raises(DisclosureError, match="not the sum of its parts"):
        region_cube(
            [
                {"region": "a", "denominator": 20, "change": -3},
                {"region": None, "denominator": 20, "change": 3},
            ],
            measures=(DEN, CHANGE),
        )


def test_published_values_that_contradict_each_other_are_refused() -> None:
    # b's hidden denominator would have to be 20 - 30 = -10.
    cube = region_cube(
        [region_row("a", 30, None), region_row("b", None, 5), region_row(None, 20, None)]
    )
    with pytest.raises(DisclosureError, match="contradict"):
        suppressed_bounds(cube)


def test_nothing_suppressed_means_no_bounds() -> None:
    assert suppressed_bounds(region_cube([region_row("a", 20, 10), region_row(None, 20, 10)])) == {}


def test_an_empty_extract_publishes_an_empty_cube() -> None:
    assert suppressed_bounds(region_cube([])) == {}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([region_row("a", 20, 10)], "whole cube"),
        ([region_row("a", 20, 30), region_row(None, 20, 30)], "exceeds"),
        ([region_row("a", 20, 10), region_row(None, 21, 10)], "not the sum of its parts"),
        ([region_row("a", 20, 10), region_row("a", 20, 10)], "twice"),
        ([region_row("a", -1, 0), region_row(None, -1, 0)], "whole number"),
        ([region_row("a", 2.5, 0), region_row(None, 2.5, 0)], "whole number"),
        ([region_row("a", True, 0), region_row(None, True, 0)], "whole number"),
        ([{"region": "a", "denominator": 1}], "missing"),
        ([{**region_row("a", 1, 0), "person_id": 7}], "unexpected"),
        ([region_row(["a"], 1, 0)], "dimension value"),
        (["not a cell"], "not an object"),
    ],
)
def test_malformed_cubes_are_refused(rows: list, message: str) -> None:
    with pytest.raises(DisclosureError, match=message):
        region_cube(rows)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes())
def test_bounds_contain_the_truth_and_stay_at_least_k_wide(cube) -> None:
    k = 5
    protected = protect(cube, k)
    published = PublishedCube.from_rows(cube.dimensions, cube.measures, protected.rows())
    bounds = suppressed_bounds(published)
    assert set(bounds) == set(protected.suppressed)
    for (key, name), (low, high) in bounds.items():
        assert low <= cube.cells[key][name] <= high
        if cube.measure(name).kind == "count":
            # The audit proved every real interval at least k wide; rounding to whole
            # numbers can take less than 1 off each end.
            assert high - low > k - 2
    # The fast solver (propagation, then only the LPs it needs) equals one LP per extreme.
    entries, system = attacker_system(published)
    origin = [0.0] * system.n
    exact = intervals(system, [{v: 1.0} for v in range(system.n)], point=origin)
    for entry, found in zip(entries, exact.bounds, strict=True):
        assert found is not None
        least, most = found
        assert bounds[entry][0] == max(0, math.ceil(least - 1e-6))
        assert bounds[entry][1] == (most if math.isinf(most) else math.floor(most + 1e-6))


def test_hand_made_cube_through_protect() -> None:
    rows = [region_row("a", 40, 10), region_row("b", 3, 1), region_row("c", 50, 20)]
    cube = Cube.from_finest(DIMS, (DEN, NUM), rows)
    protected = protect(cube, 10)
    published = PublishedCube.from_rows(DIMS, cube.measures, protected.rows())
    for (key, name), (low, high) in suppressed_bounds(published).items():
        assert low <= cube.cells[key][name] <= high
