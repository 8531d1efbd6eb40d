"""`lhs demo`: the whole loop over HTTP, every page against a hand computation and an attacker.

The hand computation is tests/reference.py (pandas, written from the contract alone) run on
every demo node's extract and summed: wherever a factsheet marks a value exact, it must equal
that sum; wherever it gives an interval, the sum must lie inside it.  The independent
attacker (tests/attacker.py) reads every page and every provider's headline on the
benchmark pages, and must narrow no count of 1..k-1 below k.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from demo.world import NETWORKS, PROVIDERS
from lhs.cli import cli
from protocol import K_FLOOR, load_spec, measure_defs
from queries import library_paths
from tests.attacker import Published, narrowed
from tests.reference import load_extract, reference

SPECS = ("hospital_admission_last_30d", "hip_fracture_los")
DIMENSIONS = ("year", "sex", "age_band")
SEX = {"female": "F", "male": "M", "unknown": "U"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("demo") / "run"
    args = ["demo", "--workdir", str(workdir), "--persons", "6000"]
    for spec in SPECS:
        args += ["--spec", spec]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "factsheets:" in result.output
    # Every step says how long it took.
    assert result.output.count("poll done in ") == 3, result.output
    assert "published in " in result.output and "done in " in result.output
    return workdir


def _hand_total(workdir: Path, indicator: str, nodes: list[str] | None = None) -> pd.DataFrame:
    frames = [
        reference(load_extract(workdir / "nodes" / p.node_id / "extract"), indicator)
        for p in PROVIDERS
        if nodes is None or p.node_id in nodes
    ]
    return pd.concat(frames).groupby(list(DIMENSIONS), as_index=False).sum()


def _members(level: str, area: str) -> list[str]:
    """Return the demo's nodes in an area, from the demo's own layout."""
    areas = {
        code: {"network": code, "zorgkantoor": zk, "province": pr} for code, _, zk, pr in NETWORKS
    }
    return [p.node_id for p in PROVIDERS if level == "national" or areas[p.network][level] == area]


def _check(value: dict, expected: int) -> int:
    if value["status"] == "exact":
        assert value["value"] == expected
        return 1
    if value["status"] == "withheld":
        return 0
    high = value["high"] if value["high"] is not None else float("inf")  # null: unbounded
    assert value["low"] <= expected <= high
    return 0


def _check_breakdowns(found: dict, hand: pd.DataFrame) -> int:
    """Check every breakdown row of an indicator against the hand total; return how many exact."""
    exact = 0
    for breakdown in found["breakdowns"]:
        dim = breakdown["dimension"]
        for row in breakdown["rows"]:
            label = SEX.get(row["label"], row["label"]) if dim == "sex" else row["label"]
            part = hand[hand[dim].astype(str) == label]
            for name, value in row["counts"].items():
                exact += _check(value, int(part[name].sum()))
    return exact


def test_demo_writes_every_level_and_the_benchmark(demo: Path) -> None:
    out = demo / "factsheets"
    assert (out / "index.html").is_file()
    for level in ("national", "network", "zorgkantoor", "province", "benchmark"):
        assert list((out / level).glob("*.html")), level
        assert list((out / level).glob("*.json")), level
    for provider in PROVIDERS:
        assert (demo / "nodes" / provider.node_id / "extract" / "person.parquet").is_file()


def test_the_cycle_shows_three_periods_and_the_action_marker(demo: Path) -> None:
    out = demo / "factsheets"
    sheet = json.loads((out / "network" / "npz-groningen.json").read_text())
    found = next(i for i in sheet["indicators"] if i["id"] == "hospital_admission_last_30d")
    assert [p["scope"] for p in found["trend"]] == [2022, 2023, 2024]
    assert [a["marker"] for a in found["actions"]] == ["A1"]
    html = (out / "network" / "npz-groningen.html").read_text()
    assert 'id="hospital_admission_last_30d-trend-action-1"' in html
    assert 'data-chart="hospital_admission_last_30d-trend"' in html and 'lang="nl"' in html
    # The trend's points are the year rows of the same tables.
    years = {
        r["label"]: r["figure"]
        for b in found["breakdowns"]
        for r in b["rows"]
        if b["dimension"] == "year"
    }
    assert all(p["row"]["figure"] == years[str(p["scope"])] for p in found["trend"])
    action = json.loads((out / "actions" / "1.json").read_text())
    assert action["indicators"][0]["before"]["row"]["label"] == "2022"
    assert (out / "pdf" / "pack-umcg.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "en" / "pdf" / "network-npz-groningen.pdf").read_bytes().startswith(b"%PDF")
    index = json.loads((out / "index.json").read_text())
    assert index["cycles"][0]["periods"] == ["2022-01-01", "2023-01-01", "2024-01-01"]


def test_each_node_polled_three_times_and_logged_it(demo: Path) -> None:
    for provider in PROVIDERS:
        log = (demo / "nodes" / provider.node_id / "serve.log").read_text(encoding="utf-8")
        cycles = [line for line in log.splitlines() if "node.agent: cycle: " in line]
        assert len(cycles) == 3, log
        # The two specs, and the yearly cycle's three rounds of one of them.
        assert "5 run; 5 uploaded" in cycles[0]
        assert all("aggregation message(s) sent" in line for line in cycles[1:])


@pytest.mark.parametrize("indicator", SPECS)
def test_national_figures_equal_the_hand_computation(demo: Path, indicator: str) -> None:
    sheet = json.loads((demo / "factsheets" / "national" / "NL.json").read_text())
    found = next(i for i in sheet["indicators"] if i["id"] == indicator)
    assert found["providers"] == len(PROVIDERS)
    hand = _hand_total(demo, indicator)
    names = [c["name"] for c in found["columns"]]
    exact = 0
    for name, value in found["overall"]["counts"].items():
        exact += _check(value, int(hand[name].sum()))
    if indicator == "hospital_admission_last_30d":  # common enough that every node publishes it
        assert exact == len(names), "the national totals are exact"
    _check_breakdowns(found, hand)


@pytest.mark.parametrize("indicator", SPECS)
def test_every_area_equals_the_hand_computation_where_published(demo: Path, indicator: str) -> None:
    exact = 0
    for page in sorted((demo / "factsheets").glob("*/*.json")):
        sheet = json.loads(page.read_text())
        if sheet.get("kind") != "factsheet":
            continue
        found = next((i for i in sheet["indicators"] if i["id"] == indicator), None)
        if found is None or found["withheld"]:
            continue
        hand = _hand_total(demo, indicator, _members(sheet["level"], sheet["area"]))
        for name, value in found["overall"]["counts"].items():
            exact += _check(value, int(hand[name].sum()))
        exact += _check_breakdowns(found, hand)
        # Every member took part in the exact sums: a value is exact or withheld, never a range.
        assert not found["incomplete"], page
    assert exact > 0, "some published value is exact"


def _page_values(found: dict, dims: tuple[str, ...]) -> dict[tuple, dict[str, int | None]]:
    """Return a page's published counts by shown cell: exact values, None where withheld."""
    top = (None,) * len(dims)
    rows = [(top, found["overall"])]
    for breakdown in found["breakdowns"]:
        i = dims.index(breakdown["dimension"])
        for row in breakdown["rows"]:
            label = SEX.get(row["label"], row["label"])
            value: object = int(label) if breakdown["dimension"] == "year" else label
            rows.append(((*top[:i], value, *top[i + 1 :]), row))
    return {
        key: {
            n: v.get("value") if v["status"] == "exact" else None for n, v in row["counts"].items()
        }
        for key, row in rows
    }


@pytest.mark.parametrize("indicator", SPECS)
def test_an_attacker_with_every_page_narrows_no_small_count(demo: Path, indicator: str) -> None:
    spec = load_spec(next(p for p in library_paths() if p.stem == indicator))
    dims = tuple(spec.dimensions)
    values, groups = {}, {}
    for page in sorted((demo / "factsheets").glob("*/*.json")):
        sheet = json.loads(page.read_text())
        found = sheet.get("kind") == "factsheet" and next(
            i for i in sheet["indicators"] if i["id"] == indicator
        )
        if found and not found["withheld"]:
            group = (sheet["level"], sheet["area"])
            values[group] = _page_values(found, dims)
            groups[group] = _members(*group)
    bench = json.loads((demo / "factsheets" / "benchmark" / f"{indicator}.json").read_text())
    headlines = {
        p["node"]: {
            n: v.get("value") if v["status"] == "exact" else None for n, v in p["counts"].items()
        }
        for p in bench["providers"]
    }
    keys = list(values[("national", "NL")])
    years = [key[0] for key in keys if key[0] is not None]
    floors = [key for key in keys if key[0] in (years[0], years[-1])]
    truth = {}
    for p in PROVIDERS:
        cube = reference(load_extract(demo / "nodes" / p.node_id / "extract"), indicator)
        truth[p.node_id] = {key: _hand_cell(cube, dims, key) for key in keys}
    seen = Published(dims, keys, measure_defs(spec), groups, values, headlines, floors)
    assert narrowed(seen, truth, K_FLOOR) == []
    # The same pages with every withheld value shown would give small counts away.
    shown = {g: {key: _hand_sum(truth, groups[g], key) for key in keys} for g in groups}
    assert narrowed(
        Published(dims, keys, measure_defs(spec), groups, shown, headlines, floors), truth, K_FLOOR
    )


def _hand_cell(cube: pd.DataFrame, dims: tuple[str, ...], key: tuple) -> dict[str, int]:
    part = cube
    for dim, value in zip(dims, key, strict=True):
        if value is not None:
            part = part[part[dim].astype(str) == str(value)]
    return {c: int(part[c].sum()) for c in cube.columns if c not in dims}


def _hand_sum(truth: dict, members: list[str], key: tuple) -> dict[str, int]:
    names = truth[members[0]][key]
    return {n: sum(truth[m][key][n] for m in members) for n in names}
