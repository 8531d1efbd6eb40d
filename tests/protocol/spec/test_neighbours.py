"""Specs one restriction apart: the near copies whose two releases could be differenced."""

from __future__ import annotations

import pytest
import yaml

from protocol import load_spec, neighbours, parse_spec, restriction_differences
from queries import library_paths
from tests.cli import run

BASE = next(p for p in library_paths() if p.stem == "anticancer_therapy_last_30d")


def variant(change) -> object:
    """Return the base spec with one change applied to its data."""
    data = yaml.safe_load(BASE.read_text())
    change(data)
    return parse_spec(yaml.safe_dump(data, sort_keys=False))


def _set(*path_and_value):
    *path, value = path_and_value

    def change(data: dict) -> None:
        for step in path[:-1]:
            data = data[step]
        data[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "words"),
    [
        # Nested cohorts: age 67 and over vs the library's every age.
        (_set("cohort", "age", {"min": 67}), "age at the index date: at least 67 here, none there"),
        # A required event's window ending at day -1 instead of day 0.
        (
            _set("cohort", "require", 0, "window", "to", -1),
            "required event 1 (a cancer diagnosis (ICD-10 C00-C97) on or before the date of"
            " death), window to day: -1 here, 0 there",
        ),
        # A numerator window from day -29 instead of -30.
        (
            _set("measures", 1, "event", "window", "from", -29),
            "measure numerator, window from day: -29 here, -30 there",
        ),
        (_set("measures", 1, "event", "atc", ["L01", "L02"]), "ATC codes: L01, L02 here, L01"),
        # One cohort in two breakdowns.
        (_set("dimensions", ["sex"]), "breakdowns: sex here, age_band, sex, year there"),
    ],
)
def test_one_restriction_apart_is_said_in_words(change, words: str) -> None:
    (near,) = neighbours(variant(change), [("library", load_spec(BASE))])
    assert near.ref == "library" and words in near.difference


def test_words_are_not_restrictions_and_two_changes_are_not_one() -> None:
    renamed = variant(lambda d: d.update(id="other", title="Other words", version=3))
    assert restriction_differences(renamed, load_spec(BASE)) == []
    assert neighbours(renamed, [("library", load_spec(BASE))]) == []  # the same counts
    both = variant(lambda d: (_set("cohort", "age", {"min": 67})(d), d.update(dimensions=["sex"])))
    assert len(restriction_differences(both, load_spec(BASE))) == 2
    assert neighbours(both, [("library", load_spec(BASE))]) == []
    codes = variant(_set("cohort", "require", 0, "icd10", ["C00-C97"]))
    assert restriction_differences(codes, load_spec(BASE)) == []  # a code list is a set


# Two numerators of one cohort with disjoint code lists (caesarean O82, preterm O60.1): both
# are the contract's, and their difference is no count of a group either one leaves out.
CONTRACT_PAIRS = {frozenset({"caesarean_section", "preterm_birth"})}


def test_no_two_library_specs_are_one_restriction_apart_but_the_contracts_pair() -> None:
    specs = [(p.stem, load_spec(p)) for p in library_paths()]
    found = set()
    for name, spec in specs:
        for near in neighbours(spec, [(n, s) for n, s in specs if n != name]):
            found.add(frozenset({name, near.ref}))
    assert found == CONTRACT_PAIRS


def test_explain_names_the_library_spec_a_submission_is_one_restriction_from(tmp_path) -> None:
    data = yaml.safe_load(BASE.read_text())
    data["cohort"]["age"] = {"min": 67}
    path = tmp_path / "nested.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    shown = run("query", "explain", str(path))
    assert shown.exit_code == 0, shown.output
    assert "One restriction apart from library specs" in shown.output
    assert "anticancer_therapy_last_30d v1: age at the index date: at least 67" in shown.output
    assert "One restriction apart" not in run("query", "explain", str(BASE)).output
