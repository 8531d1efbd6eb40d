"""`lhs node check`: a readable report, invalid rows counted, unusable extracts refused.

Also the real OMOP CDM export shipped in ../shared/data/omop-synthea27nj/: it must
pass the check and run the library's specs as it comes out of the zip.
"""

from __future__ import annotations

import csv
import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from demo.synth import generate
from lhs.cli import cli
from node.check import check_command, check_source
from node.sources import open_source
from protocol import TABLES

REPO = Path(__file__).resolve().parents[2]
SYNTHEA = REPO.parent / "shared" / "data" / "omop-synthea27nj" / "Synthea27Nj_5.4.zip"


def _check(*args: str):
    return CliRunner().invoke(check_command, list(args), prog_name="lhs node check")


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="lhs")


def _rows(path: Path) -> int:
    with path.open(newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def _table_lines(report: str) -> dict[str, tuple[str, str]]:
    """The report's table section: table -> (rows as printed, status)."""
    out = {}
    for line in report.splitlines():
        match = re.fullmatch(r"(\w+) +([\d,]+|-)  (.+)", line)
        if match and match.group(1) in TABLES:
            out[match.group(1)] = (match.group(2), match.group(3))
    return out


def _findings(report: str) -> dict[str, int]:
    """The report's data-quality section: what -> count."""
    out = {}
    for line in report.splitlines():
        match = re.fullmatch(r" +([\d,]+)  ([^:]+)(: .+)?", line)
        if match:
            out[match.group(2)] = int(match.group(1).replace(",", ""))
    return out


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,500-person synthetic extract as CSV."""
    out = tmp_path_factory.mktemp("check") / "good"
    generate(1_500, seed=5, out=out, fmt="csv")
    return out


# --- a good extract -----------------------------------------------------------------------------


def test_a_good_extract_passes_with_a_readable_report(good: Path) -> None:
    result = _check("--data", str(good))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    report = result.stdout
    lines = report.splitlines()
    assert lines[0] == f"Extract: {good}"
    assert lines[2].split() == ["table", "rows", "status"]
    tables = _table_lines(report)
    assert list(tables) == list(TABLES)  # every contract table, in the contract's order
    for name, (rows, status) in tables.items():
        assert status == "ok", name
        assert rows == f"{_rows(good / f'{name}.csv'):,}", name
    assert "Data quality (the contract's conventions)" in lines
    findings = _findings(report)
    assert findings["persons with unknown sex"] > 0  # the generator plants some
    assert findings["persons whose year of death is before their year of birth"] >= 0
    assert lines[-1] == "Result: usable"


# --- the contract's invalid rows ----------------------------------------------------------------


def _write(folder: Path, name: str, header: str, rows: list[str]) -> None:
    (folder / name).write_text("\n".join([header, *rows]) + "\n")


@pytest.fixture(scope="module")
def flawed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hand-made extract in which each flaw of the contract occurs a known number of times."""
    folder = tmp_path_factory.mktemp("flawed")
    _write(
        folder,
        "person.csv",
        "person_id,gender_concept_id,year_of_birth",
        [
            "1,8532,1940",
            "2,8507,1950",
            "3,0,1960",  # unknown sex
            "4,8551,1960",  # unknown sex
            "5,,1970",  # unknown sex (missing)
            "6,8507,2000",  # died in 1999: before the year of birth
            "7,8532,1990",  # died in 1990: the same year, valid
            "8,8507,1930",  # two death rows
            "9,8532,",  # no year of birth
        ],
    )
    _write(
        folder,
        "death.csv",
        "person_id,death_date",
        ["6,1999-05-01", "7,1990-12-31", "1,2020-01-10", "8,2021-02-01", "8,2021-01-01"],
    )
    _write(
        folder,
        "visit_occurrence.csv",
        "visit_occurrence_id,person_id,visit_concept_id,visit_start_date,visit_end_date",
        [
            "1,2,9201,2020-03-05,2020-03-01",  # ends before it starts
            "2,2,9201,2020-03-05,2020-03-05",
            "3,2,9201,2020-03-05,",  # open: not backwards
            "4,1,9201,2020-01-15,2020-01-20",  # after death
            "5,1,9201,2020-01-10,2020-01-12",  # on the day of death: not after
            "6,8,9201,2021-01-15,2021-01-16",  # after the earliest of two deaths
            "7,77,9202,2020-01-01,2020-01-01",  # no such person
        ],
    )
    _write(
        folder,
        "drug_exposure.csv",
        "person_id,drug_exposure_start_date,drug_source_value,drug_concept_id",
        [
            "1,2020-01-11,N02AA01,0",  # after death
            "1,2020-01-10,N02AA01,0",
            "8,2021-03-01,L01,0",  # after both death rows: one row, counted once
            "999,2020-01-01,L01,0",  # no such person
            "998,2020-01-01,L01,0",  # no such person
        ],
    )
    _write(
        folder,
        "condition_occurrence.csv",
        "person_id,condition_start_date,condition_source_value,condition_concept_id,"
        "visit_occurrence_id",
        [
            "1,2020-02-01,C34,0,",
            "2,2019-01-01,I10,0,2",
            "1,2020-03-01,O80,0,",  # a delivery after death
            "2,1949-05-01,O82,0,",  # a delivery before the year of birth
        ],
    )
    _write(
        folder,
        "measurement.csv",
        "person_id,measurement_date,measurement_source_value,measurement_concept_id,"
        "value_as_number",
        [
            "2,2020-01-01,62238-1,0,45",
            "2,2020-02-01,62238-1,0,",  # an eGFR without a value
            "2,2020-03-01,33914-3,0,250",  # out of range
            "2,2020-04-01,2160-0,0,999",  # not an eGFR
        ],
    )
    _write(
        folder,
        "observation.csv",
        "person_id,observation_date,observation_source_value,observation_concept_id,"
        "value_as_number",
        ["2,2020-01-01,71354-5,0,31", "2,2020-01-01,OKS,0,12", "2,2020-02-01,oks,0,-1"],
    )
    _write(
        folder,
        "visit_detail.csv",
        "visit_detail_id,person_id,visit_detail_concept_id,visit_detail_start_date,"
        "visit_occurrence_id",
        ["1,1,32037,2020-01-11,4"],
    )
    _write(
        folder,
        "procedure_occurrence.csv",
        "person_id,procedure_date,procedure_source_value,procedure_concept_id",
        [],
    )
    _write(
        folder,
        "observation_period.csv",
        "person_id,observation_period_start_date,observation_period_end_date",
        [f"{p},2010-01-01,2024-12-31" for p in range(1, 10)],  # 6 and 7 died before 2010
    )
    return folder


EXPECTED_FINDINGS = {
    "persons with unknown sex": 3,
    "persons without a year of birth": 1,
    "persons whose year of death is before their year of birth": 1,
    "persons with more than one death row": 1,
    "visits that end before they start": 1,
    "condition_occurrence rows of persons not in person": 0,
    "condition_occurrence rows dated after death": 2,
    "drug_exposure rows of persons not in person": 2,
    "drug_exposure rows dated after death": 2,
    "procedure_occurrence rows of persons not in person": 0,
    "procedure_occurrence rows dated after death": 0,
    "visit_occurrence rows of persons not in person": 1,
    "visit_occurrence rows dated after death": 2,
    "visit_detail rows of persons not in person": 0,
    "visit_detail rows dated after death": 1,
    "observation_period rows of persons not in person": 0,
    "observation_period rows dated after death": 2,
    "measurement rows of persons not in person": 0,
    "measurement rows dated after death": 0,
    "observation rows of persons not in person": 0,
    "observation rows dated after death": 0,
    "measurement rows of 62238-1, 33914-3, 98979-8 without a value in 0..200": 2,
    "observation rows of 71354-5 without a value in 0..30": 1,
    "observation rows of OKS without a value in 0..48": 1,
    "a delivery (ICD-10 O80-O84) dated after death": 1,
    "a delivery (ICD-10 O80-O84) dated before the year of birth": 1,
}


def test_invalid_rows_are_counted(flawed: Path) -> None:
    source = open_source(str(flawed))
    try:
        report = check_source(source)
    finally:
        source.close()
    assert {what: n for what, n, _action in report.findings} == EXPECTED_FINDINGS
    assert report.ok  # flawed rows are set aside, not fatal
    result = _check("--data", str(flawed))
    assert result.exit_code == 0, result.output
    assert _findings(result.stdout) == EXPECTED_FINDINGS
    # Each count says what the node does about it.
    assert "           3  persons with unknown sex: counted as sex U" in result.stdout
    assert "visits that end before they start: never counted" in result.stdout
    assert "persons whose year of death is before their year of birth: excluded" in result.stdout


def test_invalid_rows_on_sqlite_match(flawed: Path, tmp_path: Path) -> None:
    from tests.extracts import load_extract_into

    url = f"sqlite:///{tmp_path / 'flawed.db'}"
    load_extract_into(url, flawed, None)
    result = _check("--data", url)
    assert result.exit_code == 0, result.output
    assert _findings(result.stdout) == EXPECTED_FINDINGS


# --- unusable extracts --------------------------------------------------------------------------


def _copy(src: Path, dst: Path, skip: tuple[str, ...] = ()) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        if f.name.split(".")[0] not in skip:
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_missing_tables_fail_and_are_named(good: Path, tmp_path: Path) -> None:
    folder = _copy(good, tmp_path / "extract", skip=("drug_exposure", "visit_detail"))
    result = _check("--data", str(folder))
    assert result.exit_code == 1
    tables = _table_lines(result.stdout)
    assert tables["drug_exposure"] == ("-", "MISSING")
    assert tables["visit_detail"] == ("-", "MISSING")
    assert tables["person"][1] == "ok"
    assert result.stdout.splitlines()[-1].startswith("Result: NOT usable: ")
    assert result.stderr.splitlines() == [
        "lhs: error: table 'visit_detail' is missing",
        "lhs: error: table 'drug_exposure' is missing",
    ]
    # The rest is still checked.
    assert _findings(result.stdout)["visit_occurrence rows of persons not in person"] >= 0


def test_an_extract_without_the_value_tables_is_usable(good: Path, tmp_path: Path) -> None:
    folder = _copy(good, tmp_path / "extract", skip=("measurement", "observation"))
    result = _check("--data", str(folder))
    assert result.exit_code == 0, result.output
    tables = _table_lines(result.stdout)
    assert tables["measurement"][1].startswith("absent (needed only by the indicators on lab")
    assert tables["observation"][0] == "-"
    assert result.stdout.splitlines()[-1] == "Result: usable"


def test_a_value_that_is_not_a_number_is_unparseable(good: Path, tmp_path: Path) -> None:
    folder = _copy(good, tmp_path / "extract")
    header = "person_id,observation_date,observation_source_value,observation_concept_id"
    rows = ["1,2020-01-01,OKS,0,12.5", "1,2020-01-02,OKS,0,twelve", "1,2020-01-03,OKS,0,"]
    _write(folder, "observation.csv", header + ",value_as_number", rows)
    result = _check("--data", str(folder))
    assert result.exit_code == 1
    assert _table_lines(result.stdout)["observation"] == ("3", "UNPARSEABLE: value_as_number (1)")
    assert "observation.value_as_number: 1 value(s) are not a number" in result.stderr


def test_missing_columns_and_unparseable_values_fail(good: Path, tmp_path: Path) -> None:
    folder = _copy(good, tmp_path / "extract")
    _write(folder, "person.csv", "person_id,year_of_birth", ["1,1950"])
    _write(folder, "death.csv", "person_id,death_date", ["1,2020-01-01", "1,31/12/2020"])
    result = _check("--data", str(folder))
    assert result.exit_code == 1
    tables = _table_lines(result.stdout)
    assert tables["person"] == ("-", "MISSING COLUMNS: gender_concept_id")
    assert tables["death"] == ("2", "UNPARSEABLE: death_date (1)")
    assert result.stderr.splitlines() == [
        "lhs: error: table 'person' lacks column(s) gender_concept_id",
        "lhs: error: death.death_date: 1 value(s) are not an ISO date (YYYY-MM-DD)",
    ]


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    result = _check("--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"lhs: error: extract folder {tmp_path / 'nowhere'} does not exist"
    ]


def test_check_grows_linearly_not_quadratically(tmp_path: Path) -> None:
    # Orphans counted with a correlated NOT EXISTS over the CSV views (which check every
    # value) make DuckDB plan a cross product: 7 s for 6,000 persons, days for a million.
    folder = tmp_path / "extract"
    generate(20_000, seed=2, out=folder, fmt="csv")
    started = time.perf_counter()
    result = _check("--data", str(folder))
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 30


# --- the real OMOP CDM export --------------------------------------------------------------------


@pytest.fixture(scope="session")
def synthea27nj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract's tables of OHDSI's Synthea27Nj CDM 5.4 export, unzipped as they come."""
    if not SYNTHEA.exists():
        pytest.skip(f"{SYNTHEA} is not there")
    out = tmp_path_factory.mktemp("synthea27nj")
    with zipfile.ZipFile(SYNTHEA) as archive:
        wanted = [
            n for n in archive.namelist() if "/" not in n and n.split(".")[0].lower() in TABLES
        ]
        for name in wanted:
            archive.extract(name, out)
    return out


def test_what_the_real_export_looks_like(synthea27nj: Path) -> None:
    names = sorted(p.name for p in synthea27nj.iterdir())
    assert names == sorted(f"{t.upper()}.csv" for t in TABLES)  # upper-case names
    header = (synthea27nj / "DEATH.csv").read_text().splitlines()[0]
    assert header.startswith("person_id,death_date,death_datetime,")  # extra columns
    assert re.fullmatch(
        r"\d+,\d{4}-\d{2}-\d{2},.*", (synthea27nj / "DEATH.csv").read_text().splitlines()[1]
    )


def test_the_real_export_passes_check(synthea27nj: Path) -> None:
    result = _check("--data", str(synthea27nj))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Result: usable"
    tables = _table_lines(result.stdout)
    for name in TABLES:
        rows, status = tables[name]
        assert status == "ok", name
        assert rows == f"{_rows(synthea27nj / f'{name.upper()}.csv'):,}", name
    assert tables["person"][0] == "28"


def test_the_real_export_runs_the_library(synthea27nj: Path) -> None:
    result = _run("node", "run", "palliative", "hip_fracture", "--data", str(synthea27nj))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload) == 9
    for spec_id, cube in payload.items():
        assert cube["query"] == spec_id and cube["min_cell"] == 10
        assert cube["spec_hash"].startswith("sha256:")
        assert isinstance(cube["cells"], list)
        for cell in cube["cells"]:  # 28 persons: nothing between 1 and 9 is published
            for key, value in cell.items():
                if key not in ("year", "sex", "age_band"):
                    assert value is None or value == 0 or value >= 10, (spec_id, cell)


def test_the_real_export_runs_the_later_domains(synthea27nj: Path) -> None:
    areas = ("birth_care", "knee", "ckd", "colorectal")
    result = _run("node", "run", *areas, "--data", str(synthea27nj))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload) == 9
    for spec_id, cube in payload.items():
        assert cube["query"] == spec_id and isinstance(cube["cells"], list)


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_the_real_export_in_every_format(synthea27nj: Path, fmt: str) -> None:
    result = _run(
        "node",
        "run",
        "opioid_last_90d",
        "hip_fracture_los",
        "--data",
        str(synthea27nj),
        "--format",
        fmt,
    )
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        assert result.stdout.splitlines()[0].startswith("query,version,min_cell,")
    else:
        assert "opioid_last_90d v1" in result.stdout and "hip_fracture_los v1" in result.stdout
