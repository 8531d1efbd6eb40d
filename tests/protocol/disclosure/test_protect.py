"""Disclosure control: primary rules, secondary suppression, and the LP proof behind them."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from protocol import Cube, DisclosureError, audit, primary_suppression, protect
from protocol.disclosure._optimal import optimal_suppression, suppression_costs
from tests.protocol.cubes import DEN, NUM, SUM, cube_of, cubes, sparse_rows

K = 10
DIMS = ("region", "sex")


def _table() -> Cube:
    # A 3x2 table whose only small cell is (b, F) = 3.
    return cube_of(
        {
            ("a", "F"): (40, 10),
            ("a", "M"): (35, 12),
            ("b", "F"): (3, 1),
            ("b", "M"): (50, 20),
            ("c", "F"): (60, 30),
            ("c", "M"): (45, 15),
        },
        DIMS,
    )


def test_primary_rules() -> None:
    cube = cube_of(
        {
            ("a", "F"): (5, 0),  # denominator below k: both go
            ("a", "M"): (50, 3),  # numerator below k
            ("b", "F"): (50, 45),  # complement 5 below k
            ("b", "M"): (50, 0),  # zero is published
        },
        DIMS,
    )
    reasons = primary_suppression(cube, K)
    assert reasons[(("a", "F"), "denominator")] == "count below k"
    assert reasons[(("a", "F"), "numerator")] == "denominator suppressed"
    assert reasons[(("a", "M"), "numerator")] == "count below k"
    assert reasons[(("b", "F"), "numerator")] == "complement below k"
    assert (("b", "M"), "numerator") not in reasons
    assert (("b", "M"), "denominator") not in reasons


def test_primary_only_is_broken_by_differencing_and_protect_fixes_it() -> None:
    cube = _table()
    primary = set(primary_suppression(cube, K))
    assert (("b", "F"), "denominator") in primary
    # The margin minus the other published cell gives the small cell back exactly.
    margin = cube.cells[(None, "F")]["denominator"]
    others = sum(cube.cells[(r, "F")]["denominator"] for r in "ac")
    assert margin - others == 3
    assert not audit(cube, primary, K).passed
    protected = protect(cube, K)
    assert audit(cube, protected.suppressed, K).passed
    assert protected.value(("b", "F"), "denominator") is None
    assert protected.report.secondary > 0


def test_complement_attack_is_caught() -> None:
    # Numerator and denominator suppressed in a cell, but their difference 4 is derivable
    # from published margins unless more is suppressed.
    cube = cube_of({("a", "F"): (8, 4), ("a", "M"): (50, 20)}, DIMS)
    hidden = {(("a", "F"), "denominator"), (("a", "F"), "numerator")}
    result = audit(cube, hidden, K)
    assert not result.passed
    assert protect(cube, K).report.secondary > 0


def test_sums_follow_their_count() -> None:
    cube = cube_of({("a", "F"): (3, 1, 12), ("a", "M"): (40, 2, 200)}, DIMS, (DEN, NUM, SUM))
    protected = protect(cube, K)
    for key in cube.cells:
        assert (protected.value(key, "days") is None) == (
            protected.value(key, "denominator") is None
        )


def test_rows_publish_none_for_suppressed_and_keep_every_cell() -> None:
    protected = protect(_table(), K)
    rows = protected.rows()
    assert len(rows) == len(_table().cells)
    assert rows[0].keys() == {"region", "sex", "denominator", "numerator"}
    assert any(r["denominator"] is None for r in rows)
    assert rows[-1]["region"] is None and rows[-1]["sex"] is None


def test_no_dimension_cube() -> None:
    small = protect(cube_of({(): (4, 1)}, ()), K)
    assert small.value((), "denominator") is None and small.value((), "numerator") is None
    big = protect(cube_of({(): (400, 100)}, ()), K)
    assert big.value((), "numerator") == 100 and not big.suppressed


def test_bad_input() -> None:
    with pytest.raises(DisclosureError, match="at least 1"):
        protect(_table(), 0)
    with pytest.raises(DisclosureError, match="exceeds"):
        protect(cube_of({("a", "F"): (3, 5)}, DIMS), K)


def _attacker_interval(cube: Cube, hidden: set, target: dict) -> tuple[float, float]:
    """A straightforward LP over every cell, written apart from protocol's audit."""
    counts = [m for m in cube.measures if m.kind == "count"]
    entries = [(key, m.name) for key in cube.cells for m in counts]
    index = {e: i for i, e in enumerate(entries)}
    bounds = [(0, None) if e in hidden else (cube.cells[e[0]][e[1]],) * 2 for e in entries]
    a_eq, b_eq = [], []
    for total, parts in cube.relations():
        for m in counts:
            row = np.zeros(len(entries))
            row[index[(total, m.name)]] = -1
            for p in parts:
                row[index[(p, m.name)]] += 1
            a_eq.append(row)
            b_eq.append(0)
    a_ub, b_ub = [], []
    for key in cube.cells:
        row = np.zeros(len(entries))
        row[index[(key, "numerator")]] = 1
        row[index[(key, "denominator")]] = -1
        a_ub.append(row)
        b_ub.append(0)
    c = np.zeros(len(entries))
    for e, coef in target.items():
        c[index[e]] = coef
    out = []
    for sign in (1, -1):
        equalities = {"A_eq": np.array(a_eq), "b_eq": b_eq} if a_eq else {}
        res = linprog(
            sign * c, A_ub=np.array(a_ub), b_ub=b_ub, bounds=bounds, method="highs", **equalities
        )
        out.append(-math.inf * sign if res.status == 3 else sign * res.fun)
    return out[0], out[1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes(max_dims=2), st.integers(3, 12))
def test_protect_is_safe_exact_and_deterministic(cube: Cube, k: int) -> None:
    protected = protect(cube, k)
    hidden = protected.suppressed
    # Every primary suppression is kept; no published count or complement is in 1..k-1.
    assert set(primary_suppression(cube, k)) <= hidden
    for key, values in cube.cells.items():
        den = protected.value(key, "denominator")
        num = protected.value(key, "numerator")
        for value in (den, num):
            assert value is None or not 0 < value < k
        if den is not None and num is not None:
            assert not 0 < den - num < k
        for name, true in values.items():
            published = protected.value(key, name)
            assert published is None or published == true
        if "days" in values:
            assert (protected.value(key, "days") is None) == (den is None)
    # The audit passes, and an independently written attacker agrees on small cubes.
    assert audit(cube, hidden, k).passed
    if len(cube.cells) <= 12:
        for key, name in sorted(hidden, key=repr):
            if name == "days":
                continue
            low, high = _attacker_interval(cube, set(hidden), {(key, name): 1})
            assert high - low >= k - 1e-6, (key, name, low, high)
    assert protect(cube, k).suppressed == hidden


def test_the_order_of_the_rows_does_not_change_the_pattern() -> None:
    # Before cells were taken in one order, these rows got 224 or 239 suppressions by order.
    patterns = set()
    for shuffle in range(3):
        rows = sparse_rows(1)
        random.Random(shuffle).shuffle(rows)
        cube = Cube.from_finest(("year", "sex", "band"), (DEN, NUM), rows)
        patterns.add(tuple(sorted(protect(cube, 10).suppressed, key=repr)))
    assert len(patterns) == 1


_PATTERN = """
import hashlib, json, random
from protocol import Cube, MeasureDef, protect
rng = random.Random(11)
rows = []
for y in range(2019, 2024):
    for s in ("F", "M", "U"):
        for b in ("young", "old"):
            d = rng.choice([rng.randint(0, 9), rng.randint(0, 60)])
            rows.append({"year": y, "sex": s, "band": b, "denominator": d,
                         "numerator": rng.randint(0, d)})
rng.shuffle(rows)
defs = (MeasureDef("denominator"), MeasureDef("numerator", "count", parent="denominator"))
rows = protect(Cube.from_finest(("year", "sex", "band"), defs, rows), 10).rows()
print(hashlib.sha256(json.dumps(rows).encode()).hexdigest())
"""


def test_the_pattern_is_the_same_under_any_hash_seed() -> None:
    # Dicts and sets of text keys iterate in an order each process draws anew.
    runs = {
        subprocess.run(
            [sys.executable, "-c", _PATTERN],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "2")
    }
    assert len(runs) == 1


def _one_year_rows(seed: int) -> list[dict]:
    """Finest rows of one year: every cell small, the year's total well above k."""
    rng = random.Random(seed)
    rows = []
    for sex in ("F", "M", "U"):
        for band in ("0-17", "18-64", "65-74", "75-84", "85+"):
            den = rng.randint(0, 9) if sex != "U" else rng.randint(0, 2)
            rows.append(
                {"year": 2023, "sex": sex, "band": band, "denominator": den,
                 "numerator": rng.randint(0, den)}
            )  # fmt: skip
    return rows


def _counts(cube: Cube, pattern) -> tuple[int, int]:
    hidden = [(key, name) for key, name in pattern if name in ("denominator", "numerator")]
    return len(hidden), sum(cube.cells[key][name] for key, name in hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_table_of_small_cells_keeps_its_total_and_stays_near_the_optimum(seed: int) -> None:
    # One year: each value has a twin (the all-years margin), every cell is small. An
    # earlier search hid all 96 values of such tables, the grand total too.
    cube = Cube.from_finest(("year", "sex", "band"), (DEN, NUM), _one_year_rows(seed))
    top = (None, None, None)
    assert cube.cells[top]["denominator"] >= K
    protected = protect(cube, K)
    assert protected.value(top, "denominator") == cube.cells[top]["denominator"]
    primary = primary_suppression(cube, K)
    hidden, total = _counts(cube, protected.suppressed)
    for objective, mine in (("count", hidden), ("value", total)):
        best = optimal_suppression(cube, K, primary, suppression_costs(cube, objective))
        assert best.optimal and best.suppressed is not None
        optimum = _counts(cube, best.suppressed)[0 if objective == "count" else 1]
        assert mine <= 1.1 * optimum, (objective, mine, optimum)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes(max_dims=2), st.integers(3, 12))
def test_a_grand_total_of_k_or_more_is_never_hidden_with_everything_else(cube, k) -> None:
    protected = protect(cube, k)
    top = (None,) * len(cube.dimensions)
    primary = primary_suppression(cube, k)
    counts = [m.name for m in cube.measures if m.kind == "count"]
    shown_top = [n for n in counts if (top, n) not in primary and cube.cells[top][n] >= k]
    everything = {(key, n) for key in cube.cells for n in counts}
    if shown_top:
        assert not everything <= protected.suppressed


def test_a_sparse_cube_is_not_hidden_whole() -> None:
    # The earlier search gave up on cubes of mostly small cells and hid nearly every value.
    cube = Cube.from_finest(("year", "sex", "band"), (DEN, NUM), sparse_rows(1))
    protected = protect(cube, 10)
    values = 2 * len(cube.cells)
    primary = len(primary_suppression(cube, 10))
    hidden = _counts(cube, protected.suppressed)[0]
    assert hidden <= 1.25 * primary < values
    assert protected.report.primary + protected.report.secondary == hidden
