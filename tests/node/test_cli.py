"""The `lhs` command line as a user meets it: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lhs.cli import cli
from node.cli import progress_bar
from node.runner import run_specs
from node.sources import open_source
from protocol import load_spec
from queries import library_paths
from tests.cli import one_line_error


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="lhs")


def test_validate_the_library() -> None:
    result = _run("query", "validate", "palliative", "hip_fracture")
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 9


def test_validate_reports_file_field_and_expectation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    good = Path("queries/palliative/opioid_last_90d.yaml").read_text()
    bad.write_text(good.replace("dimensions: [year, sex, age_band]", "dimensions: [person_id]"))
    result = _run("query", "validate", str(bad))
    assert result.exit_code == 1
    assert f"{bad}: dimensions: 'person_id' identifies a person" in result.output
    assert "Traceback" not in result.output


def test_explain_by_library_id() -> None:
    result = _run("query", "explain", "icu_admission_last_30d")
    assert result.exit_code == 0
    assert "32037 (intensive care)" in result.output


def test_unknown_spec_name() -> None:
    one_line_error(_run("query", "explain", "no_such_query"), "no_such_query", "no such")


def test_run_json_one_and_several(synth_csv: Path) -> None:
    one = _run("node", "run", "opioid_last_90d", "--data", str(synth_csv))
    assert one.exit_code == 0, one.output
    payload = json.loads(one.output)
    assert payload["query"] == "opioid_last_90d" and payload["min_cell"] == 10
    assert payload["spec_hash"].startswith("sha256:")
    total = [
        c
        for c in payload["cells"]
        if c["year"] is None and c["sex"] is None and c["age_band"] is None
    ]
    assert len(total) == 1 and total[0]["denominator"] > 0
    several = _run("node", "run", "palliative", "--data", str(synth_csv), "--min-cell", "12")
    assert several.exit_code == 0, several.output
    results = json.loads(several.output)
    assert len(results) == 6 and all(r["min_cell"] == 12 for r in results.values())


def test_run_csv_and_table(synth_csv: Path) -> None:
    csv_out = _run("node", "run", "hip_fracture_los", "--data", str(synth_csv), "--format", "csv")
    assert csv_out.exit_code == 0, csv_out.output
    header = csv_out.output.splitlines()[0]
    assert header == "query,version,min_cell,year,sex,age_band,measure,value,suppressed"
    table = _run("node", "run", "died_in_hospital", "--data", str(synth_csv), "--format", "table")
    assert table.exit_code == 0, table.output
    assert "died_in_hospital v1" in table.output and "rate" in table.output


def test_min_cell_below_the_floor_is_refused(synth_csv: Path) -> None:
    result = _run("node", "run", "opioid_last_90d", "--data", str(synth_csv), "--min-cell", "5")
    one_line_error(result, "--min-cell 5 is below this node's floor of 10")


def test_node_floor_from_config(synth_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(f"data: {synth_csv}\nmin_cell: 20\n")
    result = _run("node", "run", "opioid_last_90d", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["min_cell"] == 20
    refused = _run("node", "run", "opioid_last_90d", "--config", str(config), "--min-cell", "15")
    one_line_error(refused, "below this node's floor of 20")


def test_missing_table_fails_cleanly_and_writes_nothing(synth_csv: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in synth_csv.iterdir():
        if not f.name.startswith("visit_detail"):
            (partial / f.name).write_bytes(f.read_bytes())
    out = tmp_path / "result.json"
    result = _run(
        "node", "run", "icu_admission_last_30d", "--data", str(partial), "--out", str(out)
    )
    one_line_error(result, "visit_detail")
    assert not out.exists()
    assert list(tmp_path.glob(".result.json*")) == []


def test_hostile_spec_runs_nothing(synth_csv: Path, tmp_path: Path) -> None:
    spec = tmp_path / "evil.yaml"
    spec.write_text("!!python/object/apply:os.system ['touch /tmp/lhs-pwned']\n")
    result = _run("node", "run", str(spec), "--data", str(synth_csv))
    one_line_error(result, "evil.yaml", "not valid YAML")
    assert not Path("/tmp/lhs-pwned").exists()


def test_no_data_given() -> None:
    result = _run("node", "run", "opioid_last_90d")
    assert result.exit_code == 2 and "--data" in result.output


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_out_file_is_written_whole(synth_csv: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"r.{fmt}"
    result = _run(
        "node",
        "run",
        "hip_fracture_mortality_30d",
        "--data",
        str(synth_csv),
        "--format",
        fmt,
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().strip()


def test_the_same_extract_gives_the_same_bytes_as_csv_parquet_and_in_any_process(
    synth_csv: Path, synth_parquet: Path
) -> None:
    # The files' row orders differ between the formats, and set order between processes:
    # neither may change which cells are suppressed.
    args = ("node", "run", "hip_fracture", "icu_admission_last_30d", "--data")
    from_csv = _run(*args, str(synth_csv))
    assert from_csv.exit_code == 0, from_csv.output
    assert _run(*args, str(synth_parquet)).output == from_csv.output
    again = subprocess.run(  # this process's hash seed is random; that one is fixed
        [sys.executable, "-m", "lhs", *args, str(synth_parquet)],
        env={**os.environ, "PYTHONHASHSEED": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert again.stdout == from_csv.output


def test_several_specs_move_a_bar_on_a_terminal_and_nothing_elsewhere(
    synth_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    specs = [load_spec(p) for p in library_paths() if p.parent.name == "hip_fracture"]
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    seen: list[str] = []
    source = open_source(str(synth_csv))
    try:
        with progress_bar(len(specs), "running") as step:
            assert step is not None
            run_specs(specs, source, progress=lambda name: (seen.append(name), step(name)))
    finally:
        source.close()
    assert seen == [s.id for s in specs]
    assert "running" in screen.getvalue() and "100%" in screen.getvalue()
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal: no bar
    with progress_bar(len(specs), "running") as step:
        assert step is None
