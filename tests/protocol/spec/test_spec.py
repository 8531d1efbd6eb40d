"""The query spec language: what it accepts, what it refuses and how it says so."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from protocol import SpecInvalid, load_spec, parse_spec, spec_hash, spec_json_schema, spec_problems
from queries import library_paths

SCHEMA_FILE = Path(__file__).parents[3] / "protocol" / "spec" / "schema" / "query-spec.schema.json"

BASE = """
id: test_query
version: 1
title: A test query
description: People who died with cancer and were admitted in their last month.
cohort:
  name: cancer_decedents
  unit: person
  index: death_date
  require:
    - table: condition_occurrence
      icd10: [C00-C97]
      window: {to: 0}
measures:
  - {name: denominator, kind: units}
  - name: numerator
    kind: units_with
    event:
      table: visit_occurrence
      concepts: [9201, 262]
      window: {from: -30, to: 0}
dimensions: [year, sex, age_band]
"""


def _with(**changes: object) -> str:
    data = yaml.safe_load(BASE)
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return yaml.safe_dump(data)


def test_library_has_the_contracts_eighteen_specs() -> None:
    ids = sorted(p.stem for p in library_paths())
    assert ids == sorted(
        [
            "hospital_admission_last_30d",
            "ed_visits_2plus_last_30d",
            "icu_admission_last_30d",
            "anticancer_therapy_last_30d",
            "opioid_last_90d",
            "died_in_hospital",
            "hip_fracture_los",
            "hip_fracture_mortality_30d",
            "hip_fracture_osteoporosis_drug_90d",
            "caesarean_section",
            "epidural_analgesia",
            "preterm_birth",
            "postpartum_depression_symptoms",
            "knee_revision_1y",
            "knee_oks_change_1y",
            "ckd_ras_inhibitor",
            "ckd_egfr_below_15",
            "colorectal_mortality_90d",
        ]
    )
    areas = ("palliative", "hip_fracture", "birth_care", "knee", "ckd", "colorectal")
    for path in library_paths():
        spec = load_spec(path)
        assert spec.id == path.stem
        assert path.parent.name in areas


def test_published_schema_is_current() -> None:
    published = json.loads(SCHEMA_FILE.read_text())
    assert published == spec_json_schema(), (
        "run: lhs query schema > protocol/spec/schema/query-spec.schema.json"
    )


@pytest.mark.parametrize("path", library_paths(), ids=lambda p: p.stem)
def test_library_specs_validate_against_the_json_schema(path: Path) -> None:
    jsonschema.Draft202012Validator(spec_json_schema()).validate(yaml.safe_load(path.read_text()))


def test_json_schema_refuses_what_the_model_refuses() -> None:
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    assert not validator.is_valid(yaml.safe_load(_with(dimensions=["person_id"])))
    assert not validator.is_valid(yaml.safe_load(_with(sql="select 1")))


def test_base_spec_parses() -> None:
    spec = parse_spec(BASE)
    assert spec.cohort.require[0].icd10 == ["C00-C97"]
    assert spec.denominator.name == "denominator"


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        (_with(sql="SELECT * FROM person"), "sql", "unknown field"),
        (_with(dimensions=["year", "person_id"]), "dimensions", "can never be a dimension"),
        (_with(dimensions=["visit_occurrence_id"]), "dimensions", "can never be a dimension"),
        (_with(dimensions=["death_date"]), "dimensions", "can never be a dimension"),
        (_with(dimensions=["region"]), "dimensions", "unknown dimension 'region'"),
        (_with(dimensions=["year", "year"]), "dimensions", "listed twice"),
        (
            _with(cohort__require__0__icd10=["C00'; DROP TABLE person; --"]),
            "cohort.require[0].icd10",
            "is not a code",
        ),
        (_with(cohort__require__0__icd10=["C97-C00"]), "cohort.require[0].icd10", "backwards"),
        (_with(cohort__require__0__table="patients"), "cohort.require[0].table", "Input should be"),
        (
            _with(measures__1__event__window={"from": -30, "to": -40}),
            "measures[1].event.window",
            "is after 'to'",
        ),
        (
            _with(measures__1__event__window={"from": -99999, "to": 0}),
            "measures[1].event.window.from",
            "greater than or equal to -36600",
        ),
        (_with(measures__1__event__window={}), "measures[1].event.window", "needs 'from', 'to'"),
        (_with(measures__1__kind="rows"), "measures[1]", "unknown kind 'rows'"),
        (_with(version="1"), "version", "integer"),
        (_with(version=0), "version", "greater than or equal to 1"),
        (_with(id="Drop Table"), "id", "should match pattern"),
        (_with(title=None), "title", "required field is missing"),
        (
            _with(measures__1__event__icd10=["C34"]),
            "measures[1].event",
            "icd10 codes apply to condition_occurrence",
        ),
        (
            _with(measures__1__event__same_visit=True),
            "measures[1].event",
            "not linked to a visit",
        ),
        (
            _with(cohort__index="visit_start_date"),
            "cohort",
            "has no date 'visit_start_date'",
        ),
        (_with(disclosure={"min_cell": 5}), "disclosure.min_cell", "greater than or equal to 10"),
        (
            _with(
                measures=[
                    {"name": "n", "kind": "sum_days", "from": "death_date", "to": "death_date"}
                ]
            ),
            "",
            "exactly one measure of kind 'units'",
        ),
    ],
)
def test_refusals_name_the_field_and_the_expectation(text: str, path: str, expected: str) -> None:
    with pytest.raises(SpecInvalid) as info:
        parse_spec(text, source="bad.yaml")
    assert info.value.path == path
    assert expected in str(info.value)
    assert str(info.value).startswith("bad.yaml: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!!python/object/apply:os.system ['echo pwned']", "not valid YAML"),
        ("id: !!python/name:os.system\n", "not valid YAML"),
        ("id: a\nid: b\n", "duplicate key 'id'"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("id: [unclosed\n", "not valid YAML"),
        ("", "must be a YAML mapping"),
        # Nested 500 deep: refused before any recursion, at the line and column it goes too deep.
        ("description: " + "[" * 500 + "]" * 500, "nested deeper than 32 levels \\(line 1"),
        ("id: x\n" + "".join("  " * i + f"k{i}:\n" for i in range(60)), "nested deeper than 32"),
    ],
)
def test_hostile_or_broken_yaml_is_refused(text: str, expected: str) -> None:
    with pytest.raises(SpecInvalid, match=expected):
        parse_spec(text, source="x.yaml")


def test_huge_spec_is_refused() -> None:
    with pytest.raises(SpecInvalid, match="larger than"):
        parse_spec(BASE + "#" * 300_000)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecInvalid, match=r"nope\.yaml: no such file"):
        load_spec(tmp_path / "nope.yaml")


def test_problems_lists_every_problem() -> None:
    text = _with(sql="x", dimensions=["person_id"], version=0)
    problems = spec_problems(text, "many.yaml")
    assert {p.path for p in problems} == {"sql", "dimensions", "version"}


def test_hash_is_stable_and_changes_with_content() -> None:
    a = parse_spec(BASE)
    assert spec_hash(a) == spec_hash(parse_spec(BASE))
    assert spec_hash(a).startswith("sha256:") and len(spec_hash(a)) == 71
    # Formatting and key order do not change the hash; content does.
    reordered = yaml.safe_dump(yaml.safe_load(BASE), sort_keys=True)
    assert spec_hash(parse_spec(reordered)) == spec_hash(a)
    assert spec_hash(parse_spec(_with(measures__1__event__window={"from": -31, "to": 0}))) != (
        spec_hash(a)
    )
    assert spec_hash(parse_spec(_with(version=2))) != spec_hash(a)
