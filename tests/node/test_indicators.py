"""Every contract indicator equals an independent pandas hand computation, cell by cell.

The hand computation (tests/reference.py) is written from docs/indicators.md alone.
It is checked on files (CSV and Parquet through DuckDB), SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from node.runner import fetch_finest, run_specs
from node.sources import open_source
from protocol import QuerySpec, load_spec
from queries import library_paths
from tests.extracts import load_extract_into
from tests.reference import load_extract, reference

SPECS = [load_spec(p) for p in library_paths()]
IDS = [s.id for s in SPECS]


@pytest.fixture(scope="module")
def expected(synth_csv: Path) -> dict[str, dict[tuple, dict[str, int]]]:
    extract = load_extract(synth_csv)
    out = {}
    for spec in SPECS:
        frame = reference(extract, spec.id)
        names = [m.name for m in spec.measures]
        out[spec.id] = {
            _key(spec, r): {n: int(r[n]) for n in names} for r in frame.to_dict("records")
        }
    return out


def _key(spec: QuerySpec, row: dict) -> tuple:
    return tuple(int(row[d]) if d == "year" else row[d] for d in spec.dimensions)


def _finest(location: str, schema: str | None = None) -> dict[str, dict[tuple, dict[str, int]]]:
    source = open_source(location, schema=schema)
    try:
        finest = fetch_finest(SPECS, source)
    finally:
        source.close()
    out = {}
    for spec in SPECS:
        names = [m.name for m in spec.measures]
        rows, _ = finest[spec.id]
        out[spec.id] = {_key(spec, r): {n: int(r[n]) for n in names} for r in rows}
    return out


def _compare(actual: dict, expected: dict) -> None:
    for spec_id in IDS:
        assert actual[spec_id] == expected[spec_id], spec_id
        assert expected[spec_id], f"{spec_id}: the synthetic extract has an empty cohort"


def test_csv_equals_hand_computation(synth_csv: Path, expected: dict) -> None:
    _compare(_finest(str(synth_csv)), expected)


def test_parquet_equals_hand_computation(synth_parquet: Path, expected: dict) -> None:
    _compare(_finest(str(synth_parquet)), expected)


def test_sqlite_equals_hand_computation(synth_csv: Path, expected: dict, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'extract.db'}"
    load_extract_into(url, synth_csv, None)
    _compare(_finest(url), expected)


def test_postgres_equals_hand_computation(
    synth_csv: Path, expected: dict, postgres_schema: tuple[str, str]
) -> None:
    url, schema = postgres_schema
    load_extract_into(url, synth_csv, schema)
    _compare(_finest(url, schema), expected)


def test_published_cells_equal_the_hand_computation(synth_csv: Path, expected: dict) -> None:
    source = open_source(str(synth_csv))
    try:
        results = run_specs(SPECS, source)
    finally:
        source.close()
    for result in results:
        truth = expected[result.spec.id]
        names = [m.name for m in result.spec.measures]
        published = 0
        for cell in result.to_dict()["cells"]:
            for name in names:
                value = cell[name]
                true = sum(
                    v[name]
                    for key, v in truth.items()
                    if all(
                        cell[d] in (None, k)
                        for d, k in zip(result.spec.dimensions, key, strict=True)
                    )
                )
                if value is not None:
                    published += 1
                    assert value == true, (result.spec.id, cell, name)
                if result.protected.cube.measure(name).kind == "count" and value is not None:
                    assert not 0 < value < result.k, (result.spec.id, cell, name)
        assert published > 0, result.spec.id
