"""The compiler on a hand-made extract of births, knees, CKD and colorectal surgery.

Each person exists to test one rule of the contract's sections 6-9 (a boundary, a decoy, a
tie, an invalid value); the expected counts are worked out by hand in the comments and
checked on DuckDB (files), SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from node.runner import fetch_finest
from node.sources import open_source
from protocol import TABLES, load_spec
from queries import library_paths
from tests.extracts import load_extract_into
from tests.reference import load_extract, reference

AREAS = ("birth_care", "knee", "ckd", "colorectal")
SPECS = {p.stem: load_spec(p) for p in library_paths() if p.parent.name in AREAS}

PERSON = [
    (1, 8532, 1990),  # delivers 2020-05-10: caesarean, epidural, EPDS tie
    (2, 8532, 1985),  # delivers 2021-03-01: preterm, epidural 2 days before, EPDS on day 85
    (3, 8532, 2000),  # delivers 2019-01-01, the day after her death: excluded
    (4, 8532, 2022),  # delivers 2021-06-01, before her year of birth: excluded
    (5, 8532, 1975),  # delivers 2019-08-08 aged 44: EPDS 12 on day 84
    (10, 8507, 1950),  # both knees on 2020-01-15, one of them revised
    (11, 8532, 2003),  # a knee at 17: not in the cohort
    (12, 8532, 1955),  # left knee 2019-05-05: the other side's revision, OKS out of windows
    (13, 8507, 1960),  # right knee 2021-02-02: revised on day 365, OKS worse by 2
    (20, 8532, 1950),  # eGFR: 2020 89 days apart (no), 2021 90 days (yes), 2022 yes
    (21, 8507, 1940),  # eGFR 2023 from two of the three LOINC codes
    (30, 8507, 1950),  # colon cancer, resection, death on day 90
    (31, 8532, 1960),  # resection before the cancer diagnosis: not in the cohort
    (32, 8532, 1955),  # an appendix decoy, then a resection; death on day 91
    (33, 8507, 1940),  # anal cancer (C21) only: not in the cohort
]
DEATH = [(3, "2018-12-31"), (30, "2020-05-01"), (32, "2021-05-31")]
CONDITION = [
    (1, "2020-05-10", "O80.0"),
    (1, "2020-05-10", "O82"),  # the same delivery: one unit, by caesarean
    (2, "2021-03-01", "o80"),
    (2, "2021-03-01", "O60.1"),  # preterm
    (3, "2019-01-01", "O84.0"),
    (3, "2019-06-01", "O85"),  # just above O84: not a delivery
    (3, "2019-06-02", "O8"),  # a code too short: not a delivery
    (4, "2021-06-01", "O80"),
    (5, "2019-08-08", "O83.9"),
    (5, "2019-08-08", "O60.0"),  # not O60.1
    (5, "2019-08-07", "O60.1"),  # the day before delivery: not preterm
    (30, "2020-01-01", "C18.7"),
    (31, "2020-03-05", "C20"),
    (32, "2021-01-01", "C19"),
    (33, "2020-01-01", "C21.0"),
]
DRUG = [
    (1, "2020-05-09", "N01BB01"),  # day -1: epidural
    (2, "2021-02-27", "N01BB09"),  # day -2: outside
    (5, "2019-08-08", "N01BA02"),  # an ester, not N01BB
    (20, "2021-12-31", "C09AA05"),  # in 2021, not 2022
    (20, "2022-05-01", "C08CA01"),  # not C09
    (21, "2023-03-03", "c09.ca01"),
]
PROCEDURE = [
    (10, "2020-01-15", "0SRC0JZ"),
    (10, "2020-01-15", "0SRD.0JZ"),  # the other knee on the same day: a second unit
    (10, "2020-01-15", "0src0j9"),  # the right knee again: no third unit
    (10, "2020-06-01", "0SWC0JZ"),  # right revised
    (10, "2021-01-15", "0SWD0JZ"),  # left revised on day 366: too late
    (11, "2020-03-01", "0SRC0JZ"),
    (12, "2019-05-05", "0SRD0J9"),
    (12, "2019-05-05", "0SRB0J9"),  # a hip: not a knee
    (12, "2019-05-05", "0SPD0JZ"),  # day 0: not after
    (12, "2019-08-01", "0SWC0JZ"),  # the right knee: not this one
    (13, "2021-02-02", "0SRC0J9"),
    (13, "2022-02-02", "0SUC09Z"),  # day 365
    (30, "2020-02-01", "0DTN0ZZ"),
    (30, "2020-02-01", "0DTP0ZZ"),  # the same resection
    (31, "2020-03-01", "0DTH0ZZ"),
    (32, "2021-02-01", "0DTJ0ZZ"),  # the appendix, between H and K: not a resection
    (32, "2021-03-01", "0dte.0zz"),
    (33, "2020-02-01", "0DTM0ZZ"),
]
MEASUREMENT = [
    (20, "2020-01-10", "62238-1", "45"),
    (20, "2020-04-08", "62238-1", "50"),  # 89 days: 2020 does not qualify
    (20, "2020-07-28", "62238-1", "250"),  # out of range: not a value
    (20, "2020-06-07", "33914", "30"),  # not an eGFR code
    (20, "2021-01-10", "62238-1", "55"),
    (20, "2021-04-10", "62238-1", "58"),  # 90 days: 2021 qualifies
    (20, "2021-02-09", "62238-1", "14"),  # below 15
    (20, "2022-01-01", "62238-1", "59"),
    (20, "2022-12-31", "62238-1", "60"),  # not below 60
    (20, "2022-06-01", "62238-1", "40"),  # 151 days after 1 January: 2022 qualifies
    (20, "2022-06-02", "62238-1", "15"),  # not below 15
    (21, "2023-02-01", "98979-8", "30"),
    (21, "2023-11-01", "33914-3", "30"),
    (21, "2023-05-01", "33914-3", ""),  # no value
]
OBSERVATION = [
    (1, "2020-06-07", "71354-5", "10"),  # day 28
    (1, "2020-06-07", "71354-5", "14"),  # the same day: the highest counts
    (1, "2020-06-07", "71354-5", "31"),  # out of range: not a value
    (1, "2020-07-01", "71354-5", "2"),  # later: the first counts
    (1, "2020-06-06", "71354-5", "5"),  # day 27
    (2, "2021-05-25", "71354-5", "20"),  # day 85
    (2, "2021-03-31", "71354-6", "25"),  # not the EPDS
    (5, "2019-10-31", "71354-5", "12"),  # day 84
    (10, "2019-12-01", "OKS", "20"),  # an older baseline: the latest counts
    (10, "2020-01-15", "OKS", "18"),
    (10, "2020-01-15", "oks", "22"),  # the same day: the highest counts
    (10, "2020-11-10", "OKS", "40"),  # day 300
    (10, "2020-11-10", "OKS", "49"),  # out of range
    (12, "2018-11-05", "OKS", "10"),  # day -181
    (12, "2020-07-09", "OKS", "40"),  # day 431
    (13, "2020-12-01", "OKS", "30"),
    (13, "2021-12-01", "OKS", "28"),  # day 302: worse by 2
]

EXPECTED = {
    "caesarean_section": {"denominator": 3, "numerator": 1},
    "epidural_analgesia": {"denominator": 3, "numerator": 1},
    "preterm_birth": {"denominator": 3, "numerator": 1},
    # Person 1 (14) and person 5 (12).
    "postpartum_depression_symptoms": {
        "denominator": 2,
        "numerator": 1,
        "epds_sum": 26,
        "epds_sum_squares": 14 * 14 + 12 * 12,
    },
    # Person 10 right and left, 12 left, 13 right; revised: 10 right, 13 right.
    "knee_revision_1y": {"denominator": 4, "numerator": 2},
    # Both knees of person 10 (22 -> 40: +18) and person 13 (30 -> 28: -2).
    "knee_oks_change_1y": {
        "pairs": 3,
        "change_sum": 18 + 18 - 2,
        "change_sum_squares": 18 * 18 * 2 + 4,
        "improved": 2,
    },
    # Person 20 in 2021 and 2022, person 21 in 2023.
    "ckd_ras_inhibitor": {"denominator": 3, "numerator": 2},
    "ckd_egfr_below_15": {"denominator": 3, "numerator": 1},
    "colorectal_mortality_90d": {"denominator": 2, "numerator": 1},
}
CELLS = {
    "caesarean_section": {(2020, "30-34"): (1, 1), (2021, "35-39"): (1, 0), (2019, "40+"): (1, 0)},
    "knee_revision_1y": {
        (2020, "M", "65-74"): (2, 1),
        (2019, "F", "18-64"): (1, 0),
        (2021, "M", "18-64"): (1, 1),
    },
    "ckd_ras_inhibitor": {
        (2021, "F", "65-74"): (1, 1),
        (2022, "F", "65-74"): (1, 0),
        (2023, "M", "75-84"): (1, 1),
    },
}


def _rows(name: str) -> list[tuple]:
    zero = {
        "person": PERSON,
        "death": DEATH,
        "condition_occurrence": [(p, d, c, 0, "") for p, d, c in CONDITION],
        "drug_exposure": [(p, d, c, 0) for p, d, c in DRUG],
        "procedure_occurrence": [(p, d, c, 0) for p, d, c in PROCEDURE],
        "measurement": [(p, d, c, 0, v) for p, d, c, v in MEASUREMENT],
        "observation": [(p, d, c, 0, v) for p, d, c, v in OBSERVATION],
    }
    return zero.get(name, [])


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("outcomes")
    for name, columns in TABLES.items():
        with (folder / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(list(columns))
            writer.writerows(_rows(name))
    return folder


def _check(location: str, schema: str | None = None) -> None:
    source = open_source(location, schema=schema)
    try:
        finest = fetch_finest(list(SPECS.values()), source)
    finally:
        source.close()
    for spec_id, expected in EXPECTED.items():
        rows, _ = finest[spec_id]
        assert {n: sum(int(r[n]) for r in rows) for n in expected} == expected, spec_id
    for spec_id, cells in CELLS.items():
        rows, _ = finest[spec_id]
        dims = SPECS[spec_id].dimensions
        found = {tuple(r[d] for d in dims): (r["denominator"], r["numerator"]) for r in rows}
        assert found == cells, spec_id


def test_hand_made_outcomes_on_files(outcomes: Path) -> None:
    _check(str(outcomes))


def test_hand_made_outcomes_on_sqlite(outcomes: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'extract.db'}"
    load_extract_into(url, outcomes, None)
    _check(url)


def test_hand_made_outcomes_on_postgres(outcomes: Path, postgres_schema: tuple[str, str]) -> None:
    url, schema = postgres_schema
    load_extract_into(url, outcomes, schema)
    _check(url, schema)


def test_hand_made_outcomes_equal_the_reference(outcomes: Path) -> None:
    extract = load_extract(outcomes)
    for spec_id, expected in EXPECTED.items():
        frame = reference(extract, spec_id)
        assert {n: int(frame[n].sum()) for n in expected} == expected, spec_id
