"""The sparse null-space basis: which unknowns a set of equalities determines."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import null_space

from protocol.disclosure._nullspace import NullBasis


def test_a_difference_and_a_sum_determine_both() -> None:
    basis = NullBasis(3)
    assert basis.add([0, 1], [1.0, -1.0])  # x0 - x1 = b: neither is fixed
    assert not basis.determined(0) and basis.width == 2
    assert basis.step([0, 1], [2.0, -2.0]).pivot is None  # implied: nothing changes
    assert basis.step([0, 1], [1.0, 1.0]) is None  # with x0 + x1 both would be fixed
    assert basis.width == 2 and not basis.determined(1)


@st.composite
def systems(draw: st.DrawFn) -> tuple[int, list[dict[int, float]]]:
    """Random sparse equalities with small integer coefficients, like cube margins."""
    n = draw(st.integers(2, 12))
    rows = draw(
        st.lists(
            st.dictionaries(
                st.integers(0, n - 1),
                st.sampled_from([-2.0, -1.0, 1.0, 2.0]),
                min_size=1,
                max_size=4,
            ),
            max_size=10,
        )
    )
    return n, rows


@settings(max_examples=200, deadline=None)
@given(systems())
def test_determined_unknowns_match_an_svd(system: tuple[int, list[dict[int, float]]]) -> None:
    n, rows = system
    basis = NullBasis(n)
    kept: list[dict[int, float]] = []
    for row in rows:
        step = basis.step(list(row), list(row.values()))
        if step is not None:
            basis.commit(step)
            kept.append(row)
    matrix = np.zeros((len(kept), n))
    for i, row in enumerate(kept):
        for var, coef in row.items():
            matrix[i, var] = coef
    free = null_space(matrix) if kept else np.eye(n)
    # Nothing kept determines an unknown, and the basis spans the same space as the SVD's.
    assert not any(basis.determined(v) for v in range(n))
    assert np.all(np.linalg.norm(free, axis=1) > 1e-8)
    assert basis.width == free.shape[1]
    # Every row refused would have determined some unknown.
    for row in rows:
        if row in kept:
            continue
        extra = np.zeros((1, n))
        for var, coef in row.items():
            extra[0, var] = coef
        more = null_space(np.vstack([matrix, extra]))
        norms = np.linalg.norm(more, axis=1) if more.size else np.zeros(n)
        assert np.any(norms < 1e-8)
