"""The compiler on a hand-made extract whose every answer is known: boundaries, decoys, errors.

Each person or visit below exists to test one rule of the contract; the expected
counts are worked out by hand in the comments, and checked on DuckDB (files),
SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa

from node.compiler import compile_specs, group_specs
from node.runner import fetch_finest
from node.sources import open_source
from protocol import load_spec
from queries import library_paths
from tests.extracts import load_extract_into

# The palliative and hip-fracture specs; the later domains' have their own hand-made extract
# (tests/node/test_compiler_outcomes.py).
SPECS = {
    p.stem: load_spec(p) for p in library_paths() if p.parent.name in ("palliative", "hip_fracture")
}

PERSON = [  # person_id, gender_concept_id, year_of_birth
    (1, 8532, 1940),
    (2, 8507, 1950),
    (3, 8507, 1930),
    (4, 8532, 1930),
    (5, 8532, 2021),
    (6, 8532, 1945),
    (7, 0, 1960),
    (8, 8507, 1944),
    (9, 8507, 1944),
    (10, 8532, 1938),
    (11, 8532, 1938),
    (12, 8507, 1970),
    (13, 8507, 1941),
    (20, 8532, 1950),
    (21, 8507, 1955),
    (22, 8507, 1956),
    (23, 8532, 1940),
    (24, 8532, 1940),
    (25, 8532, 1940),
    (26, 8532, 1940),
    (27, 8507, 1946),
]
DEATH = [
    (1, "2020-06-30"),
    (2, "2021-03-31"),
    (3, "2020-01-10"),
    (4, "2020-01-10"),
    (5, "2020-01-10"),  # died before the year of birth: invalid, excluded everywhere
    (6, "2022-05-05"),
    (7, "2022-01-01"),
    (8, "2022-01-01"),
    (9, "2021-12-26"),
    (10, "2021-06-30"),
    (11, "2021-06-30"),
    (12, "2023-02-01"),
    (13, "2022-01-01"),
    (20, "2020-03-31"),  # admission + 30 days: counts for 30-day mortality
    (21, "2020-05-02"),  # admission + 31 days: does not
]
CONDITION = [  # person_id, date, source value, concept, visit_occurrence_id
    (1, "2019-01-01", "C34.1", 0, None),
    (2, "2021-03-31", "c341", 0, None),  # lower case, no dot, on the day of death: in
    (3, "2019-01-01", "C98", 0, None),  # decoy: outside C00-C97
    (4, "2020-01-11", "C34", 0, None),  # cancer diagnosed after death: not in the cohort
    (5, "2019-01-01", "C34", 0, None),
    (6, "2020-01-01", "C50.9", 0, None),
    (7, "2020-01-01", "C18", 0, None),
    (8, "2020-01-01", "C61", 0, None),
    (9, "2020-01-01", "C61", 0, None),
    (10, "2020-01-01", "C97", 0, None),
    (11, "2020-01-01", "C00.0", 0, None),
    (12, "2020-01-01", "C25", 0, None),
    (13, "2020-01-01", "C61", 0, None),
    (20, "2020-03-01", "S72.0", 0, 1001),
    (21, "2020-04-01", "s7210", 0, 1002),
    (22, "2020-04-01", "S720", 0, 1003),
    (23, "2020-04-01", "S722", 0, 1004),
    (24, "2020-04-01", "S720", 0, 1005),
    (25, "2020-04-01", "S723", 0, 1006),
    (25, "2020-04-01", "S72", 0, 1006),
    (26, "2020-04-01", "S720", 0, 1099),
    (27, "2021-01-01", "S72.1", 0, 1008),
]
VISIT = [  # visit_occurrence_id, person_id, concept, start, end
    (1, 1, 9201, "2020-05-31", "2020-06-05"),  # death - 30: admission counts
    (2, 2, 9201, "2021-02-28", "2021-03-02"),  # death - 31: does not
    (3, 6, 9203, "2022-04-25", "2022-04-25"),  # ED, death - 10
    (4, 6, 262, "2022-05-04", "2022-05-04"),  # ED and inpatient, death - 1: 2 ED visits, admitted
    (5, 7, 9203, "2021-12-10", "2021-12-10"),  # one ED visit only
    (6, 7, 9201, "2021-12-20", None),  # open stay: died in hospital
    (7, 8, 9201, "2021-12-01", "2021-12-31"),  # death - 31, and ended before death
    (8, 9, 9201, "2021-12-25", "2021-12-20"),  # ends before it starts: invalid, never counts
    (9, 13, 9201, "2021-12-15", "2022-01-01"),  # ends on the day of death: died in hospital
    (1001, 20, 9201, "2020-03-01", "2020-03-11"),  # hip, 10 days
    (1002, 21, 262, "2020-04-01", "2020-04-05"),  # hip, 4 days, aged 65
    (1003, 22, 9201, "2020-04-01", "2020-04-05"),  # aged 64: not in the cohort
    (1004, 23, 9201, "2020-04-01", None),  # no discharge date: mortality only
    (1005, 24, 9202, "2020-04-01", "2020-04-01"),  # outpatient: not an admission
    (1006, 25, 9201, "2020-04-01", "2020-04-03"),  # decoy codes S723 and S72
    (1007, 26, 9201, "2020-04-01", "2020-04-03"),  # fracture coded on another visit
    (1008, 27, 9201, "2021-01-01", "2021-01-03"),  # hip, 2 days
]
VISIT_DETAIL = [(1, 12, 32037, "2023-02-01", None), (2, 1, 32037, "2020-05-30", 1)]
DRUG = [  # person_id, date, source value, concept
    (10, "2021-05-31", "L01XC02", 0),  # death - 30: anticancer therapy
    (10, "2021-04-01", "N02AA01", 0),  # death - 90: opioid
    (10, "2021-06-25", "N02B", 0),  # decoy
    (11, "2021-06-29", "L10", 0),  # decoy
    (11, "2021-03-31", "N02AA01", 0),  # death - 91: outside the last 90 days
    (11, "2021-07-01", "L01", 0),  # after death
    (20, "2020-03-11", "M05BA04", 0),  # on the discharge day: not after discharge
    (21, "2020-07-04", "M05BA07", 0),  # discharge + 90: counts
    (27, "2021-04-03", "M05BA04", 0),  # discharge + 90 = 2021-04-03: counts
    (999, "2020-01-01", "L01", 0),  # no such person
]

EXPECTED = {  # query -> (denominator, numerator) over the whole extract
    "hospital_admission_last_30d": (10, 4),  # persons 1, 6, 7, 13
    "ed_visits_2plus_last_30d": (10, 1),  # person 6
    "icu_admission_last_30d": (10, 1),  # person 12 on the day of death; person 1's is death - 31
    "anticancer_therapy_last_30d": (10, 1),  # person 10
    "opioid_last_90d": (10, 1),  # person 10
    "died_in_hospital": (10, 2),  # persons 7 (open stay) and 13 (ends on the day of death)
    "hip_fracture_mortality_30d": (4, 1),  # admissions 1001, 1002, 1004, 1008; death: 1001
    "hip_fracture_osteoporosis_drug_90d": (3, 2),  # 1001, 1002, 1008; drug: 1002, 1008
}


def _write(folder: Path, name: str, header: list[str], rows: list[tuple]) -> None:
    with (folder / name).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


@pytest.fixture(scope="module")
def handmade(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("handmade")
    _write(
        folder,
        "PERSON.csv",
        ["person_id", "gender_concept_id", "year_of_birth", "race"],
        [(*p, "x") for p in PERSON],
    )
    _write(folder, "death.csv", ["person_id", "death_date"], DEATH)
    _write(
        folder,
        "condition_occurrence.csv",
        [
            "person_id",
            "condition_start_date",
            "condition_source_value",
            "condition_concept_id",
            "visit_occurrence_id",
        ],
        CONDITION,
    )
    _write(
        folder,
        "visit_occurrence.csv",
        [
            "visit_occurrence_id",
            "person_id",
            "visit_concept_id",
            "visit_start_date",
            "visit_end_date",
        ],
        VISIT,
    )
    _write(
        folder,
        "visit_detail.csv",
        [
            "visit_detail_id",
            "person_id",
            "visit_detail_concept_id",
            "visit_detail_start_date",
            "visit_occurrence_id",
        ],
        VISIT_DETAIL,
    )
    _write(
        folder,
        "drug_exposure.csv",
        ["person_id", "drug_exposure_start_date", "drug_source_value", "drug_concept_id"],
        DRUG,
    )
    _write(
        folder,
        "procedure_occurrence.csv",
        ["person_id", "procedure_date", "procedure_source_value", "procedure_concept_id"],
        [],
    )
    _write(
        folder,
        "observation_period.csv",
        ["person_id", "observation_period_start_date", "observation_period_end_date"],
        [(p[0], "2010-01-01", "2024-12-31") for p in PERSON],
    )
    return folder


def _totals(location: str, schema: str | None = None) -> dict[str, dict[str, int]]:
    source = open_source(location, schema=schema)
    try:
        finest = fetch_finest(list(SPECS.values()), source)
    finally:
        source.close()
    totals: dict[str, dict[str, int]] = {}
    for spec_id, (rows, _domains) in finest.items():
        names = [m.name for m in SPECS[spec_id].measures]
        totals[spec_id] = {n: sum(r[n] for r in rows) for n in names}
    return totals


def _check(totals: dict[str, dict[str, int]]) -> None:
    for spec_id, (den, num) in EXPECTED.items():
        assert (totals[spec_id]["denominator"], totals[spec_id]["numerator"]) == (den, num), spec_id
    assert totals["hip_fracture_los"] == {"admissions": 3, "los_days_sum": 10 + 4 + 2}


def test_hand_made_extract_on_files(handmade: Path) -> None:
    _check(_totals(str(handmade)))


def test_hand_made_extract_on_sqlite(handmade: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'extract.db'}"
    load_extract_into(url, handmade, None)
    _check(_totals(url))


def test_hand_made_extract_on_postgres(handmade: Path, postgres_schema: tuple[str, str]) -> None:
    url, schema = postgres_schema
    load_extract_into(url, handmade, schema)
    _check(_totals(url, schema))


def test_dimensions_follow_the_index_date(handmade: Path) -> None:
    source = open_source(str(handmade))
    try:
        rows, domains = fetch_finest([SPECS["hip_fracture_mortality_30d"]], source)[
            "hip_fracture_mortality_30d"
        ]
    finally:
        source.close()
    cells = {(r["year"], r["sex"], r["age_band"]): (r["denominator"], r["numerator"]) for r in rows}
    assert cells == {
        (2020, "F", "65-74"): (1, 1),  # person 20, aged 70 at admission
        (2020, "M", "65-74"): (1, 0),  # person 21, aged 65
        (2020, "F", "75-84"): (1, 0),  # person 23, aged 80
        (2021, "M", "75-84"): (1, 0),  # person 27, aged 75
    }
    assert domains["year"] == [2020, 2021]


def test_specs_sharing_a_cohort_share_one_statement() -> None:
    groups = group_specs(list(SPECS.values()))
    sizes = sorted(len(g) for g in groups)
    assert sizes == [1, 2, 6]  # palliative; hip with discharge date; hip mortality


def test_compiled_sql_binds_codes_as_parameters(handmade: Path) -> None:
    source = open_source(str(handmade))
    try:
        (group,) = compile_specs([SPECS["anticancer_therapy_last_30d"]], source.table)
        compiled = group.statement.compile(dialect=sa.dialects.postgresql.dialect())
    finally:
        source.close()
    assert "L01" not in str(compiled)
    assert ["L01"] in compiled.params.values()
