"""The figures a factsheet shows, as plain JSON-ready dicts: counts, rates, means.

Every figure carries a ``status``: ``exact``, ``incomplete`` (a range, because a
provider the group table does not sum withheld small numbers), ``withheld`` (with a
``reason``: too few providers, or the group table's protection) or ``no_cases``.  The
HTML page and its JSON twin are rendered from the very same dicts, so they cannot
disagree.  Rounded numbers are rounded here, once.
"""

from __future__ import annotations

import math
from typing import Any

from scipy.stats import t as student_t

from coordinator.merge.model import SMALL_NUMBERS, MergedValue

__all__ = [
    "Z95",
    "count_figure",
    "mean_figure",
    "mean_interval",
    "rate_figure",
    "wilson",
    "withheld",
]

Z95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95% interval."""

Figure = dict[str, Any]


def withheld(reason: str) -> Figure:
    """Return a withheld figure with its reason."""
    return {"status": "withheld", "reason": reason}


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Return the Wilson score interval of a proportion (trials must be positive)."""
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(total: int, squares: int, count: int) -> tuple[float, float] | None:
    """Return the 95% t interval of a mean from the sum, the sum of squares and the number of
    values (None for fewer than two values)."""
    if count < 2:
        return None
    mean = total / count
    # The sample variance from the two sums; never below 0 (rounding of a constant sample).
    variance = max(0.0, (squares - total * total / count) / (count - 1))
    half = float(student_t.ppf(0.975, count - 1)) * math.sqrt(variance / count)
    return mean - half, mean + half


def _pct(fraction: float) -> float:
    return round(100 * fraction, 1)


def _down(value: float) -> float:
    # Range ends are rounded outwards, so the shown range still holds the truth.
    return math.floor(value * 10 + 1e-9) / 10


def _up(value: float) -> float:
    return math.ceil(value * 10 - 1e-9) / 10


def _ratio_range(top: MergedValue, bottom: MergedValue) -> tuple[float, float]:
    """Return the lowest and highest top / bottom over both intervals (inf: no cap)."""
    lowest = 0.0 if math.isinf(bottom.high) or bottom.high == 0 else top.low / bottom.high
    highest = math.inf
    if bottom.low > 0:
        highest = top.high / bottom.low
    elif top.high == 0:
        highest = 0.0
    return lowest, highest


def _hidden(*values: MergedValue | None) -> bool:
    return any(v is not None and v.source == "withheld" for v in values)


def count_figure(value: MergedValue | None, reason: str = "") -> Figure:
    """Return a count: exact, or the range the providers' publications allow."""
    if value is None:
        return withheld(reason)
    if _hidden(value):
        return withheld(SMALL_NUMBERS)
    if value.exact:
        return {"status": "exact", "value": value.low, "source": value.source}
    return {
        "status": "incomplete",
        "low": value.low,
        "high": None if math.isinf(value.high) else int(value.high),
        "suppressed_at": value.suppressed_at,
    }


def rate_figure(
    numerator: MergedValue | None, denominator: MergedValue | None, reason: str = ""
) -> Figure:
    """Return a rate in percent: with its 95% Wilson interval when exact, else a range."""
    if numerator is None or denominator is None:
        return withheld(reason)
    if _hidden(numerator, denominator):
        return withheld(SMALL_NUMBERS)
    if numerator.exact and denominator.exact:
        if denominator.low == 0:
            return {"status": "no_cases"}
        low, high = wilson(numerator.low, denominator.low)
        return {
            "status": "exact",
            "rate_pct": _pct(numerator.low / denominator.low),
            "ci_low_pct": _pct(low),
            "ci_high_pct": _pct(high),
        }
    # numerator <= denominator at every node, hence in every sum: the rate stays in [0, 1].
    lowest, highest = _ratio_range(numerator, denominator)
    return {
        "status": "incomplete",
        "rate_low_pct": _down(100 * min(lowest, 1.0)),
        "rate_high_pct": _up(100 * min(highest, 1.0)),
        "suppressed_at": max(numerator.suppressed_at, denominator.suppressed_at),
    }


def mean_figure(
    total: MergedValue | None,
    count: MergedValue | None,
    reason: str = "",
    squares: MergedValue | None = None,
    unit: str = "days",
) -> Figure:
    """Return a mean per unit (e.g. days of stay per admission): exact, or a range.

    With ``squares`` (the sum of the squared values, published like the sum) an exact mean
    has its 95% t interval; a mean that is not in days says so with ``unit``.
    """
    if total is None or count is None:
        return withheld(reason)
    if _hidden(total, count):
        return withheld(SMALL_NUMBERS)
    about = {} if unit == "days" else {"unit": unit}
    if total.exact and count.exact:
        if count.low == 0:
            return {"status": "no_cases"}
        out: Figure = {"status": "exact", "mean": round(total.low / count.low, 1), **about}
        if squares is not None and squares.exact and squares.source != "withheld":
            interval = mean_interval(total.low, squares.low, count.low)
            if interval is not None:
                out["ci_low"], out["ci_high"] = round(interval[0], 1), round(interval[1], 1)
        return out
    lowest, highest = _ratio_range(total, count)
    return {
        "status": "incomplete",
        "mean_low": _down(lowest),
        "mean_high": None if math.isinf(highest) else _up(highest),
        "suppressed_at": max(total.suppressed_at, count.suppressed_at),
        **about,
    }
