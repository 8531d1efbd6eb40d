"""Synthetic extracts: deterministic, the promised edge cases, a provider effect, no clobbering.

The edge cases are looked for in the generator's output with plain DuckDB SQL over
the files, independently of the node's compiler.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from demo.synth import TABLE_COLUMNS, generate, synth_command
from protocol import UnitsWithMeasure, load_spec
from queries import library_paths
from tests.reference import load_extract, reference

RATES = [
    spec.id
    for spec in map(load_spec, library_paths())
    if any(isinstance(m, UnitsWithMeasure) for m in spec.measures)
]
"""Every rate indicator of the library (a numerator among its denominator)."""


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _synth(*args: str):
    return CliRunner().invoke(synth_command, list(args), prog_name="lhs synth")


# --- determinism and formats --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_same_seed_gives_the_same_files(tmp_path: Path, fmt: str) -> None:
    first = generate(1_500, seed=4, out=tmp_path / "a", fmt=fmt)
    second = generate(1_500, seed=4, out=tmp_path / "b", fmt=fmt)
    assert first == second
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    assert sorted(_hashes(tmp_path / "a")) == sorted(f"{t}.{fmt}" for t in TABLE_COLUMNS)
    generate(1_500, seed=5, out=tmp_path / "c", fmt=fmt)
    other = _hashes(tmp_path / "c")
    assert all(other[name] != digest for name, digest in _hashes(tmp_path / "a").items())


def test_csv_and_parquet_hold_the_same_data(tmp_path: Path) -> None:
    counts = generate(1_500, seed=4, out=tmp_path / "csv", fmt="csv")
    assert generate(1_500, seed=4, out=tmp_path / "parquet", fmt="parquet") == counts
    for table, columns in TABLE_COLUMNS.items():
        parquet = pq.read_table(tmp_path / "parquet" / f"{table}.parquet")
        assert parquet.column_names == columns
        assert parquet.num_rows == counts[table] > 0
        options = pacsv.ConvertOptions(column_types=parquet.schema, strings_can_be_null=False)
        csv = pacsv.read_csv(tmp_path / "csv" / f"{table}.csv", convert_options=options)
        assert csv.equals(parquet), table


# --- the edge cases the generator promises ------------------------------------------------------


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """A 30,000-person extract, opened in DuckDB with one view per table."""
    out = tmp_path_factory.mktemp("edges") / "extract"
    generate(30_000, seed=1, out=out, fmt="parquet")
    connection = duckdb.connect()
    for table in TABLE_COLUMNS:
        connection.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{out / table}.parquet')"
        )
    connection.execute(
        "CREATE VIEW died AS SELECT person_id, MIN(death_date) AS day FROM death GROUP BY 1"
    )
    connection.execute(
        """CREATE VIEW code AS SELECT *, upper(replace(condition_source_value, '.', '')) AS norm
        FROM condition_occurrence"""
    )
    connection.execute(
        """CREATE VIEW cancer AS SELECT DISTINCT d.person_id, d.day FROM died d
        JOIN code c USING (person_id) JOIN person p USING (person_id)
        WHERE left(c.norm, 3) BETWEEN 'C00' AND 'C97' AND c.condition_start_date <= d.day
        AND year(d.day) >= p.year_of_birth"""
    )
    connection.execute(
        """CREATE VIEW hip AS SELECT v.* FROM visit_occurrence v
        JOIN code c USING (visit_occurrence_id) WHERE left(c.norm, 4) IN ('S720', 'S721', 'S722')"""
    )
    connection.execute(
        """CREATE VIEW drug AS SELECT *, upper(replace(drug_source_value, '.', '')) AS norm
        FROM drug_exposure"""
    )
    yield connection
    connection.close()


def _count(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    return connection.execute(f"SELECT COUNT(*) FROM ({sql})").fetchone()[0]


ERRORS = {
    "deaths before the year of birth": (
        "SELECT * FROM died JOIN person USING (person_id) WHERE year(day) < year_of_birth"
    ),
    "visits after death": (
        "SELECT * FROM visit_occurrence v JOIN died d USING (person_id)"
        " WHERE visit_start_date > day"
    ),
    "drugs after death": (
        "SELECT * FROM drug_exposure x JOIN died d USING (person_id)"
        " WHERE drug_exposure_start_date > day"
    ),
    "anticancer drugs after death in the cohort": (
        "SELECT * FROM drug x JOIN cancer c USING (person_id)"
        " WHERE x.norm LIKE 'L01%' AND drug_exposure_start_date > c.day"
    ),
    "visits that end before they start": (
        "SELECT * FROM visit_occurrence WHERE visit_end_date < visit_start_date"
    ),
    "open visits": "SELECT * FROM visit_occurrence WHERE visit_end_date IS NULL",
    "unknown sex": "SELECT * FROM person WHERE gender_concept_id NOT IN (8507, 8532)",
    "drugs of persons not in person": (
        "SELECT * FROM drug_exposure WHERE person_id NOT IN (SELECT person_id FROM person)"
    ),
    "cancer diagnosed after death": (
        "SELECT * FROM code c JOIN died d USING (person_id)"
        " WHERE left(c.norm, 3) BETWEEN 'C00' AND 'C97' AND c.condition_start_date > d.day"
    ),
}


@pytest.mark.parametrize("what", list(ERRORS))
def test_data_errors_are_planted(edges: duckdb.DuckDBPyConnection, what: str) -> None:
    assert _count(edges, ERRORS[what]) > 0


def test_codes_come_dotted_undotted_lower_case_and_as_decoys(
    edges: duckdb.DuckDBPyConnection,
) -> None:
    values = {
        r[0] for r in edges.execute("SELECT DISTINCT condition_source_value FROM code").fetchall()
    }
    assert {"C34.1", "C341", "c34.1"} <= values  # one code three ways
    assert {"C98", "CC34", "X34C", "D00.0"} <= values  # outside C00-C97 however read
    assert {"S72.00", "S7200", "s72.0"} <= values
    assert len({"S72", "S72.3", "S73.0", "T84.0"} & values) >= 2  # near misses of S720-S722
    drugs = {r[0] for r in edges.execute("SELECT DISTINCT drug_source_value FROM drug").fetchall()}
    assert {"n02a.a05", "l01.ca04", "M05B.A08"} <= drugs
    assert {"XL01", "L10", "L1", "N02BE01", "M05A"} <= drugs  # near misses of L01, N02A, M05B


BOUNDARIES = {  # (what, offset in days): the rows that sit exactly on a window's edge
    "inpatient admission, day of death - 30 (in)": (
        "SELECT * FROM visit_occurrence v JOIN cancer c USING (person_id)"
        " WHERE visit_concept_id IN (9201, 262) AND visit_start_date = c.day - 30"
    ),
    "inpatient admission, day of death - 31 (out)": (
        "SELECT * FROM visit_occurrence v JOIN cancer c USING (person_id)"
        " WHERE visit_concept_id IN (9201, 262) AND visit_start_date = c.day - 31"
    ),
    "emergency visit, day of death - 30": (
        "SELECT * FROM visit_occurrence v JOIN cancer c USING (person_id)"
        " WHERE visit_concept_id IN (9203, 262) AND visit_start_date = c.day - 30"
    ),
    "emergency visit, day of death - 31": (
        "SELECT * FROM visit_occurrence v JOIN cancer c USING (person_id)"
        " WHERE visit_concept_id IN (9203, 262) AND visit_start_date = c.day - 31"
    ),
    "intensive care, day of death - 30": (
        "SELECT * FROM visit_detail v JOIN cancer c USING (person_id)"
        " WHERE visit_detail_concept_id = 32037 AND visit_detail_start_date = c.day - 30"
    ),
    "intensive care, day of death - 31": (
        "SELECT * FROM visit_detail v JOIN cancer c USING (person_id)"
        " WHERE visit_detail_concept_id = 32037 AND visit_detail_start_date = c.day - 31"
    ),
    "anticancer drug, day of death - 30": (
        "SELECT * FROM drug x JOIN cancer c USING (person_id)"
        " WHERE x.norm LIKE 'L01%' AND drug_exposure_start_date = c.day - 30"
    ),
    "anticancer drug, day of death - 31": (
        "SELECT * FROM drug x JOIN cancer c USING (person_id)"
        " WHERE x.norm LIKE 'L01%' AND drug_exposure_start_date = c.day - 31"
    ),
    "opioid, day of death - 90": (
        "SELECT * FROM drug x JOIN cancer c USING (person_id)"
        " WHERE x.norm LIKE 'N02A%' AND drug_exposure_start_date = c.day - 90"
    ),
    "opioid, day of death - 91": (
        "SELECT * FROM drug x JOIN cancer c USING (person_id)"
        " WHERE x.norm LIKE 'N02A%' AND drug_exposure_start_date = c.day - 91"
    ),
    "cancer diagnosed on the day of death": (
        "SELECT * FROM code x JOIN cancer c USING (person_id)"
        " WHERE left(x.norm, 3) BETWEEN 'C00' AND 'C97' AND condition_start_date = c.day"
    ),
    "a stay ending on the day of death": (
        "SELECT * FROM visit_occurrence v JOIN cancer c USING (person_id)"
        " WHERE visit_concept_id IN (9201, 262) AND visit_end_date = c.day"
    ),
    "a stay ending the day before death": (
        "SELECT * FROM visit_occurrence v JOIN cancer c USING (person_id)"
        " WHERE visit_concept_id IN (9201, 262) AND visit_end_date = c.day - 1"
        " AND visit_start_date < c.day - 1"
    ),
    "hip fracture, death on admission + 30": (
        "SELECT * FROM hip h JOIN died d USING (person_id) WHERE d.day = h.visit_start_date + 30"
    ),
    "hip fracture, death on admission + 31": (
        "SELECT * FROM hip h JOIN died d USING (person_id) WHERE d.day = h.visit_start_date + 31"
    ),
    "hip fracture, osteoporosis drug on the discharge day": (
        "SELECT * FROM hip h JOIN drug x USING (person_id)"
        " WHERE x.norm LIKE 'M05B%' AND drug_exposure_start_date = h.visit_end_date"
    ),
    "hip fracture, osteoporosis drug on discharge + 90": (
        "SELECT * FROM hip h JOIN drug x USING (person_id)"
        " WHERE x.norm LIKE 'M05B%' AND drug_exposure_start_date = h.visit_end_date + 90"
    ),
    "hip fracture, osteoporosis drug on discharge + 91": (
        "SELECT * FROM hip h JOIN drug x USING (person_id)"
        " WHERE x.norm LIKE 'M05B%' AND drug_exposure_start_date = h.visit_end_date + 91"
    ),
    "hip fracture at 64 (too young)": (
        "SELECT * FROM hip h JOIN person p USING (person_id)"
        " WHERE year(visit_start_date) - year_of_birth = 64"
    ),
    "hip fracture at 65": (
        "SELECT * FROM hip h JOIN person p USING (person_id)"
        " WHERE year(visit_start_date) - year_of_birth = 65"
    ),
    "hip fracture without a discharge date": "SELECT * FROM hip WHERE visit_end_date IS NULL",
}


@pytest.mark.parametrize("what", list(BOUNDARIES))
def test_window_boundaries_are_planted(edges: duckdb.DuckDBPyConnection, what: str) -> None:
    assert _count(edges, BOUNDARIES[what]) > 0


def test_even_a_small_extract_has_the_hip_boundaries(tmp_path: Path) -> None:
    # About 20 hip fractures: a 3% chance per row alone would usually plant no boundary.
    out = tmp_path / "extract"
    generate(10_000, seed=2, out=out, fmt="parquet")
    hip = f"""SELECT v.* FROM read_parquet('{out}/visit_occurrence.parquet') v
        JOIN read_parquet('{out}/condition_occurrence.parquet') c USING (visit_occurrence_id)
        WHERE upper(replace(c.condition_source_value, '.', '')) SIMILAR TO 'S72[012].*'"""
    treated = duckdb.sql(
        f"""SELECT DISTINCT x.drug_exposure_start_date - h.visit_end_date FROM ({hip}) h
        JOIN read_parquet('{out}/drug_exposure.parquet') x USING (person_id)
        WHERE upper(replace(x.drug_source_value, '.', '')) LIKE 'M05B%'"""
    ).fetchall()
    assert {0, 90, 91} <= {r[0] for r in treated}
    died = duckdb.sql(
        f"""SELECT DISTINCT d.death_date - h.visit_start_date FROM ({hip}) h
        JOIN read_parquet('{out}/death.parquet') d USING (person_id)"""
    ).fetchall()
    assert {30, 31} <= {r[0] for r in died}


# --- the provider effect ------------------------------------------------------------------------


def _rates(tmp_path: Path, effect: float) -> dict[str, tuple[int, int]]:
    out = tmp_path / f"effect-{effect}"
    generate(30_000, seed=1, out=out, fmt="parquet", site_effect=effect)
    extract = load_extract(out)
    rates = {}
    for indicator in RATES:
        frame = reference(extract, indicator)
        rates[indicator] = (int(frame["numerator"].sum()), int(frame["denominator"].sum()))
    return rates


def test_the_site_effect_moves_every_rate_the_same_way(tmp_path: Path) -> None:
    low, mid, high = (_rates(tmp_path, effect) for effect in (0.5, 1.0, 2.0))
    for indicator in RATES:
        (n0, d0), (n1, d1), (n2, d2) = low[indicator], mid[indicator], high[indicator]
        assert min(d0, d1, d2) >= 30, indicator  # enough units for the comparison to mean much
        assert n0 / d0 < n2 / d2, (indicator, low[indicator], high[indicator])
        if not indicator.startswith("hip_fracture"):  # hundreds of decedents: strictly ordered
            assert n0 / d0 < n1 / d1 < n2 / d2, (indicator, low, mid, high)
    # The cohorts themselves hardly move: the effect is on care, not on who is in them.
    for indicator in RATES:
        assert abs(low[indicator][1] - high[indicator][1]) <= 0.1 * low[indicator][1]


def test_a_site_effect_must_be_positive(tmp_path: Path) -> None:
    result = _synth("--persons", "10", "--out", str(tmp_path / "x"), "--site-effect", "0")
    assert result.exit_code == 2 and "--site-effect" in result.output
    with pytest.raises(ValueError, match="site effect"):
        generate(10, seed=0, out=tmp_path / "y", site_effect=-1)
    assert list(tmp_path.iterdir()) == []


# --- the output folder --------------------------------------------------------------------------


def test_a_non_empty_out_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "extract"
    out.mkdir()
    (out / "person.csv").write_text("mine\n")
    result = _synth("--persons", "100", "--out", str(out))
    assert result.exit_code == 2
    assert "not an empty folder" in result.output and "Traceback" not in result.output
    with pytest.raises(FileExistsError):
        generate(100, seed=0, out=out)
    assert [p.name for p in out.iterdir()] == ["person.csv"]
    assert (out / "person.csv").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract"]  # no staging left behind


def test_a_file_as_out_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "extract"
    out.write_text("mine\n")
    assert _synth("--persons", "100", "--out", str(out)).exit_code == 2
    with pytest.raises(FileExistsError):
        generate(100, seed=0, out=out)
    assert out.read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract"]


def test_an_empty_out_is_used_and_the_counts_are_printed(tmp_path: Path) -> None:
    out = tmp_path / "extract"
    out.mkdir()
    result = _synth("--persons", "300", "--seed", "3", "--out", str(out), "--format", "parquet")
    assert result.exit_code == 0, result.output
    printed = {
        line.split()[0]: int(line.split()[1].replace(",", ""))
        for line in result.output.splitlines()
        if line.split()[0] in TABLE_COLUMNS
    }
    assert printed == {t: pq.read_metadata(out / f"{t}.parquet").num_rows for t in TABLE_COLUMNS}
    assert printed["person"] == 300
    assert f"wrote {out} (parquet)" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract"]
