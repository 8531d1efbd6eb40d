"""Synthetic births, knees, CKD and colorectal surgery: realistic rates and the planted edges.

The edges are looked for with plain DuckDB SQL over the files, independently of the compiler;
the rates come from the independent hand computation (tests/reference.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from demo.synth import TABLE_COLUMNS, generate
from tests.reference import load_extract, reference


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30,000-person extract as Parquet."""
    out = tmp_path_factory.mktemp("outcomes") / "extract"
    generate(30_000, seed=1, out=out, fmt="parquet")
    return out


@pytest.fixture(scope="module")
def sql(extract: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The extract in DuckDB, one view per table, and the normalised codes."""
    connection = duckdb.connect()
    for table in TABLE_COLUMNS:
        connection.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{extract / table}.parquet')"
        )
    connection.execute(
        """CREATE VIEW delivery AS SELECT DISTINCT person_id, condition_start_date AS day
        FROM condition_occurrence
        WHERE left(upper(replace(condition_source_value, '.', '')), 3) BETWEEN 'O80' AND 'O84'"""
    )
    connection.execute(
        """CREATE VIEW knee AS SELECT DISTINCT person_id, procedure_date AS day,
        substr(upper(replace(procedure_source_value, '.', '')), 4, 1) AS side
        FROM procedure_occurrence
        WHERE left(upper(replace(procedure_source_value, '.', '')), 4) IN ('0SRC', '0SRD')"""
    )
    connection.execute(
        "CREATE VIEW died AS SELECT person_id, MIN(death_date) AS day FROM death GROUP BY 1"
    )
    yield connection
    connection.close()


EDGES = {
    "a delivery recorded twice on one day": (
        "SELECT person_id, condition_start_date FROM condition_occurrence"
        " WHERE left(upper(replace(condition_source_value, '.', '')), 3) BETWEEN 'O80' AND 'O84'"
        " GROUP BY 1, 2 HAVING COUNT(*) > 1"
    ),
    "a delivery after death": (
        "SELECT * FROM delivery d JOIN died x USING (person_id) WHERE d.day > x.day"
    ),
    "a delivery before the year of birth": (
        "SELECT * FROM delivery d JOIN person p USING (person_id)"
        " WHERE year(d.day) < p.year_of_birth"
    ),
    "delivery codes just outside O80-O84": (
        "SELECT * FROM condition_occurrence WHERE condition_source_value IN ('O79', 'O85', 'O8')"
    ),
    "an epidural two days before delivery (out)": (
        "SELECT * FROM delivery d JOIN drug_exposure x USING (person_id)"
        " WHERE upper(drug_source_value) LIKE 'N01BB%' AND drug_exposure_start_date = d.day - 2"
    ),
    "an epidural the day before delivery (in)": (
        "SELECT * FROM delivery d JOIN drug_exposure x USING (person_id)"
        " WHERE upper(drug_source_value) LIKE 'N01BB%' AND drug_exposure_start_date = d.day - 1"
    ),
    "two EPDS scores on one day": (
        "SELECT person_id, observation_date FROM observation"
        " WHERE observation_source_value = '71354-5' GROUP BY 1, 2 HAVING COUNT(*) > 1"
    ),
    "an EPDS on day 85 (out)": (
        "SELECT * FROM delivery d JOIN observation o USING (person_id)"
        " WHERE observation_source_value = '71354-5' AND observation_date = d.day + 85"
    ),
    "an EPDS out of range": (
        "SELECT * FROM observation WHERE observation_source_value = '71354-5'"
        " AND (value_as_number > 30 OR value_as_number < 0)"
    ),
    "an EPDS without a value": (
        "SELECT * FROM observation WHERE observation_source_value = '71354-5'"
        " AND value_as_number IS NULL"
    ),
    "both knees on one day": (
        "SELECT person_id, day FROM knee GROUP BY 1, 2 HAVING COUNT(DISTINCT side) = 2"
    ),
    "a revision on day 366 (out)": (
        "SELECT * FROM knee k JOIN procedure_occurrence p USING (person_id)"
        " WHERE upper(procedure_source_value) LIKE '0SW%' AND procedure_date = k.day + 366"
    ),
    "a revision of the other knee": (
        "SELECT * FROM knee k JOIN procedure_occurrence p USING (person_id)"
        " WHERE upper(replace(procedure_source_value, '.', '')) SIMILAR TO '0S[WPU].*'"
        " AND substr(upper(replace(procedure_source_value, '.', '')), 4, 1) <> k.side"
        " AND procedure_date BETWEEN k.day + 1 AND k.day + 365"
    ),
    "a knee at 17 (too young)": (
        "SELECT * FROM knee k JOIN person p USING (person_id)"
        " WHERE year(k.day) - p.year_of_birth = 17"
    ),
    "an OKS out of range": (
        "SELECT * FROM observation WHERE upper(observation_source_value) = 'OKS'"
        " AND (value_as_number > 48 OR value_as_number < 0)"
    ),
    "an OKS on day 431 (out)": (
        "SELECT * FROM knee k JOIN observation o USING (person_id)"
        " WHERE upper(observation_source_value) = 'OKS' AND observation_date = k.day + 431"
    ),
    "two eGFRs below 60 exactly 89 days apart": (
        "SELECT * FROM measurement a JOIN measurement b USING (person_id)"
        " WHERE a.measurement_source_value LIKE '%-%' AND b.measurement_date ="
        " a.measurement_date + 89 AND a.value_as_number < 60 AND b.value_as_number < 60"
    ),
    "an eGFR of exactly 60": "SELECT * FROM measurement WHERE value_as_number = 60",
    "an eGFR out of range": (
        "SELECT * FROM measurement WHERE value_as_number > 200 OR value_as_number < 0"
    ),
    "eGFR codes just outside": (
        "SELECT * FROM measurement WHERE measurement_source_value IN ('62238-2', '62238')"
    ),
    "a resection code between 0DTH and 0DTK (the appendix)": (
        "SELECT * FROM procedure_occurrence WHERE procedure_source_value = '0DTJ0ZZ'"
    ),
    "a resection, death on day 91 (out)": (
        "SELECT * FROM procedure_occurrence p JOIN died d USING (person_id)"
        " WHERE upper(procedure_source_value) LIKE '0DT%' AND d.day = p.procedure_date + 91"
    ),
}


@pytest.mark.parametrize("what", list(EDGES))
def test_edges_are_planted(sql: duckdb.DuckDBPyConnection, what: str) -> None:
    assert sql.execute(f"SELECT COUNT(*) FROM ({EDGES[what]})").fetchone()[0] > 0


def test_rates_are_dutch_like(extract: Path) -> None:
    x = load_extract(extract)
    rates = {}
    for indicator in ("caesarean_section", "epidural_analgesia", "preterm_birth"):
        frame = reference(x, indicator)
        rates[indicator] = frame["numerator"].sum() / frame["denominator"].sum()
        assert frame["denominator"].sum() > 1500  # about one delivery per 100 persons a year
    assert 0.14 <= rates["caesarean_section"] <= 0.18, rates
    assert 0.19 <= rates["epidural_analgesia"] <= 0.23, rates
    assert 0.05 <= rates["preterm_birth"] <= 0.09, rates
    epds = reference(x, "postpartum_depression_symptoms")
    mean = epds["epds_sum"].sum() / epds["denominator"].sum()
    assert 5 <= mean <= 10 and 0.08 <= epds["numerator"].sum() / epds["denominator"].sum() <= 0.16
    oks = reference(x, "knee_oks_change_1y")
    change = oks["change_sum"].sum() / oks["pairs"].sum()
    assert 10 <= change <= 20 and oks["improved"].sum() / oks["pairs"].sum() > 0.7
