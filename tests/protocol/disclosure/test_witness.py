"""Known ranges over feasible points: every point counts, only the champions are kept."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.disclosure._witness import Ranges


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.integers(0, 4), st.sampled_from([-1.0, 1.0, 2.0]), min_size=1),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.lists(st.integers(0, 30), min_size=5, max_size=5), min_size=1, max_size=12),
)
def test_known_ranges_are_those_of_every_point_and_the_kept_points_give_them_back(
    targets, points
) -> None:
    ranges = Ranges(targets, 5)
    for point in points:
        ranges.add(np.array(point, dtype=np.float64))
    values = np.array([[sum(c * p[v] for v, c in t.items()) for p in points] for t in targets])
    assert np.allclose(ranges.lows, values.min(axis=1))
    assert np.allclose(ranges.highs, values.max(axis=1))
    kept = ranges.points()
    assert len(kept) <= min(len(points), 2 * len(targets))
    again = Ranges(targets, 5)
    for point in kept:
        again.add(point)
    assert np.allclose(again.lows, ranges.lows) and np.allclose(again.highs, ranges.highs)


def test_past_the_limit_the_oldest_points_go_and_the_ranges_stay(monkeypatch) -> None:
    monkeypatch.setattr("protocol.disclosure._witness.KEPT", 3)
    targets = [{i: 1.0} for i in range(10)]
    ranges = Ranges(targets, 10)
    for i in range(10):  # each point is the only one to reach its own target's max
        point = np.zeros(10)
        point[i] = 5.0
        ranges.add(point)
    assert [p.argmax() for p in ranges.points()] == [7, 8, 9]
    assert np.allclose(ranges.highs, 5.0) and np.allclose(ranges.lows, 0.0)
