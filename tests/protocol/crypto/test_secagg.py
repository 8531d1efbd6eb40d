"""Secure aggregation: pairwise masks cancel in the sum, and bind to round, group and attempt."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    MODULUS,
    AggregationError,
    agg_key_bytes,
    agg_key_from_bytes,
    agg_public_text,
    flatten_cells,
    generate_agg_key,
    layout_hash,
    layout_keys,
    mask_vector,
    pairwise_seeds,
    unflatten_vector,
    unmask_sum,
)

GROUP = ("network", "NPZ-A")


def _masked(values: dict[str, list[int]], *, attempt: int = 1, round_id: int = 7) -> dict:
    keys = {node: generate_agg_key() for node in values}
    public = {node: agg_public_text(key) for node, key in keys.items()}
    out = {}
    for node, key in keys.items():
        seeds = pairwise_seeds(key, node, public, round_id=round_id, group=GROUP, attempt=attempt)
        out[node] = mask_vector(values[node], node, seeds)
    return out


members = st.lists(
    st.text(alphabet="abcdefgh-", min_size=1, max_size=6), min_size=3, max_size=6, unique=True
)


@settings(max_examples=25, deadline=None)
@given(members, st.data())
def test_masks_cancel_exactly(ids: list[str], data: st.DataObject) -> None:
    length = data.draw(st.integers(1, 12))
    counts = st.lists(st.integers(0, 10**9), min_size=length, max_size=length)
    values = {node: data.draw(counts) for node in ids}
    masked = _masked(values)
    assert unmask_sum(list(masked.values())) == [sum(c) for c in zip(*values.values(), strict=True)]


@settings(max_examples=15, deadline=None)
@given(members)
def test_one_masked_vector_looks_uniform(ids: list[str]) -> None:
    values = {node: [3, 0, 1, 12, 40] * 20 for node in ids}
    for node, vector in _masked(values).items():
        # A value survives its mask only by a 2**-64 chance.
        assert all(m != v for m, v in zip(vector, values[node], strict=True))
        assert all(0 <= m < MODULUS for m in vector)
        # Uniform words: about half have the top bit set.
        assert 25 <= sum(m >> 63 for m in vector) <= 75


def test_masks_are_bound_to_membership_attempt_and_round() -> None:
    keys = {n: generate_agg_key() for n in ("a", "b", "c", "d")}
    public = {n: agg_public_text(k) for n, k in keys.items()}
    three = {n: public[n] for n in ("a", "b", "c")}

    def seed(pub: dict[str, str], **context: object) -> bytes:
        args = {"round_id": 1, "group": GROUP, "attempt": 1, **context}
        return pairwise_seeds(keys["a"], "a", pub, **args)["b"]  # type: ignore[arg-type]

    base = seed(three)
    assert seed(three) == base  # deterministic
    assert seed(public) != base  # one more member
    assert seed(three, attempt=2) != base
    assert seed(three, round_id=2) != base
    assert seed(three, group=("network", "NPZ-B")) != base
    # Both ends of a pair derive the same seed.
    other = pairwise_seeds(keys["b"], "b", three, round_id=1, group=GROUP, attempt=1)
    assert other["a"] == base


def test_a_missing_vector_does_not_unmask() -> None:
    # Each summed value of an incomplete set is uniform noise, below 2**63 half the time:
    # 64 values all below it would happen once in 2**64 runs.
    masked = _masked({n: list(range(64)) for n in ("a", "b", "c")})
    with pytest.raises(AggregationError, match="did not cancel"):
        unmask_sum([masked["a"], masked["b"]])
    with pytest.raises(AggregationError, match="length"):
        unmask_sum([[1, 2], [3]])


def test_bad_inputs_are_refused() -> None:
    key = generate_agg_key()
    public = {"a": agg_public_text(key), "b": agg_public_text(generate_agg_key())}
    with pytest.raises(AggregationError, match="not a member"):
        pairwise_seeds(key, "z", public, round_id=1, group=GROUP, attempt=1)
    with pytest.raises(AggregationError, match="not this node's key"):
        pairwise_seeds(key, "b", public, round_id=1, group=GROUP, attempt=1)
    with pytest.raises(AggregationError, match="X25519"):
        pairwise_seeds(
            key, "a", {**public, "b": "bm90IGEga2V5"}, round_id=1, group=GROUP, attempt=1
        )
    with pytest.raises(AggregationError, match="cannot mask"):
        mask_vector([-1], "a", {})
    assert agg_public_text(agg_key_from_bytes(agg_key_bytes(key))) == public["a"]


def test_layout_round_trip() -> None:
    layout = {
        "dimensions": ["year", "sex"],
        "measures": ["denominator", "numerator"],
        "cells": [[None, None], [2024, None], [None, "F"], [None, "U"]],
    }
    assert layout_keys(layout)[:2] == [(None, None), (2024, None)]
    cells = {
        (2024, "U"): {"denominator": 9, "numerator": 2},
        (2024, "F"): {"denominator": 4, "numerator": 1},
        (2023, "F"): {"denominator": 5, "numerator": 0},
    }
    vector = flatten_cells(layout, cells)
    # Margins are summed from the finest cells under them; the grand total covers all.
    assert vector == [18, 3, 13, 3, 9, 1, 9, 2]
    # A two-way cell is more than a page shows: no side sums it.
    with pytest.raises(AggregationError, match="more than one dimension"):
        layout_keys({**layout, "cells": [[None, None], [2024, "U"]]})
    assert unflatten_vector(layout, vector)[(2024, None)] == {"denominator": 13, "numerator": 3}
    with pytest.raises(AggregationError, match="finest"):
        flatten_cells(layout, {(2024, None): {"denominator": 1}})
    with pytest.raises(AggregationError, match="twice"):
        layout_keys({**layout, "cells": [[None, None], [None, None]]})
    with pytest.raises(AggregationError, match="2 dimension"):
        layout_keys({**layout, "cells": [[2024]]})
    with pytest.raises(AggregationError, match="does not fit"):
        unflatten_vector(layout, [1, 2])
    assert layout_hash(layout).startswith("sha256:")
    assert layout_hash({**layout, "measures": ["numerator"]}) != layout_hash(layout)


def test_a_signed_sum_masks_and_sums_below_zero() -> None:
    layout = {
        "dimensions": ["year"],
        "measures": ["pairs", "change_sum"],
        "signed": ["change_sum"],
        "cells": [[None], [2023], [2024]],
    }
    exact = {
        "a": {(2023,): {"pairs": 3, "change_sum": -40}, (2024,): {"pairs": 2, "change_sum": 7}},
        "b": {(2023,): {"pairs": 1, "change_sum": -2}},
        "c": {(2024,): {"pairs": 4, "change_sum": -30}},
    }
    vectors = _masked({node: flatten_cells(layout, cells) for node, cells in exact.items()})
    summed = unflatten_vector(layout, unmask_sum(list(vectors.values())), members=3)
    assert summed == {
        (None,): {"pairs": 10, "change_sum": -65},
        (2023,): {"pairs": 4, "change_sum": -42},
        (2024,): {"pairs": 6, "change_sum": -23},
    }
    # Unsigned, the same negative value cannot be masked at all.
    unsigned = {k: v for k, v in layout.items() if k != "signed"}
    with pytest.raises(AggregationError, match="cannot mask"):
        mask_vector(flatten_cells(unsigned, exact["c"]), "c", {})
    with pytest.raises(AggregationError, match="too large to mask"):
        flatten_cells(layout, {(2024,): {"pairs": 1, "change_sum": -(2**52)}})
    with pytest.raises(AggregationError, match="signed measures"):
        flatten_cells({**layout, "signed": ["nights"]}, exact["a"])
