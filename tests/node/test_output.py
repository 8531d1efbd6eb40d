"""Rendering protected results: JSON with nulls, CSV in long form, a table people can read.

The results are built by hand (a cube and a chosen suppression pattern), so these
tests exercise the rendering alone, whatever disclosure control would decide.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from demo.synth import generate
from node.output import render
from node.runner import QueryResult
from protocol import (
    Cube,
    ProtectedCube,
    SuppressionReport,
    load_spec,
    measure_defs,
    parse_spec,
    spec_hash,
)
from queries import library_paths

SPECS = {p.stem: load_spec(p) for p in library_paths()}
REPO = Path(__file__).resolve().parents[2]

FINEST = [  # year, sex, age_band, denominator, numerator
    (2020, "F", "75-84", 40, 12),
    (2020, "M", "75-84", 25, 3),  # numerator below k: suppressed
    (2021, "F", "75-84", 0, 0),  # an empty cell: published zeros, no rate
    (2021, "M", "75-84", 30, 30),  # complement 0: published
]
HIDDEN = {  # primary, and a partner in the same year so the 2020 margin does not reveal it
    ((2020, "M", "75-84"), "numerator"),
    ((2020, "F", "75-84"), "numerator"),
}


def _result(spec_id: str, rows: list[dict], hidden: set, domains: dict | None = None):
    spec = SPECS[spec_id]
    cube = Cube.from_finest(spec.dimensions, measure_defs(spec), rows, domains)
    primary = min(1, len(hidden))  # the report's counts, as the table's summary shows them
    report = SuppressionReport(
        k=10,
        values=len(cube.cells) * len(cube.measures),
        primary=primary,
        secondary=len(hidden) - primary,
        by_reason={"count below k": primary, "secondary": len(hidden) - primary},
        audit_lps=0,
    )
    protected = ProtectedCube(cube, 10, frozenset(hidden), report)
    return QueryResult(spec, spec_hash(spec), protected)


@pytest.fixture
def opioid() -> QueryResult:
    rows = [
        {"year": y, "sex": s, "age_band": a, "denominator": d, "numerator": n}
        for y, s, a, d, n in FINEST
    ]
    return _result("opioid_last_90d", rows, HIDDEN)


@pytest.fixture
def los() -> QueryResult:
    rows = [
        {"year": 2022, "sex": "F", "age_band": "85+", "admissions": 14, "los_days_sum": 131},
        {"year": 2022, "sex": "M", "age_band": "85+", "admissions": 4, "los_days_sum": 29},
    ]
    hidden = {
        (key, name)
        for key in [(2022, "M", "85+"), (2022, "F", "85+")]
        for name in ("admissions", "los_days_sum")
    }
    return _result("hip_fracture_los", rows, hidden)


def test_json_one_result_keeps_nulls_and_every_cell(opioid: QueryResult) -> None:
    text = render([opioid], "json")
    payload = json.loads(text)
    assert list(payload) == ["query", "version", "spec_hash", "min_cell", "scope", "cells"]
    assert payload["scope"] == "cube"
    assert payload["query"] == "opioid_last_90d" and payload["version"] == 1
    assert payload["spec_hash"] == spec_hash(SPECS["opioid_last_90d"])
    assert payload["min_cell"] == 10
    cells = {(c["year"], c["sex"], c["age_band"]): c for c in payload["cells"]}
    assert len(cells) == len(payload["cells"]) == len(opioid.protected.cube.cells)
    # Suppressed values are null, never 0 and never left out.
    assert cells[(2020, "M", "75-84")] == {
        "year": 2020,
        "sex": "M",
        "age_band": "75-84",
        "denominator": 25,
        "numerator": None,
    }
    assert cells[(2020, "F", "75-84")]["numerator"] is None
    assert cells[(2021, "F", "75-84")] == {
        "year": 2021,
        "sex": "F",
        "age_band": "75-84",
        "denominator": 0,
        "numerator": 0,
    }
    # Rolled-up dimensions are null too: the grand total is there.
    assert cells[(None, None, None)]["denominator"] == 95
    assert cells[(None, None, None)]["numerator"] == 45
    assert '"numerator": null' in text and "NaN" not in text
    nulls = sum(v is None for c in payload["cells"] for v in (c["denominator"], c["numerator"]))
    assert nulls == len(HIDDEN)


def test_json_several_results_keyed_by_query(opioid: QueryResult, los: QueryResult) -> None:
    payload = json.loads(render([opioid, los], "json"))
    assert list(payload) == ["opioid_last_90d", "hip_fracture_los"]
    assert payload["hip_fracture_los"]["cells"][0]["admissions"] is None
    assert payload["opioid_last_90d"] == json.loads(render([opioid], "json"))


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_is_long_form_with_one_row_per_value(opioid: QueryResult, los: QueryResult) -> None:
    text = render([opioid, los], "csv")
    header = text.splitlines()[0]
    assert header == "query,version,min_cell,year,sex,age_band,measure,value,suppressed"
    rows = _csv_rows(text)
    cells = len(opioid.protected.cube.cells) * 2 + len(los.protected.cube.cells) * 2
    assert len(rows) == cells
    for row in rows:
        assert row["version"] == "1" and row["min_cell"] == "10"
        if row["suppressed"] == "yes":
            assert row["value"] == ""  # empty, never 0
        else:
            assert row["suppressed"] == "no" and row["value"].isdigit()
    # The CSV says exactly what the JSON says.
    for result in (opioid, los):
        expected = {}
        for cell in result.to_dict()["cells"]:
            key = tuple(
                "" if cell[d] is None else str(cell[d]) for d in ("year", "sex", "age_band")
            )
            for m in result.spec.measures:
                expected[(*key, m.name)] = "" if cell[m.name] is None else str(cell[m.name])
        got = {
            (r["year"], r["sex"], r["age_band"], r["measure"]): r["value"]
            for r in rows
            if r["query"] == result.spec.id
        }
        assert got == expected
    suppressed = [r for r in rows if r["suppressed"] == "yes"]
    assert len(suppressed) == len(HIDDEN) + 4


def test_csv_of_a_spec_with_fewer_dimensions() -> None:
    text = (REPO / "queries/palliative/opioid_last_90d.yaml").read_text()
    spec = parse_spec(text.replace("dimensions: [year, sex, age_band]", "dimensions: [year]"))
    SPECS["_by_year"] = spec
    try:
        rows = [
            {"year": 2020, "denominator": 40, "numerator": 12},
            {"year": 2021, "denominator": 30, "numerator": 5},
        ]
        result = _result("_by_year", rows, {((2021,), "numerator"), ((2020,), "numerator")})
    finally:
        del SPECS["_by_year"]
    out = _csv_rows(render([result], "csv"))
    assert len(out) == 3 * 2
    assert {(r["sex"], r["age_band"]) for r in out} == {("", "")}  # not a dimension: all
    assert {r["year"] for r in out} == {"2020", "2021", ""}
    table = render([result], "table")
    assert table.splitlines()[2].split() == ["year", "denominator", "numerator", "rate"]


def _body(text: str) -> tuple[str, list[str], str]:
    lines = text.rstrip("\n").splitlines()
    return lines[2], lines[3:-1], lines[-1]


def test_table_is_aligned_and_marks_suppression(opioid: QueryResult) -> None:
    text = render([opioid], "table")
    lines = text.splitlines()
    assert lines[0] == "opioid_last_90d v1: Opioids in the last 90 days of life"
    assert lines[1] == (f"k=10  {opioid.spec_hash}  ('-' = suppressed, 'all' = every value)")
    header, rows, summary = _body(text)
    assert header.split() == ["year", "sex", "age_band", "denominator", "numerator", "rate"]
    assert len(rows) == len(opioid.protected.cube.cells)
    # Columns line up: every line as wide as the header, numbers right-aligned under it.
    assert {len(row) for row in rows} == {len(header)}
    ends = [m.end() for m in re.finditer(r"\S+", header)][3:]
    for row in rows:
        assert [m.end() for m in re.finditer(r"\S+", row)][-3:] == ends
    parsed = {tuple(row.split()[:3]): row.split()[3:] for row in rows}
    assert parsed[("2020", "M", "75-84")] == ["25", "-", "-"]
    assert parsed[("2020", "F", "75-84")] == ["40", "-", "-"]
    assert parsed[("2021", "M", "75-84")] == ["30", "30", "100.0%"]
    assert parsed[("2021", "F", "75-84")] == ["0", "0", "n/a"]  # no rate, but not suppressed
    assert parsed[("all", "all", "all")] == ["95", "45", "47.4%"]
    assert parsed[("2021", "all", "all")] == ["30", "30", "100.0%"]
    suppressed = f"2 of {len(rows) * 2} values suppressed (1 below k, 1 to protect them)"
    assert summary == f"{len(rows)} cells; {suppressed}"


def test_table_of_a_count_and_a_sum_has_no_rate(los: QueryResult) -> None:
    header, rows, _ = _body(render([los], "table"))
    assert header.split() == ["year", "sex", "age_band", "admissions", "los_days_sum"]
    parsed = {tuple(row.split()[:3]): row.split()[3:] for row in rows}
    assert parsed[("2022", "M", "85+")] == ["-", "-"]
    assert parsed[("all", "all", "all")] == ["18", "160"]


def test_several_tables_are_separated(opioid: QueryResult, los: QueryResult) -> None:
    text = render([opioid, los], "table")
    blocks = text.rstrip("\n").split("\n\n")
    assert [b.splitlines()[0].split(":")[0] for b in blocks] == [
        "opioid_last_90d v1",
        "hip_fracture_los v1",
    ]


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_an_empty_result_renders(fmt: str) -> None:
    # An empty cohort (as on a small real export) still publishes its grand total of zeros.
    domains = {"year": [], "sex": ["F", "M", "U"], "age_band": ["85+"]}
    result = _result("opioid_last_90d", [], set(), domains)
    zeros = {"denominator": 0, "numerator": 0}
    assert result.protected.cube.cells == {(None, None, None): zeros}
    text = render([result], fmt)
    if fmt == "json":
        assert json.loads(text)["cells"] == [{"year": None, "sex": None, "age_band": None, **zeros}]
    elif fmt == "csv":
        lines = text.splitlines()
        assert lines[0] == "query,version,min_cell,year,sex,age_band,measure,value,suppressed"
        assert len(lines) == 3 and all(line.split(",")[7] == "0" for line in lines[1:])
    else:
        header, rows, summary = _body(text)
        assert header.split()[0] == "year" and len(rows) == 1
        assert rows[0].split()[:3] == ["all", "all", "all"]
        assert summary.startswith("1 cells; 0 of 2 values suppressed")


def test_node_run_stdout_is_pure_json(tmp_path: Path) -> None:
    # In a real process (not CliRunner): whatever a library prints at the C level lands here
    # (HiGHS printed its banner on stdout when the first LP was built).
    extract = tmp_path / "extract"
    generate(1_500, seed=3, out=extract, fmt="parquet")
    done = subprocess.run(
        [
            *(sys.executable, "-c", "from lhs.cli import main; main()"),
            *("node", "run", "opioid_last_90d", "--data", str(extract)),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["query"] == "opioid_last_90d"
