"""Chosen values on random extracts: the compiler equals the hand computation.

Random knee replacements (sides, bilateral days) and random Oxford Knee Scores around them
(ties, out-of-range and empty values, window edges), random eGFR series: the knee OKS and CKD
indicators counted by DuckDB must equal tests/reference.py, whatever the draw.
"""

from __future__ import annotations

import csv
import datetime
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.runner import fetch_finest
from node.sources import open_source
from protocol import TABLES, load_spec
from queries import library_paths
from tests.reference import load_extract, reference

SPECS = [
    load_spec(p)
    for p in library_paths()
    if p.stem in ("knee_oks_change_1y", "knee_revision_1y", "ckd_egfr_below_15")
]
DAY0 = datetime.date(2020, 1, 1)

persons = st.integers(1, 4)
days = st.integers(-200, 500)
knees = st.lists(
    st.tuples(persons, st.integers(0, 40), st.sampled_from(["0SRC0JZ", "0SRD0JZ", "0srd.0j9"])),
    min_size=1,
    max_size=6,
)
scores = st.lists(
    st.tuples(
        persons,
        days,
        st.sampled_from(["OKS", "oks", "OHS"]),
        st.one_of(st.integers(-2, 50).map(str), st.just(""), st.just("20.5")),
    ),
    max_size=25,
)
later = st.lists(
    st.tuples(persons, days, st.sampled_from(["0SWC0JZ", "0SPD0JZ", "0SUC09Z", "0SRB0J9"])),
    max_size=6,
)
egfr = st.lists(
    st.tuples(
        persons,
        st.integers(0, 800),
        st.sampled_from(["62238-1", "33914-3", "62238-2"]),
        st.one_of(st.integers(-5, 210).map(str), st.just(""), st.just("59.9")),
    ),
    max_size=25,
)


def _day(offset: int) -> str:
    return (DAY0 + datetime.timedelta(days=offset)).isoformat()


def _write(folder: Path, rows: dict[str, list[tuple]]) -> None:
    for name, columns in TABLES.items():
        with (folder / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(list(columns))
            writer.writerows(rows.get(name, []))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(knees, scores, later, egfr)
def test_chosen_values_equal_the_hand_computation(knees, scores, later, egfr) -> None:
    rows: dict[str, list[tuple]] = {
        "person": [(p, 8507 if p % 2 else 8532, 1950) for p in range(1, 5)],
        "procedure_occurrence": [(p, _day(d), code, 0) for p, d, code in knees]
        + [(p, _day(d), code, 0) for p, d, code in later],
        "observation": [(p, _day(d), code, 0, v) for p, d, code, v in scores],
        "measurement": [(p, _day(d), code, 0, v) for p, d, code, v in egfr],
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write(folder, rows)
        source = open_source(str(folder))
        try:
            finest = fetch_finest(SPECS, source)
        finally:
            source.close()
        extract = load_extract(folder)
        for spec in SPECS:
            names = [m.name for m in spec.measures]
            found, _ = finest[spec.id]
            got = {tuple(r[d] for d in spec.dimensions): [int(r[n]) for n in names] for r in found}
            frame = reference(extract, spec.id)
            want = {
                tuple(int(r[d]) if d == "year" else r[d] for d in spec.dimensions): [
                    int(r[n]) for n in names
                ]
                for r in frame.to_dict("records")
            }
            assert got == want, spec.id
