"""Factsheets: HTML pages and JSON twins with the same numbers, escaped, withheld shown as such."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from coordinator.factsheets import (
    WITHHELD_BY_PROVIDER,
    factsheet_data,
    render_html,
    views,
    wilson,
    write_factsheets,
)
from coordinator.factsheets.pages import NOT_IN_AREA
from coordinator.merge.model import FEWER_THAN_3
from coordinator.merge.services import merge
from protocol import QuerySpec, parse_spec, spec_hash
from queries import library_paths

HOSTILE = "<script>alert('x')</script>"

MEMBERS: dict[str, dict[str, Any]] = {
    "n1": {"organisation": "Org <b>1</b>", "network": "A", "zorgkantoor": "ZK01", "province": "UT"},
    "n2": {"organisation": "Org 2", "network": "A", "zorgkantoor": "ZK01", "province": "UT"},
    "n3": {"organisation": "Org 3", "network": "A", "zorgkantoor": "ZK01", "province": "UT"},
    "n4": {"organisation": "Org 4", "network": "B/../x", "zorgkantoor": "ZK01", "province": "UT"},
    "n5": {"organisation": HOSTILE, "network": "B/../x", "zorgkantoor": "ZK01", "province": None},
}


def spec_with(name: str, **changes: object) -> QuerySpec:
    """Return a library spec with some fields changed."""
    path = next(p for p in library_paths() if p.stem == name)
    data = {**yaml.safe_load(path.read_text()), **changes}
    return parse_spec(yaml.safe_dump(data, sort_keys=False))


RATE = spec_with("opioid_last_90d", dimensions=["sex"], title=f"Opioids {HOSTILE}")
LOS = spec_with("hip_fracture_los", dimensions=["sex"])


def published(spec: QuerySpec, cells: Mapping[Any, tuple]) -> dict:
    """Return a node result with hand-written cells: sex -> measure values."""
    names = [m.name for m in spec.measures]
    return {
        "query": spec.id,
        "version": spec.version,
        "spec_hash": spec_hash(spec),
        "min_cell": 10,
        "scope": "cube",
        "cells": [{"sex": k, **dict(zip(names, v, strict=True))} for k, v in cells.items()],
    }


def _round(spec: QuerySpec, scale: int) -> dict[str, dict]:
    # Denominators, then numerators (times scale) per sex F, M, U and all; None = suppressed.
    nodes = {
        "n1": ((40, 50, 0, 90), (20, 25, 0, 45)),
        "n2": ((30, 20, 10, 60), (10, 14, 0, 24)),
        "n3": ((None, 30, None, 45), (None, 15, None, 20)),
        "n4": ((30, 20, 0, 50), (10, 10, 0, 20)),
        "n5": ((20, 20, 0, 40), (None, None, 0, None)),
    }
    return {
        node: published(
            spec,
            {
                sex: (den, None if num is None else num * scale)
                for sex, den, num in zip(("F", "M", "U", None), dens, nums, strict=True)
            },
        )
        for node, (dens, nums) in nodes.items()
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("factsheets")
    # The nation's table withholds its overall numerator (the joint protection's choice).
    table = {("national", "NL"): {(None,): {"denominator": 285, "numerator": None}}}
    round_set = [
        (RATE, merge(RATE, _round(RATE, 1), MEMBERS, group_tables=table)),
        (LOS, merge(LOS, _round(LOS, 6), MEMBERS)),
    ]
    names = {("network", "A"): "Netwerk <A> & co"}
    return out, write_factsheets(out, round_set, area_names=names)


class Cells(HTMLParser):
    """Collect the text of every ``data-field`` cell, by its row's ``data-row``."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self.row = self.section = ""
        self.field: str | None = None
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section":
            self.row = self.section = found.get("data-indicator") or ""
        if tag == "tr":
            self.row = found.get("data-row") or ""
        if self.field is not None:
            self.depth += 1
        elif "data-field" in found:
            self.field, self.depth = found["data-field"] or "", 0
            self.cells[(self.row, self.field)] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.row = self.section  # text between rows belongs to the indicator
        if self.field is not None:
            if self.depth == 0:
                self.field = None
            else:
                self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.field is not None:
            self.cells[(self.row, self.field)] += data


def numbers(text: str) -> list[float]:
    """Return the numbers shown in a cell's text, ignoring the 95 of "95% CI"."""
    found = re.findall(r"\d[\d,]*(?:\.\d+)?", re.sub(r"95% CI|95%-BI", "", text))
    return [float(n.replace(",", "")) for n in found]


def expected(figure: dict) -> list[float]:
    """Return the numbers a figure's JSON says the page shows, in order."""
    keys = ["value", "low", "high", "rate_pct", "ci_low_pct", "ci_high_pct"]
    keys += ["rate_low_pct", "rate_high_pct", "mean", "mean_low", "mean_high"]
    return [float(figure[k]) for k in keys if figure.get(k) is not None]


def _rows(page: dict):
    for ind in page["indicators"]:
        if ind["overall"] is not None:
            yield ind, "all", ind["overall"]
        for breakdown in ind["breakdowns"]:
            for row in breakdown["rows"]:
                yield ind, breakdown["dimension"], row


WORDS = {"en": ("withheld", "incomplete"), "nl": ("niet getoond", "onvolledig")}
"""How a page says withheld and incomplete, by language."""


def _check_row(
    cells: dict, row_id: str, columns: list[dict], row: dict, locale: str = "en"
) -> None:
    withheld, incomplete = WORDS[locale]
    for col in columns:
        figure, text = row["counts"][col["name"]], cells[(row_id, col["name"])]
        assert numbers(text) == expected(figure), (row_id, col["name"], text, figure)
        assert (withheld in text) == (figure["status"] == "withheld")
    if row["figure"] is not None:
        text = cells[(row_id, "figure")]
        assert numbers(text) == expected(row["figure"]), (row_id, text, row["figure"])
        assert (incomplete in text) == (row["figure"]["status"] == "incomplete")


def test_a_value_the_group_table_withholds_reads_withheld(site) -> None:
    out, _ = site
    page = json.loads((out / "national" / "NL.json").read_text())
    rate = next(i for i in page["indicators"] if i["id"] == RATE.id)
    overall = rate["overall"]
    assert overall["counts"]["denominator"] == {
        "status": "exact",
        "value": 285,
        "source": "group_table",
    }
    assert overall["counts"]["numerator"] == {
        "status": "withheld",
        "reason": "to protect small numbers",
    }
    assert overall["figure"] == {"status": "withheld", "reason": "to protect small numbers"}
    parser = Cells()
    parser.feed((out / "en" / "national" / "NL.html").read_text())
    row = f"{RATE.id}|all|All"
    assert parser.cells[(row, "numerator")] == "withheld: to protect small numbers"
    assert parser.cells[(row, "figure")] == "withheld: to protect small numbers"


def test_every_page_has_a_json_twin_and_the_index_links_them_all(site) -> None:
    out, paths = site
    assert all(p.exists() for p in paths)
    htmls = {p for p in paths if p.suffix == ".html"}
    assert {p.with_suffix(".json") for p in htmls} == {p for p in paths if p.suffix == ".json"}
    for folder in (out, out / "en"):  # Dutch, and the English copy under en/
        index = (folder / "index.html").read_text()
        linked = {(folder / href).resolve() for href in re.findall(r'href="([^"#]+)"', index)}
        pages = {p.resolve() for p in paths if p.parent.is_relative_to(folder)}
        pages -= {p.resolve() for p in paths if folder == out and p.is_relative_to(out / "en")}
        assert pages - {(folder / "index.html").resolve()} <= linked
    assert all(p.resolve().is_relative_to(out.resolve()) for p in paths)  # "B/../x" stays inside
    assert (out / "network" / "B-x.html").exists()


def test_html_shows_exactly_the_numbers_of_its_json_twin(site) -> None:
    _, paths = site
    pages = [p for p in paths if p.suffix == ".html" and p.name != "index.html"]
    checked = 0
    for html in pages:
        locale = "en" if "en" in html.parts else "nl"
        page = json.loads(html.with_suffix(".json").read_text())
        parser = Cells()
        parser.feed(html.read_text())
        if page["kind"] == "factsheet":
            for ind, section, row in _rows(page):
                row_id = f"{ind['id']}|{section}|{row['label']}"
                _check_row(parser.cells, row_id, ind["columns"], row, locale)
                checked += 1
            for ind in page["indicators"]:
                assert parser.cells[(ind["id"], "providers")] == str(ind["providers"])
        else:
            for row in page["providers"]:
                row_id = f"{page['id']}|provider|{row['node']}"
                _check_row(parser.cells, row_id, page["columns"], row, locale)
                position = parser.cells[(row_id, "position")]
                assert numbers(position)[:1] == ([row["position"]] if row["position"] else [])
                checked += 1
    assert checked > 30


def test_intervals_are_ranges_marked_incomplete(site) -> None:
    out, _ = site
    page = json.loads((out / "national" / "NL.json").read_text())
    rate = page["indicators"][0]
    female = rate["breakdowns"][0]["rows"][0]
    assert female["label"] == "female"
    # n3 hides F and U (15 people, 5 with an opioid); n5 hides every numerator.
    assert female["counts"]["denominator"] == {
        "status": "incomplete",
        "low": 120,
        "high": 135,
        "suppressed_at": 1,
    }
    assert female["figure"]["status"] == "incomplete"
    assert rate["incomplete"] is True
    html = (out / "en" / "national" / "NL.html").read_text()
    assert "120–135" in html and "Incomplete: a range means" in html
    los = page["indicators"][1]
    assert los["figure"] == "mean" and los["figure_label"] == "Mean length of stay (days)"
    assert [c["name"] for c in los["columns"]] == ["admissions", "los_days_sum"]


def test_exact_rates_carry_a_wilson_interval(site) -> None:
    out, _ = site
    page = json.loads((out / "network" / "A.json").read_text())
    assert page["area_name"] == "Netwerk <A> & co"
    male = page["indicators"][0]["breakdowns"][0]["rows"][1]
    assert male["label"] == "male"
    # n1, n2 and n3 all published M: 25 + 14 + 15 of 50 + 20 + 30.
    assert male["counts"]["numerator"] == {"status": "exact", "value": 54, "source": "nodes"}
    low, high = wilson(54, 100)
    assert male["figure"] == {
        "status": "exact",
        "rate_pct": 54.0,
        "ci_low_pct": round(100 * low, 1),
        "ci_high_pct": round(100 * high, 1),
    }
    html = (out / "en" / "network" / "A.html").read_text()
    assert '54.0% <span class="ci">(95% CI 44.3%–63.4%)</span>' in html
    low, high = wilson(10, 100)
    assert (round(low, 4), round(high, 4)) == (0.0552, 0.1744)


def test_groups_with_fewer_than_3_providers_say_withheld_not_zero(site) -> None:
    out, _ = site
    page = json.loads((out / "network" / "B-x.json").read_text())
    for ind in page["indicators"]:
        assert ind["withheld"] == FEWER_THAN_3 and ind["overall"] is None
        assert ind["providers"] == 2
    html = (out / "en" / "network" / "B-x.html").read_text()
    assert html.count(f"Withheld: {FEWER_THAN_3}.") == 2
    assert "data-row" not in html


def test_benchmark_ranks_published_providers_and_withholds_the_rest(site) -> None:
    out, _ = site
    page = json.loads((out / "benchmark" / "opioid_last_90d.json").read_text())
    by_node = {r["node"]: r for r in page["providers"]}
    assert by_node["n5"]["position"] is None
    assert by_node["n5"]["figure"] == {"status": "withheld", "reason": WITHHELD_BY_PROVIDER}
    assert by_node["n5"]["counts"]["denominator"]["value"] == 40
    # n2 24/60 = n4 20/50 = 40%, then n3 20/45, n1 45/90 = 50%: lowest first, ties shared.
    assert [r["node"] for r in page["providers"]] == ["n2", "n4", "n3", "n1", "n5"]
    assert [r["position"] for r in page["providers"]] == [1, 1, 3, 4, None]
    assert page["ranked"] == 4
    html = (out / "en" / "benchmark" / "opioid_last_90d.html").read_text()
    parser = Cells()
    parser.feed(html)
    withheld = parser.cells[("opioid_last_90d|provider|n5", "figure")]
    assert "withheld" in withheld and not re.search(r"\d", withheld)
    assert 'id="node-n1"' in html


def test_benchmark_ties_share_a_position(site) -> None:
    out, _ = site
    page = json.loads((out / "benchmark" / "hip_fracture_los.json").read_text())
    # LOS sums are 6x the numerators above: n2 144/60 = n4 120/50 = 2.4 days.
    means = [(r["node"], r["figure"].get("mean"), r["position"]) for r in page["providers"]]
    assert means[:3] == [("n2", 2.4, 1), ("n4", 2.4, 1), ("n3", 2.7, 3)]
    assert page["figure_label"] == "Mean length of stay (days)"


def test_text_from_people_is_escaped_and_pages_are_self_contained(site) -> None:
    out, paths = site
    for html in (p for p in paths if p.suffix == ".html"):
        text = html.read_text()
        assert HOSTILE not in text and "<b>" not in text
        assert not re.search(r"<(script|link|img|iframe)\b|src=|https?://", text)
        assert "<style>" in text
    assert "&lt;script&gt;" in (out / "national" / "NL.html").read_text()
    assert "Netwerk &lt;A&gt; &amp; co" in (out / "index.html").read_text()
    assert "&lt;script&gt;" in (out / "benchmark" / "opioid_last_90d.html").read_text()


def test_unbounded_ranges_and_areas_without_answers() -> None:
    results = _round(RATE, 1)
    results["n4"] = published(RATE, dict.fromkeys(("F", "M", "U", None), (None, None)))
    moved = {node: {**m, "zorgkantoor": "ZK09"} for node, m in MEMBERS.items()}
    round_set = [(RATE, merge(RATE, results, MEMBERS)), (LOS, merge(LOS, _round(LOS, 6), moved))]
    page = factsheet_data("zorgkantoor", "ZK01", round_set)
    rate, los = page["indicators"]
    assert los["withheld"] == NOT_IN_AREA and los["providers"] == 0
    total = rate["overall"]["counts"]["denominator"]
    assert total == {"status": "incomplete", "low": 235, "high": None, "suppressed_at": 1}
    parser = Cells()
    parser.feed(render_html(page, locale="en"))
    text = parser.cells[(f"{RATE.id}|all|All", "denominator")]
    assert text == "at least 235"
    assert f"Withheld: {NOT_IN_AREA}." in render_html(page, locale="en")
    assert "Niet getoond: geen zorgaanbieder in dit gebied" in render_html(page)


def test_the_blueprint_serves_pages_and_twins_and_nothing_else(site) -> None:
    out, _ = site
    app = Flask(__name__)
    app.config["LHS_FACTSHEETS_DIR"] = str(out)
    app.register_blueprint(views.bp)
    client = app.test_client()
    index = client.get("/factsheets/")
    assert index.status_code == 200 and b"national/NL.html" in index.data
    assert "default-src 'none'" in index.headers["Content-Security-Policy"]
    twin = client.get("/factsheets/national/NL.json")
    assert twin.status_code == 200 and twin.get_json()["area"] == "NL"
    assert client.get("/factsheets/../factsheets/index.html").status_code == 404
    assert client.get("/factsheets/national/%2e%2e/%2e%2e/etc/passwd.json").status_code == 404
    assert client.get("/factsheets/national/NL.txt").status_code == 404


def test_the_coordinator_app_mounts_the_blueprint(app: Flask, tmp_path: Path) -> None:
    assert "/api/v1/factsheets/<path:path>" in {r.rule for r in app.url_map.iter_rules()}
    app.config["LHS_FACTSHEETS_DIR"] = str(tmp_path)
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>")
    client = app.test_client()
    assert client.get("/api/v1/factsheets/").status_code == 200
    missing = client.get("/api/v1/factsheets/national/NL.json")
    assert missing.status_code == 404 and missing.get_json()["status"] == 404
