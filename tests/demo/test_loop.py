"""`lhs demo`: the whole loop over HTTP, and its national figures equal a hand computation.

The hand computation is tests/reference.py (pandas, written from the contract alone) run on
every demo node's extract and summed: wherever the national factsheet marks a value exact,
it must equal that sum; wherever it gives an interval, the sum must lie inside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from demo.loop import NETWORKS, PROVIDERS
from lhs.cli import cli
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
    # Breakdowns: exact where every node published the margin, else an interval around it.
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
    assert exact > 0, "some published value is exact"
