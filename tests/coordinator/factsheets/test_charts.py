"""Charts: every number drawn is a number of the JSON twin, and the funnel's limits are
scipy's exact binomial quantiles; trends across a cycle's rounds with an action marker."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import binom

from coordinator.factsheets import charts, wilson, write_factsheets
from coordinator.factsheets.funnel import control_limits, funnel_data, limit_curves
from coordinator.factsheets.render import chart_figures
from coordinator.factsheets.trends import SeriesRound, midpoint
from coordinator.merge.services import merge
from protocol import QuerySpec, spec_hash
from tests.coordinator.factsheets.test_factsheets import MEMBERS, spec_with

RATE = spec_with("hospital_admission_last_30d", dimensions=["year"])
YEARS = (2022, 2023, 2024)
ACTION = {
    "id": 1,
    "node": None,
    "level": "network",
    "area": "A",
    "query": None,
    "date": "2023-01-01",
    "text": "Advance care planning",
}


NUMBERS = ("rate_pct", "ci_low_pct", "ci_high_pct", "rate_low_pct", "rate_high_pct")
"""The numbers of a rate figure, in the order a page shows them."""


def _national(results: dict[str, dict], shift: int) -> dict:
    """Return the nation's exact table (as secure aggregation gives it) of one round."""
    exact = _result(RATE, shift, suppress=False)
    table: dict = {}
    for result in exact.values():
        for cell in result["cells"]:
            sums = table.setdefault((cell["year"],), {"denominator": 0, "numerator": 0})
            sums["denominator"] += cell["denominator"]
            sums["numerator"] += cell["numerator"]
    return {("national", "NL"): table}


def _result(spec: QuerySpec, shift: int, suppress: bool = True) -> dict[str, dict]:
    """Return every node's result: per year (denominator, numerator); n3 suppresses 2023
    and its total, so its network's 2023 is a range."""
    out = {}
    for i, node in enumerate(MEMBERS, 1):
        cells = []
        for j, year in enumerate((*YEARS, None)):
            den = 40 + 10 * i + 5 * j if year else sum(40 + 10 * i + 5 * k for k in range(3))
            num = den // (2 + (i + j + shift) % 3) if year else None
            cells.append({"year": year, "denominator": den, "numerator": num})
        cells[-1]["numerator"] = sum(c["numerator"] for c in cells[:-1])
        if node == "n3" and suppress:
            cells[1]["numerator"] = cells[-1]["numerator"] = None
        out[node] = {
            "query": spec.id,
            "version": spec.version,
            "spec_hash": spec_hash(spec),
            "min_cell": 10,
            "scope": "cube",
            "cells": cells,
        }
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Factsheets of a yearly cycle of three rounds, with a network's action."""
    out = tmp_path_factory.mktemp("charts")
    merged = []
    for shift in range(3):
        results = _result(RATE, shift)
        merged.append(merge(RATE, results, MEMBERS, group_tables=_national(results, shift)))
    series = {
        RATE.id: [
            SeriesRound("yearly", date(y, 1, 1), date(y, 12, 31), 10 + i, RATE, m)
            for i, (y, m) in enumerate(zip(YEARS, merged, strict=True))
        ]
    }
    write_factsheets(out, [(RATE, merged[-1])], series=series, actions=[ACTION])
    return out


def _drawn(svg: str, gid: str) -> list[tuple[float, float]]:
    """Return the SVG positions of the markers of one drawn element."""
    found = re.search(rf'<g id="{re.escape(gid)}">(.*?)</g>', svg, re.S)
    if found is None:
        return []
    uses = re.findall(r'<use [^>]*x="([-\d.]+)" y="([-\d.]+)"', found.group(1))
    return [(float(x), float(y)) for x, y in uses]


def _where(fig: Any, x: Any, y: float) -> tuple[float, float]:
    """Return where a data point lands in the SVG of a figure (SVG is drawn at 72 dpi)."""
    fig.set_dpi(72)
    ax = fig.axes[0]
    xs = ax.convert_xunits(x)
    px, py = ax.transData.transform((xs, y))
    return px, fig.bbox.height - py


def _charts(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'<div class="chart" data-chart="([^"]+)">\s*(<svg.*?</svg>)', html, re.S)
    )


def _check_points(page: dict, html: str, name: str, xs: list, values: list[float]) -> None:
    """The chart on the page draws exactly these values at these x, nothing else."""
    svg = _charts(html)[name]
    fig = chart_figures(page)[name]
    charts.to_svg(fig, name)  # draws it, fixing its axes as on the page
    drawn = _drawn(svg, f"{name}-points")
    assert len(drawn) == len(values), (name, drawn, values)
    for (sx, sy), x, v in zip(drawn, xs, values, strict=True):
        ex, ey = _where(fig, x, v)
        assert abs(sx - ex) < 0.01 and abs(sy - ey) < 0.01, (name, x, v)


def test_funnel_limits_are_scipys_exact_binomial_quantiles() -> None:
    for p in (0.053, 0.32, 0.61):
        for n in (10, 57, 211, 1500):
            limits = control_limits(p, n)
            assert limits["lower_95"] == binom.ppf(0.025, n, p) / n
            assert limits["upper_95"] == binom.ppf(0.975, n, p) / n
            assert limits["lower_99.8"] == binom.ppf(0.001, n, p) / n
            assert limits["upper_99.8"] == binom.ppf(0.999, n, p) / n
            assert limits["lower_99.8"] <= limits["lower_95"] <= p <= limits["upper_95"]
    volumes = np.arange(1, 400)
    curves = limit_curves(0.32, volumes)
    assert np.array_equal(curves["upper_99.8"], binom.ppf(0.999, volumes, 0.32) / volumes)


def _benchmark_page() -> dict[str, Any]:
    def row(node: str, num: int | None, den: int) -> dict[str, Any]:
        counts = {
            "numerator": {"status": "withheld"}
            if num is None
            else {"status": "exact", "value": num},
            "denominator": {"status": "exact", "value": den},
        }
        figure = {"status": "withheld"} if num is None else {"rate_pct": round(100 * num / den, 1)}
        return {"node": node, "organisation": node.upper(), "counts": counts, "figure": figure}

    national = row("nl", 400, 1000)
    providers = [row("a", 40, 100), row("b", 80, 150), row("c", 55, 300), row("d", None, 80)]
    return {
        "kind": "benchmark",
        "figure": "rate",
        "top": "numerator",
        "bottom": "denominator",
        "national": national,
        "providers": providers,
    }


def test_funnel_points_are_published_figures_and_a_withheld_one_is_not_plotted() -> None:
    page = _benchmark_page()
    funnel = funnel_data(page)
    assert [p["node"] for p in funnel["points"]] == ["a", "b", "c"]
    assert funnel["not_plotted"] == [
        {"node": "d", "organisation": "D", "reason": "withheld by the provider: not plotted"}
    ]
    at = {p["node"]: p for p in funnel["points"]}
    assert at["a"]["position"] == "within"
    # 80 of 150 (53%) lies above 0.4's 99.8% limit at 150; 55 of 300 (18%) below it.
    assert binom.ppf(0.999, 150, 0.4) < 80 and at["b"]["position"] == "above_99.8"
    assert binom.ppf(0.001, 300, 0.4) > 55 and at["c"]["position"] == "below_99.8"
    assert at["c"]["limits_pct"]["lower_95"] == round(100 * binom.ppf(0.025, 300, 0.4) / 300, 2)
    page["national"]["counts"]["numerator"] = {"status": "withheld"}
    assert funnel_data(page)["status"] == "withheld"


def test_the_funnel_draws_the_twins_points_and_scipys_limits(tmp_path: Path) -> None:
    page = _benchmark_page()
    page["funnel"] = funnel_data(page)
    fig = chart_figures(page)["funnel"]
    svg = charts.to_svg(fig, "funnel")
    points = page["funnel"]["points"]
    drawn = _drawn(svg, "funnel-points")
    assert len(drawn) == 3
    for (sx, sy), p in zip(drawn, points, strict=True):
        ex, ey = _where(fig, p["volume"], p["rate_pct"])
        assert abs(sx - ex) < 0.01 and abs(sy - ey) < 0.01
    lines = {line.get_gid(): line for line in fig.axes[0].get_lines()}
    upper = lines["funnel-upper-95"]
    n = upper.get_xdata()
    assert np.allclose(upper.get_ydata(), 100 * binom.ppf(0.975, n, 0.4) / n)


def test_trend_and_year_charts_draw_the_twins_numbers(site: Path) -> None:
    checked = 0
    for html_path in [*site.glob("*/*.html"), *site.glob("en/*/*.html")]:
        page = json.loads(html_path.with_suffix(".json").read_text())
        html = html_path.read_text()
        for ind in page.get("indicators", []):
            if ind.get("trend"):
                exact = [p for p in ind["trend"] if p["row"]["figure"]["status"] == "exact"]
                xs = [midpoint(p) for p in exact]
                values = [p["row"]["figure"]["rate_pct"] for p in exact]
                _check_points(page, html, f"{ind['id']}-trend", xs, values)
                cells = re.findall(
                    r'<tr data-point="\d+">.*?data-field="figure">(.*?)</td>', html, re.S
                )
                shown = [re.findall(r"\d+\.\d", c) for c in cells[: len(ind["trend"])]]
                twin = [
                    [str(f[k]) for k in NUMBERS if k in f]
                    for f in (p["row"]["figure"] for p in ind["trend"])
                ]
                assert shown == twin
                checked += 1
            years = [b for b in ind.get("breakdowns", []) if b["dimension"] == "year"]
            if years:
                exact = [r for r in years[0]["rows"] if r["figure"]["status"] == "exact"]
                xs = [int(r["label"]) for r in exact]
                values = [r["figure"]["rate_pct"] for r in exact]
                _check_points(page, html, f"{ind['id']}-year", xs, values)
                checked += 1
    assert checked >= 10


def test_a_withheld_point_is_a_gap_and_a_range_a_bar(site: Path) -> None:
    page = json.loads((site / "network" / "A.json").read_text())
    (ind,) = page["indicators"]
    statuses = [p["row"]["figure"]["status"] for p in ind["trend"]]
    assert statuses == ["exact", "incomplete", "exact"]  # n3 withheld its 2023 count
    fig = chart_figures(page)[f"{ind['id']}-trend"]
    line = next(x for x in fig.axes[0].get_lines() if x.get_gid().endswith("-line"))
    assert np.isnan(line.get_ydata()[1])  # no invented value
    bars = [c for c in fig.axes[0].collections if c.get_gid().endswith("-ranges")]
    (segment,) = bars[0].get_segments()
    figure = ind["trend"][1]["row"]["figure"]
    assert list(segment[:, 1]) == [figure["rate_low_pct"], figure["rate_high_pct"]]


def test_the_action_is_a_marker_and_its_page_compares_before_and_after(site: Path) -> None:
    page = json.loads((site / "network" / "A.json").read_text())
    (ind,) = page["indicators"]
    assert [a["marker"] for a in ind["actions"]] == ["A1"]
    html = (site / "network" / "A.html").read_text()
    assert 'id="hospital_admission_last_30d-trend-action-1"' in html
    assert "Advance care planning" in html and "actions/1.html" in html
    action = json.loads((site / "actions" / "1.json").read_text())
    (compared,) = action["indicators"]
    before, after = compared["before"], compared["after"]
    assert before["periods"] == ["2022"]
    # 2023 is a range (a provider withheld small numbers): left out, and said so.
    assert after["periods"] == ["2024"] and after["left_out"] == ["2023"]
    point = compared["trend"][0]["row"]["counts"]
    num, den = point["numerator"]["value"], point["denominator"]["value"]
    low, high = wilson(num, den)
    assert before["row"]["figure"]["ci_low_pct"] == round(100 * low, 1)
    assert before["row"]["figure"]["ci_high_pct"] == round(100 * high, 1)
    assert "Voor en na een verbeteractie" in (site / "actions" / "1.html").read_text()


def test_pages_are_dutch_with_an_english_copy_and_the_same_every_time(
    site: Path, tmp_path: Path
) -> None:
    dutch = (site / "network" / "A.html").read_text()
    english = (site / "en" / "network" / "A.html").read_text()
    assert '<html lang="nl">' in dutch and "Netwerk palliatieve zorg A" in dutch
    assert '<html lang="en">' in english and "Palliative care network A" in english
    assert 'href="../en/network/A.html"' in dutch and 'href="../../network/A.html"' in english
    assert _charts(dutch) == _charts(english)  # charts carry no words
    assert "Date" not in dutch and "matplotlib.org" not in dutch
