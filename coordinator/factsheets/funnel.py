"""Funnel plots of a benchmark: each provider's rate against its volume, with control limits.

The limits are exact binomial quantiles around the national proportion p (Spiegelhalter,
"Funnel plots for comparing institutional performance", Stat Med 2005): for volume n, the
95% limits are ``binom.ppf(0.025, n, p) / n`` and ``binom.ppf(0.975, n, p) / n``, the 99.8%
limits the same at 0.001 and 0.999.  No interpolation is applied: the limits are the exact
quantiles at each whole volume, so the drawn curves step where the quantile steps
(Spiegelhalter's interpolation would smooth those steps; at the volumes of a benchmark they
are a fraction of a percentage point).  A provider lies outside a limit when its count of
events lies beyond that quantile.

Only figures the providers published themselves appear (the benchmark's rows); a provider
whose rate it withheld is listed as not plotted, never given a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import binom

from .messages import N_

__all__ = ["LIMITS", "POSITIONS", "control_limits", "funnel_data", "limit_curves"]

LIMITS = {"95": (0.025, 0.975), "99.8": (0.001, 0.999)}
"""The two funnels: their name and their lower and upper tail quantiles."""


def control_limits(p: float, volume: int) -> dict[str, float]:
    """Return the four exact binomial limits, as proportions, around ``p`` at one volume."""
    out = {}
    for name, (low, high) in LIMITS.items():
        out[f"lower_{name}"] = float(binom.ppf(low, volume, p)) / volume
        out[f"upper_{name}"] = float(binom.ppf(high, volume, p)) / volume
    return out


def limit_curves(p: float, volumes: Sequence[int]) -> dict[str, np.ndarray]:
    """Return each limit (as a proportion) at every volume given, for drawing the funnel."""
    n = np.asarray(volumes, dtype=float)
    out = {}
    for name, (low, high) in LIMITS.items():
        out[f"lower_{name}"] = binom.ppf(low, n, p) / n
        out[f"upper_{name}"] = binom.ppf(high, n, p) / n
    return out


def _pct(proportion: float) -> float:
    return round(100 * proportion, 2)


POSITIONS = {
    "above_99.8": N_("above the 99.8% limit"),
    "above_95": N_("above the 95% limit"),
    "within": N_("within the 95% limits"),
    "below_95": N_("below the 95% limit"),
    "below_99.8": N_("below the 99.8% limit"),
}


def _position(events: int, volume: int, p: float) -> str:
    """Return where a count of events lies among the limits at its volume."""
    for name in ("99.8", "95"):
        low, high = LIMITS[name]
        if events > binom.ppf(high, volume, p):
            return f"above_{name}"
        if events < binom.ppf(low, volume, p):
            return f"below_{name}"
    return "within"


def _exact(counts: Mapping[str, Any], name: str) -> int | None:
    figure = counts.get(name) or {}
    return int(figure["value"]) if figure.get("status") == "exact" else None


def funnel_data(page: Mapping[str, Any]) -> dict[str, Any]:
    """Return the funnel plot of a rate benchmark page: national rate, points and limits."""
    if page["figure"] != "rate":
        return {"status": "not_applicable", "reason": N_("only rates have a funnel plot")}
    top, bottom = page["top"], page["bottom"]
    national = page["national"]["counts"]
    events, volume = _exact(national, top), _exact(national, bottom)
    if events is None or volume is None or volume == 0:
        return {"status": "withheld", "reason": N_("the national rate is not published exactly")}
    p = events / volume
    points, left_out = [], []
    for row in page["providers"]:
        x, n = _exact(row["counts"], top), _exact(row["counts"], bottom)
        who = {"node": row["node"], "organisation": row["organisation"]}
        if x is None or n is None or n == 0:
            left_out.append({**who, "reason": N_("withheld by the provider: not plotted")})
            continue
        limits = {k: _pct(v) for k, v in control_limits(p, n).items()}
        points.append(
            {
                **who,
                "volume": n,
                "events": x,
                "rate_pct": row["figure"]["rate_pct"],
                "limits_pct": limits,
                "position": (at := _position(x, n, p)),
                "position_label": POSITIONS[at],
            }
        )
    return {
        "status": "exact",
        "national": {"events": events, "volume": volume, "rate_pct": _pct(p)},
        "points": points,
        "not_plotted": left_out,
    }
