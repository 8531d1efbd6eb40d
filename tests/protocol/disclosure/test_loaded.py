"""The loaded attacker's LP: blocks, seeds it must not trust, freed values, binding values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.disclosure._loaded import LoadedSystem
from protocol.disclosure._lp import LinearSystem, intervals, least_point


def _table() -> LinearSystem:
    """Two rows a+b = t1 (t1 = 12 published) and c+d = t2 (t2 = 30 published), a <= c.

    Unknowns: a=0, b=1, c=2, d=3, t1=4, t2=5; t1 and t2 are switchable (may be withheld).
    """
    system = LinearSystem(6)
    system.add_eq({0: 1.0, 1: 1.0, 4: -1.0}, 0.0)
    system.add_eq({2: 1.0, 3: 1.0, 5: -1.0}, 0.0)
    system.bound(4, 12.0, 12.0)
    system.bound(5, 30.0, 30.0)
    system.bound(1, upper=5.0)
    return system


def test_a_published_value_binds_and_freeing_it_widens() -> None:
    loaded = LoadedSystem(_table(), switchable=[4, 5], targets=[{0: 1.0}])
    (low, high), binding = loaded.interval(0, 10.0)
    assert (low, high) == pytest.approx((7.0, 12.0))
    assert binding == {4}  # t1 proves a's bounds; t2 has nothing to do with it
    loaded.release(4)
    (low, high), _ = loaded.interval(0, 10.0)
    assert high - low >= 10.0


def test_constants_split_the_system_and_a_target_over_two_blocks_adds_up() -> None:
    system = _table()
    # t1 and t2 constants: two blocks
    loaded = LoadedSystem(system, switchable=[], targets=[{0: 1.0, 2: 1.0}])
    assert len(loaded.models) == 2
    (low, high), _ = loaded.interval(0, 100.0)
    assert (low, high) == pytest.approx((7.0, 42.0))


def test_a_seed_that_breaks_a_constraint_is_not_believed() -> None:
    system = _table()
    bogus = np.array([-50.0, 62.0, 0.0, 30.0, 12.0, 30.0])  # a far below its true range
    loaded = LoadedSystem(system, switchable=[4, 5], targets=[{0: 1.0}], seeds=[bogus])
    (low, high), _ = loaded.interval(0, 10.0)
    assert (low, high) == pytest.approx((7.0, 12.0))


@st.composite
def systems(draw: st.DrawFn) -> tuple[LinearSystem, list[int]]:
    """Random small tables: rows of unknowns summing to published totals."""
    n_parts = draw(st.integers(2, 6))
    rows = draw(st.integers(1, 4))
    system = LinearSystem(n_parts + rows)
    for r in range(rows):
        members = draw(st.lists(st.integers(0, n_parts - 1), min_size=2, max_size=4, unique=True))
        values = draw(st.lists(st.integers(0, 20), min_size=n_parts, max_size=n_parts))
        total = sum(values[m] for m in members)
        system.add_eq({**{m: 1.0 for m in members}, n_parts + r: -1.0}, 0.0)
        system.bound(n_parts + r, float(total), float(total))
        for m in range(n_parts):
            system.bound(m, upper=float(values[m] + draw(st.integers(0, 30))))
    switchable = draw(st.lists(st.integers(n_parts, n_parts + rows - 1), unique=True))
    return system, switchable


@settings(max_examples=60, deadline=None)
@given(systems(), st.data())
def test_narrow_ranges_equal_the_plain_lp_attacker(case, data) -> None:
    """Whatever is loaded, freed and seeded, a range under the width is the exact LP range."""
    system, switchable = case
    try:
        point = least_point(system)
    except Exception:  # the drawn totals and caps contradict each other
        return
    targets = [{v: 1.0} for v in range(system.n)]
    loaded = LoadedSystem(system, switchable, targets)
    freed = data.draw(
        st.lists(st.sampled_from(switchable), unique=True) if switchable else st.just([])
    )
    looser = system.copy()
    for var in freed:
        loaded.release(var)
        looser.lower.pop(var, None)
        looser.upper.pop(var, None)
    exact = intervals(looser, targets, point=least_point(looser) if freed else point)
    for t, bounds in enumerate(exact.bounds):
        (low, high), _ = loaded.interval(t, 5.0)
        if bounds[1] - bounds[0] < 5.0:
            assert (low, high) == pytest.approx(bounds, abs=1e-6)
        else:
            assert high - low >= 5.0 - 1e-9
