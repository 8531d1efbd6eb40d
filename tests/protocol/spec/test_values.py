"""Events, person-years, chosen values and measures over values: what the language accepts,
what it refuses (in one line naming the field) and how the compiler's inputs read."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from protocol import SpecInvalid, ValueCondition, parse_spec
from queries import library_paths

OKS = next(p for p in library_paths() if p.stem == "knee_oks_change_1y").read_text()
CKD = next(p for p in library_paths() if p.stem == "ckd_ras_inhibitor").read_text()


def _edit(text: str, change) -> str:
    data = yaml.safe_load(text)
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def _set(*path_and_value):
    *path, value = path_and_value

    def change(data: dict) -> None:
        for step in path[:-1]:
            data = data[step]
        if value is None:
            del data[path[-1]]
        else:
            data[path[-1]] = value

    return change


def test_the_knee_spec_reads_as_written() -> None:
    spec = parse_spec(OKS)
    assert spec.cohort.unit == "event" and spec.cohort.event.side_character == 4
    assert [v.name for v in spec.cohort.values] == ["baseline", "follow_up"]
    assert spec.cohort.values[0].choose == "latest" and spec.cohort.values[1].choose == "first"
    change = spec.measures[1]
    assert change.kind == "sum_value" and change.change.to == "follow_up"


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        (_edit(OKS, _set("cohort", "event", None)), "cohort", "an event cohort needs 'event'"),
        (
            _edit(OKS, _set("cohort", "event", "side_character", 0)),
            "cohort.event.side_character",
            "greater than or equal to 1",
        ),
        (
            _edit(OKS, _set("cohort", "event", "table", "death")),
            "cohort.event",
            "death has no source value",
        ),
        (
            _edit(OKS, _set("cohort", "values", 0, "event", "value_range", None)),
            "cohort.values[0]",
            "needs a value_range",
        ),
        (
            _edit(OKS, _set("cohort", "values", 0, "event", "value_range", {"min": 48, "max": 0})),
            "cohort.values[0].event.value_range",
            "is above 'max'",
        ),
        (
            _edit(OKS, _set("cohort", "values", 0, "choose", "median")),
            "cohort.values[0].choose",
            "'first' or 'latest'",
        ),
        (
            _edit(OKS, _set("cohort", "values", 0, "event", "table", "drug_exposure")),
            "cohort.values[0].event",
            "drug_exposure has no value",
        ),
        (
            _edit(OKS, _set("cohort", "values", 1, "name", "baseline")),
            "cohort",
            "two values share a name",
        ),
        (
            _edit(OKS, _set("measures", 1, "change", "to", "after")),
            "",
            "reads value 'after', which the cohort does not choose",
        ),
        (
            _edit(OKS, _set("measures", 1, "value", "baseline")),
            "measures[1]",
            "give either 'value' or 'change'",
        ),
        (
            _edit(OKS, _set("measures", 1, "change", {"from": "baseline", "to": "baseline"})),
            "measures[1].change",
            "two different values",
        ),
        (
            _edit(OKS, _set("measures", 3, "condition", {})),
            "measures[3].condition",
            "needs 'at_least', 'at_most', 'above' or 'below'",
        ),
        (
            _edit(OKS, _set("measures", 3, "condition", {"at_least": 10, "below": 5})),
            "measures[3].condition",
            "no value can meet",
        ),
        (
            _edit(OKS, _set("dimensions", ["year", "parity"])),
            "dimensions",
            "unknown dimension 'parity'",
        ),
        (
            _edit(OKS, _set("cohort", "values", 0, "event", "loinc", ["OKS-1"])),
            "cohort.values[0].event.loinc",
            "is not a LOINC code",
        ),
        (
            _edit(CKD, _set("cohort", "qualifying", "days_apart", 400)),
            "cohort.qualifying.days_apart",
            "less than or equal to 365",
        ),
        (
            _edit(CKD, _set("measures", 1, "event", "window", {"from": 0, "to": 30})),
            "",
            "a person-year has no day to count from; use same_year",
        ),
        (
            _edit(CKD, _set("measures", 1, "event", "same_side", True)),
            "",
            "same_side needs a cohort event with a side_character",
        ),
        (
            _edit(CKD, _set("measures", 1, "event", "loinc", ["62238-1"])),
            "measures[1].event",
            "loinc codes apply to measurement and observation",
        ),
        (_edit(CKD, _set("cohort", "unit", "event")), "cohort", "an event cohort needs 'event'"),
        (
            _edit(CKD, _set("measures", 1, "event", "same_year", False)),
            "measures[1].event",
            "needs a window, an end_window, same_visit or same_year",
        ),
    ],
    ids=lambda x: x if isinstance(x, str) and len(x) < 80 else "",
)
def test_new_constructs_are_refused_in_one_line(text: str, path: str, expected: str) -> None:
    with pytest.raises(SpecInvalid) as info:
        parse_spec(text, source="bad.yaml")
    assert info.value.path == path, str(info.value)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_same_side_needs_a_side_character() -> None:
    revision = next(p for p in library_paths() if p.stem == "knee_revision_1y").read_text()
    parse_spec(revision)
    text = _edit(revision, _set("cohort", "event", "side_character", None))
    with pytest.raises(SpecInvalid, match="same_side needs a cohort event with a side_character"):
        parse_spec(text)


bounds = st.one_of(st.none(), st.integers(-50, 50).map(float))


@given(bounds, bounds, bounds, bounds)
def test_a_value_condition_is_refused_exactly_when_no_value_meets_it(lo, hi, above, below):
    fields = {"at_least": lo, "at_most": hi, "above": above, "below": below}
    given_ = {k: v for k, v in fields.items() if v is not None}
    lows = [v for v in (lo, above) if v is not None]
    highs = [v for v in (hi, below) if v is not None]
    refused = not given_ or (lows and highs and max(lows) > min(highs))
    try:
        ValueCondition(**given_)
    except ValueError:
        assert refused
    else:
        assert not refused
