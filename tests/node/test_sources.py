"""Where an extract lives: a folder of CSV/Parquet files read in place, or a SQL database.

Every way of presenting the same data must give the same finest cells; every bad
extract must give one line that names the problem, and the files are only read.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from demo.synth import generate
from lhs.cli import cli
from node.check import check_command, check_source
from node.errors import DataSourceError
from node.runner import fetch_finest, run_specs
from node.sources import open_source
from protocol import load_spec
from queries import library_paths
from tests.extracts import load_extract_into

SPECS = {p.stem: load_spec(p) for p in library_paths()}
SOME = ["opioid_last_90d", "died_in_hospital", "icu_admission_last_30d", "hip_fracture_los"]
"""Between them these read person, death, condition, drug, visit and visit_detail."""

PASSWORD = "s3cr3t-pw"


def _finest(location: str, schema: str | None = None) -> dict:
    source = open_source(location, schema=schema)
    try:
        finest = fetch_finest([SPECS[s] for s in SOME], source)
    finally:
        source.close()
    return {
        spec_id: sorted(
            tuple(sorted((k, int(v) if k not in ("sex", "age_band") else v) for k, v in r.items()))
            for r in rows
        )
        for spec_id, (rows, _domains) in finest.items()
    }


def _copy(src: Path, dst: Path, skip: tuple[str, ...] = ()) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.name.split(".")[0] not in skip:
            shutil.copy(f, dst / f.name)
    return dst


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under ``folder``: a hash of each file's bytes, and its mtime."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        out[rel] = (digest, path.stat().st_mtime_ns)
    return out


def _one_line(message: str, *fragments: str) -> None:
    assert "\n" not in message.strip(), message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, message


def _cli_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    _one_line(lines[0], *fragments)


def _run_cli(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="lhs")


def _check_cli(*args: str):
    return CliRunner().invoke(check_command, list(args), prog_name="lhs node check")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-person synthetic extract as CSV."""
    out = tmp_path_factory.mktemp("sources") / "csv"
    generate(2_000, seed=21, out=out, fmt="csv")
    return out


@pytest.fixture(scope="module")
def small_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same extract as Parquet."""
    out = tmp_path_factory.mktemp("sources") / "parquet"
    generate(2_000, seed=21, out=out, fmt="parquet")
    return out


@pytest.fixture(scope="module")
def expected(small: Path) -> dict:
    finest = _finest(str(small))
    assert all(finest[s] for s in SOME), "the extract should give every spec some cells"
    return finest


# --- folders of files --------------------------------------------------------------------------

RENAMED = {  # table -> the file's stem, in every case a real export might use
    "person": "PERSON",
    "death": "Death",
    "visit_occurrence": "Visit_Occurrence",
    "condition_occurrence": "CONDITION_OCCURRENCE",
    "drug_exposure": "drug_EXPOSURE",
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_file_names_in_any_case(
    small: Path, small_parquet: Path, tmp_path: Path, fmt: str, expected: dict
) -> None:
    src = small if fmt == "csv" else small_parquet
    for f in src.iterdir():
        table, suffix = f.name.split(".", 1)
        suffix = suffix.upper() if table == "death" else suffix  # Death.CSV, Death.PARQUET
        shutil.copy(f, tmp_path / f"{RENAMED.get(table, table)}.{suffix}")
    assert (tmp_path / f"PERSON.{fmt}").exists() and (tmp_path / f"Death.{fmt.upper()}").exists()
    assert _finest(str(tmp_path)) == expected


def test_extra_tables_columns_and_files_are_ignored(
    small: Path, small_parquet: Path, tmp_path: Path, expected: dict
) -> None:
    folder = _copy(small, tmp_path / "extract")
    # Extra tables, even unreadable ones, are never opened; nor are other files or folders.
    (folder / "CONCEPT.csv").write_text("concept_id,concept_name\n8507,MALE\n")
    (folder / "note.parquet").write_bytes(b"not a parquet file at all")
    (folder / "README.txt").write_text("export of 2024-01-01\n")
    (folder / "archive").mkdir()
    (folder / "archive" / "person.csv").write_text("person_id,gender_concept_id,year_of_birth\n")
    (folder / "person.csv.bak").write_text("garbage")
    # Extra columns, in another order, with upper-case names; a table from another format.
    person = pacsv.read_csv(small / "person.csv")
    person = person.append_column("PERSON_SOURCE_VALUE", pa.array(["x"] * person.num_rows))
    person = person.select(list(reversed(person.column_names)))
    person = person.rename_columns([c.upper() for c in person.column_names])
    pacsv.write_csv(person, folder / "person.csv")
    (folder / "death.csv").unlink()
    shutil.copy(small_parquet / "death.parquet", folder / "death.parquet")
    assert _finest(str(folder)) == expected


@pytest.mark.parametrize(
    "first, second",
    [
        ("person.csv", "PERSON.csv"),
        ("person.csv", "person.parquet"),
        ("death.csv", "Death.csv.gz"),
    ],
)
def test_two_files_for_one_table_are_refused(
    small: Path, small_parquet: Path, tmp_path: Path, first: str, second: str
) -> None:
    folder = _copy(small, tmp_path / "extract")
    table = first.split(".")[0]
    if second.endswith(".parquet"):
        shutil.copy(small_parquet / f"{table}.parquet", folder / second)
    else:
        data = (small / first).read_bytes()
        (folder / second).write_bytes(gzip.compress(data) if second.endswith(".gz") else data)
    with pytest.raises(DataSourceError) as caught:
        open_source(str(folder))
    _one_line(str(caught.value), f"two files for table '{table}'", first, second)
    _cli_one_line_error(_check_cli("--data", str(folder)), "two files", second)


def test_a_missing_table_is_named(small: Path, tmp_path: Path) -> None:
    folder = _copy(small, tmp_path / "extract", skip=("visit_detail",))
    source = open_source(str(folder))
    try:
        # Queries that do not need the table still run.
        assert run_specs([SPECS["hip_fracture_los"]], source)[0].protected.cube.cells
        with pytest.raises(DataSourceError) as caught:
            run_specs([SPECS["icu_admission_last_30d"]], source)
    finally:
        source.close()
    _one_line(str(caught.value), "no table 'visit_detail'", str(folder))


def test_missing_columns_are_named(small: Path, tmp_path: Path) -> None:
    folder = _copy(small, tmp_path / "extract")
    death = pacsv.read_csv(small / "death.csv").drop_columns(["death_date"])
    pacsv.write_csv(death, folder / "death.csv")
    visits = pacsv.read_csv(small / "visit_occurrence.csv")
    pacsv.write_csv(
        visits.drop_columns(["visit_end_date", "visit_concept_id"]), folder / "Visit_Occurrence.csv"
    )
    (folder / "visit_occurrence.csv").unlink()
    source = open_source(str(folder))
    try:
        with pytest.raises(DataSourceError) as caught:
            run_specs([SPECS["opioid_last_90d"]], source)
        _one_line(str(caught.value), "table 'death'", "lacks column(s) death_date")
        with pytest.raises(DataSourceError) as caught:
            source.table("visit_occurrence")
        _one_line(str(caught.value), "visit_concept_id, visit_end_date")
    finally:
        source.close()
    result = _run_cli("node", "run", "opioid_last_90d", "--data", str(folder))
    _cli_one_line_error(result, "table 'death'", "death_date")


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "not parquet":
        path.write_bytes(b"person_id,drug_source_value\n1,N02AA01\n")
    elif how == "empty":
        path.write_bytes(b"")
    else:  # header and footer intact, every data page zeroed
        footer = int.from_bytes(data[-8:-4], "little")
        middle = len(data) - footer - 8 - 4
        path.write_bytes(data[:4] + bytes(middle) + data[4 + middle :])


@pytest.mark.parametrize("how", ["truncated", "not parquet", "empty", "pages zeroed"])
def test_a_corrupt_parquet_file_is_one_line(small_parquet: Path, tmp_path: Path, how: str) -> None:
    folder = _copy(small_parquet, tmp_path / "extract")
    _corrupt(folder / "drug_exposure.parquet", how)
    before = _snapshot(folder)
    source = open_source(str(folder))
    try:
        with pytest.raises(DataSourceError) as caught:
            run_specs([SPECS["opioid_last_90d"]], source)
    finally:
        source.close()
    # A run names the extract (and, where DuckDB says so, the file) ...
    _one_line(str(caught.value), str(folder))
    out = tmp_path / "result.json"
    result = _run_cli("node", "run", "opioid_last_90d", "--data", str(folder), "--out", str(out))
    _cli_one_line_error(result, str(folder))
    assert not out.exists()
    # ... and check, which reads every value, names the damaged file.
    checked = _check_cli("--data", str(folder))
    _cli_one_line_error(checked, "drug_exposure.parquet")
    assert checked.exit_code == 2
    assert _snapshot(folder) == before


def test_a_corrupt_csv_file_is_one_line(small: Path, tmp_path: Path) -> None:
    folder = _copy(small, tmp_path / "extract")
    (folder / "death.csv").write_bytes(bytes(range(256)) * 40)
    result = _run_cli("node", "run", "opioid_last_90d", "--data", str(folder))
    _cli_one_line_error(result, "death.csv")


# --- dates and numbers that do not parse --------------------------------------------------------

DEATH_ROWS = [  # person_id, death_date as written, is it a readable value?
    ("1", "2020-01-05", True),
    ("2", "2020/01/05", False),
    ("3", "05-01-2020", False),
    ("4", "2020-1-5", False),  # DuckDB would read it; the contract says YYYY-MM-DD
    ("5", "2020-02-30", False),
    ("6", "", True),  # missing, not wrong
    ("7", "   ", True),
    ("8", "2020-01-05 00:00:00", True),  # a time may follow
    ("9", " 2020-01-06 ", True),
    ("10.5", "2020-01-07", False),  # an id that is not a whole number
    ("11.0", "2020-01-08", True),
]


def _write_death(folder: Path, rows: list[tuple[str, str, bool]]) -> None:
    lines = ["person_id,death_date,death_type_concept_id"]
    lines += [f"{pid},{day},32817" for pid, day, _ok in rows]
    (folder / "death.csv").write_text("\n".join(lines) + "\n")


def test_unparseable_values_are_counted_by_check_and_stop_a_run(
    small: Path, tmp_path: Path
) -> None:
    folder = _copy(small, tmp_path / "extract")
    _write_death(folder, DEATH_ROWS)
    source = open_source(str(folder))
    try:
        report = check_source(source)
        death = next(t for t in report.tables if t.name == "death")
        assert death.unparseable == {"person_id": 1, "death_date": 4}
        assert not report.ok
        assert "death.death_date: 4 value(s) are not an ISO date (YYYY-MM-DD)" in report.problems
        assert "death.person_id: 1 value(s) are not a whole number" in report.problems
        with pytest.raises(DataSourceError) as caught:
            run_specs([SPECS["opioid_last_90d"]], source)
    finally:
        source.close()
    _one_line(str(caught.value), "death.")
    assert "ISO date" in str(caught.value) or "whole number" in str(caught.value)
    result = _run_cli("node", "run", "opioid_last_90d", "--data", str(folder))
    _cli_one_line_error(result, "death.")


def test_a_bad_date_alone_names_its_column(small: Path, tmp_path: Path) -> None:
    folder = _copy(small, tmp_path / "extract")
    _write_death(folder, [r for r in DEATH_ROWS if r[0] in ("1", "4")])
    result = _run_cli("node", "run", "opioid_last_90d", "--data", str(folder))
    _cli_one_line_error(result, "death.death_date", "not an ISO date (YYYY-MM-DD)")


def test_what_check_accepts_a_run_reads(small: Path, tmp_path: Path) -> None:
    folder = _copy(small, tmp_path / "extract")
    _write_death(folder, [r for r in DEATH_ROWS if r[2]])
    source = open_source(str(folder))
    try:
        report = check_source(source)
        assert report.ok, report.problems
        with source.connect() as c:
            rows = c.execute(sa.text("SELECT person_id, death_date FROM death ORDER BY 1")).all()
        assert [(r[0], str(r[1]) if r[1] else None) for r in rows] == [
            (1, "2020-01-05"),
            (6, None),
            (7, None),
            (8, "2020-01-05"),
            (9, "2020-01-06"),
            (11, "2020-01-08"),
        ]
        fetch_finest([SPECS["opioid_last_90d"]], source)  # no error
    finally:
        source.close()


def test_text_dates_in_parquet_are_held_to_the_same_rule(
    small_parquet: Path, tmp_path: Path
) -> None:
    folder = _copy(small_parquet, tmp_path / "extract")
    death = pa.table(
        {
            "person_id": pa.array([1, 2, 3], pa.int64()),
            "death_date": pa.array(["2020-01-05", "2020/01/05", None], pa.string()),
        }
    )
    pq.write_table(death, folder / "death.parquet")
    source = open_source(str(folder))
    try:
        report = check_source(source)
        assert next(t for t in report.tables if t.name == "death").unparseable == {"death_date": 1}
        with pytest.raises(DataSourceError) as caught:
            run_specs([SPECS["opioid_last_90d"]], source)
    finally:
        source.close()
    _one_line(str(caught.value), "death.death_date", "ISO date")


# --- nothing is written -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_check_and_run_leave_the_extract_byte_for_byte_unchanged(
    small: Path, small_parquet: Path, tmp_path: Path, fmt: str
) -> None:
    folder = _copy(small if fmt == "csv" else small_parquet, tmp_path / "extract")
    before = _snapshot(folder)
    assert len(before) == 10
    checked = _check_cli("--data", str(folder))
    assert checked.exit_code == 0, checked.output
    out = tmp_path / "result.json"
    ran = _run_cli("node", "run", "hip_fracture", "--data", str(folder), "--out", str(out))
    assert ran.exit_code == 0, ran.output
    assert out.exists()
    assert _snapshot(folder) == before


# --- SQL databases --------------------------------------------------------------------------------


def _duckdb_file(small: Path, path: Path, schema: str) -> None:
    connection = duckdb.connect(str(path))
    try:
        connection.execute(f"CREATE SCHEMA {schema}")
        for f in small.iterdir():
            table = f.name.split(".")[0].upper()  # PERSON, DEATH, ...: names in any case
            connection.execute(
                f"CREATE TABLE {schema}.{table} AS SELECT * FROM read_csv(?)", [str(f)]
            )
    finally:
        connection.close()


def test_a_duckdb_database_with_a_schema(small: Path, tmp_path: Path, expected: dict) -> None:
    db = tmp_path / "extract.duckdb"
    _duckdb_file(small, db, "cdm")
    before = _snapshot(tmp_path)
    assert _finest(f"duckdb:///{db}", schema="cdm") == expected
    checked = _check_cli("--data", f"duckdb:///{db}", "--schema", "cdm")
    assert checked.exit_code == 0, checked.output
    assert _snapshot(tmp_path) == before  # opened, never written
    with pytest.raises(DataSourceError) as caught:
        _finest(f"duckdb:///{db}", schema="other")
    _one_line(str(caught.value), "no table 'person'", "(schema other)")


@pytest.mark.parametrize("schema", [None, "main"])
def test_a_sqlite_database(small: Path, tmp_path: Path, expected: dict, schema: str | None) -> None:
    url = f"sqlite:///{tmp_path / 'extract.db'}"
    load_extract_into(url, small, None)
    assert _finest(url, schema=schema) == expected
    source = open_source(url, schema=schema)
    try:
        assert check_source(source).ok
    finally:
        source.close()


def test_a_database_lacking_a_column(small: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'extract.db'}"
    load_extract_into(url, small, None)
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("ALTER TABLE death DROP COLUMN death_date")
    engine.dispose()
    source = open_source(url)
    try:
        with pytest.raises(DataSourceError) as caught:
            run_specs([SPECS["opioid_last_90d"]], source)
    finally:
        source.close()
    _one_line(str(caught.value), "table 'death'", "lacks column(s) death_date")


def test_a_missing_database_file_is_not_created(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'typo.db'}", f"duckdb:///{tmp_path / 'typo.duckdb'}"):
        with pytest.raises(DataSourceError) as caught:
            open_source(url)
        _one_line(str(caught.value), "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_a_schema_is_for_databases_only(small: Path) -> None:
    with pytest.raises(DataSourceError) as caught:
        open_source(str(small), schema="cdm")
    _one_line(str(caught.value), "--schema")


def test_postgres_with_a_schema(
    small: Path, expected: dict, postgres_schema: tuple[str, str]
) -> None:
    url, schema = postgres_schema
    load_extract_into(url, small, schema)
    assert _finest(url, schema=schema) == expected
    # The password never shows, even where the location is part of the message.
    with_password = sa.engine.make_url(url).set(password=PASSWORD)
    location = with_password.render_as_string(hide_password=False)
    assert PASSWORD in location
    with pytest.raises(DataSourceError) as caught:  # no such schema: no tables
        _finest(location, schema=f"{schema}_none")
    _one_line(str(caught.value), "person", "***")
    assert PASSWORD not in str(caught.value)


# --- passwords ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://alice:{PASSWORD}@127.0.0.1:1/extract",  # nothing listens there
        f"postgresql+psycopg://alice:{PASSWORD}@127.0.0.1:notaport/extract",
        f"nosuchdb://alice:{PASSWORD}@db.example/extract",
        f"postgresql+nosuchdriver://alice:{PASSWORD}@db.example/extract",
    ],
)
def test_the_password_is_masked_in_every_message(url: str) -> None:
    with pytest.raises(DataSourceError) as caught:
        open_source(url)
    _one_line(str(caught.value), "alice")
    assert PASSWORD not in str(caught.value) and "***" in str(caught.value)
    for result in (
        _check_cli("--data", url),
        _run_cli("node", "run", "opioid_last_90d", "--data", url),
    ):
        _cli_one_line_error(result, "***")
        assert PASSWORD not in result.output
