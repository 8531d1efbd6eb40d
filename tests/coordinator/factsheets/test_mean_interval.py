"""Means of values with a 95% interval from a published sum and sum of squares."""

from __future__ import annotations

import math
import statistics

from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import t as student_t

from coordinator.factsheets.figures import mean_figure, mean_interval
from coordinator.factsheets.pages import columns, row_data
from coordinator.merge.model import MergedValue
from protocol import load_spec, measure_defs
from queries import library_paths


def _spec(name: str):
    return load_spec(next(p for p in library_paths() if p.stem == name))


@given(st.lists(st.integers(-48, 48), min_size=2, max_size=200))
def test_the_interval_from_two_sums_is_the_t_interval_of_the_values(values: list[int]) -> None:
    n = len(values)
    low, high = mean_interval(sum(values), sum(v * v for v in values), n)
    mean = statistics.fmean(values)
    half = student_t.ppf(0.975, n - 1) * statistics.stdev(values) / math.sqrt(n)
    assert math.isclose(low, mean - half, abs_tol=1e-6)
    assert math.isclose(high, mean + half, abs_tol=1e-6)


def test_one_value_has_no_interval() -> None:
    assert mean_interval(7, 49, 1) is None


def test_a_mean_of_scores_has_its_interval_and_no_days() -> None:
    figure = mean_figure(
        MergedValue(26, 26), MergedValue(2, 2), squares=MergedValue(340, 340), unit=""
    )
    assert figure["status"] == "exact" and figure["mean"] == 13.0 and figure["unit"] == ""
    low, high = mean_interval(26, 340, 2)
    assert (figure["ci_low"], figure["ci_high"]) == (round(low, 1), round(high, 1))
    days = mean_figure(MergedValue(30, 30), MergedValue(3, 3))
    assert days == {"status": "exact", "mean": 10.0}  # lengths of stay: as before


def test_a_negative_mean_change_is_shown_as_it_is() -> None:
    figure = mean_figure(
        MergedValue(-30, -30), MergedValue(10, 10), squares=MergedValue(900, 900), unit=""
    )
    assert figure["mean"] == -3.0 and figure["ci_low"] < -3.0 < figure["ci_high"]


def test_the_knee_page_shows_the_mean_change_with_its_interval() -> None:
    spec = _spec("knee_oks_change_1y")
    shape = columns(spec, measure_defs(spec))
    assert shape["figure"] == "mean" and shape["figure_label"] == "Mean change (95% CI)"
    assert (shape["top"], shape["bottom"], shape["squares"]) == (
        "change_sum",
        "pairs",
        "change_sum_squares",
    )
    assert [c["name"] for c in shape["columns"]] == ["pairs", "change_sum", "change_sum_squares"]
    values = {
        "pairs": MergedValue(40, 40),
        "change_sum": MergedValue(600, 600),
        "change_sum_squares": MergedValue(12_000, 12_000),
        "improved": MergedValue(35, 35),
    }
    row = row_data(shape, values, "All")
    assert row["figure"]["mean"] == 15.0 and row["figure"]["unit"] == ""
    assert row["figure"]["ci_low"] < 15.0 < row["figure"]["ci_high"]


def test_the_epds_page_shows_the_mean_score() -> None:
    spec = _spec("postpartum_depression_symptoms")
    shape = columns(spec, measure_defs(spec))
    assert shape["figure_label"] == "Mean (95% CI)" and shape["squares"] == "epds_sum_squares"
    los = _spec("hip_fracture_los")
    assert columns(los, measure_defs(los))["squares"] is None
