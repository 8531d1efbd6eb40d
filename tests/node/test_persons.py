"""A count of visits needs k persons behind it, not only k visits."""

from __future__ import annotations

import csv
from pathlib import Path

from node.runner import run_specs
from node.sources import open_source
from protocol import FEW_PERSONS, TABLES, load_spec
from queries import library_paths

LOS = load_spec(next(p for p in library_paths() if p.stem == "hip_fracture_los"))


def _extract(folder: Path) -> Path:
    """One woman with 12 hip-fracture admissions in 2020; 29 men with one each in 2021."""
    rows: dict[str, list[tuple]] = {name: [] for name in TABLES}
    rows["person"].append((1, 8532, 1940))
    visit = 0
    for i in range(12):
        visit += 1
        day = f"2020-{i + 1:02d}-03"
        rows["visit_occurrence"].append((visit, 1, 9201, day, f"2020-{i + 1:02d}-10"))
        rows["condition_occurrence"].append((1, day, "S72.0", 0, visit))
    for person in range(2, 31):
        visit += 1
        rows["person"].append((person, 8507, 1945))
        rows["visit_occurrence"].append((visit, person, 9201, "2021-05-01", "2021-05-09"))
        rows["condition_occurrence"].append((person, "2021-05-01", "S72.1", 0, visit))
    folder.mkdir()
    for name, columns in TABLES.items():
        with (folder / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(list(columns))
            writer.writerows(rows[name])
    return folder


def test_visits_of_fewer_than_k_persons_are_suppressed_like_a_small_count(tmp_path: Path) -> None:
    source = open_source(str(_extract(tmp_path / "extract")))
    try:
        (result,) = run_specs([LOS], source)
    finally:
        source.close()
    protected = result.protected
    woman = (2020, "F", "75-84")
    assert protected.cube.cells[woman]["admissions"] == 12
    assert protected.cube.persons[woman]["admissions"] == 1
    # Twelve admissions of one woman: as small as a count of one.
    assert protected.value(woman, "admissions") is None
    assert protected.value((2020, None, None), "admissions") is None
    assert protected.value(woman, "los_days_sum") is None  # the sum follows its count
    assert protected.report.by_reason[FEW_PERSONS] >= 2
    # 41 admissions of 30 people overall, 29 of 29 men in 2021: published.
    assert protected.value((None, None, None), "admissions") == 41
    assert protected.cube.persons[(None, None, None)]["admissions"] == 30
    assert protected.value((2021, "M", "75-84"), "admissions") == 29
    # The headline is protected the same way.
    assert result.headline()["cells"][0]["admissions"] == 41


def test_both_knees_of_fewer_than_k_persons_are_suppressed_like_a_small_count(
    tmp_path: Path,
) -> None:
    revision = load_spec(next(p for p in library_paths() if p.stem == "knee_revision_1y"))
    rows: dict[str, list[tuple]] = {name: [] for name in TABLES}
    for person in range(1, 7):  # six women, both knees on one day: twelve replacements
        rows["person"].append((person, 8532, 1950))
        rows["procedure_occurrence"] += [
            (person, "2020-03-01", code, 0) for code in ("0SRC0JZ", "0SRD0JZ")
        ]
    for person in range(7, 36):  # 29 men, one knee each
        rows["person"].append((person, 8507, 1950))
        rows["procedure_occurrence"].append((person, "2021-03-01", "0SRC0JZ", 0))
    folder = tmp_path / "knees"
    folder.mkdir()
    for name, columns in TABLES.items():
        with (folder / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(list(columns))
            writer.writerows(rows[name])
    source = open_source(str(folder))
    try:
        (result,) = run_specs([revision], source)
    finally:
        source.close()
    women = (2020, "F", "65-74")
    assert result.protected.cube.cells[women]["denominator"] == 12
    assert result.protected.cube.persons[women]["denominator"] == 6
    assert result.protected.value(women, "denominator") is None
    assert result.protected.value((2021, "M", "65-74"), "denominator") == 29
    assert result.protected.value((None, None, None), "denominator") == 41
