"""Merging node cubes: exact where every node published, honest intervals where not."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator.errors import BadRequest
from coordinator.merge.model import FEWER_THAN_3, ExactTotals
from coordinator.merge.services import merge
from coordinator.merge.validate import MergeInputError, validate_result
from node.runner import QueryResult
from protocol import Cube, QuerySpec, load_spec, measure_defs, parse_spec, protect, spec_hash
from queries import library_paths

MEMBERS: dict[str, dict[str, Any]] = {
    "n1": {"organisation": "Org 1", "network": "A", "zorgkantoor": "ZK01", "province": "UT"},
    "n2": {"organisation": "Org 2", "network": "A", "zorgkantoor": "ZK01", "province": "UT"},
    "n3": {"organisation": "Org 3", "network": "A", "zorgkantoor": "ZK02", "province": "NH"},
    "n4": {"organisation": "Org 4", "network": "B", "zorgkantoor": "ZK02", "province": "NH"},
    "n5": {"organisation": "Org 5", "network": "B", "zorgkantoor": "ZK02", "province": None},
}


def spec_with(name: str, dimensions: list[str]) -> QuerySpec:
    """Return a library spec with other dimensions (smaller cubes keep tests fast)."""
    path = next(p for p in library_paths() if p.stem == name)
    data = yaml.safe_load(path.read_text())
    data["dimensions"] = dimensions
    return parse_spec(yaml.safe_dump(data, sort_keys=False))


SPEC = spec_with("opioid_last_90d", ["sex"])


def published(spec: QuerySpec, cells: Mapping[Any, tuple]) -> dict:
    """Return a node result with hand-written cells: one dimension value -> measure values."""
    names = [m.name for m in spec.measures]
    dim = spec.dimensions[0]
    return {
        "query": spec.id,
        "version": spec.version,
        "spec_hash": spec_hash(spec),
        "min_cell": 10,
        "cells": [
            {dim: key, **dict(zip(names, values, strict=True))} for key, values in cells.items()
        ],
    }


FULL = {
    "n1": published(SPEC, {"F": (40, 20), "M": (50, 25), "U": (0, 0), None: (90, 45)}),
    "n2": published(SPEC, {"F": (30, 10), "M": (20, 12), "U": (10, 0), None: (60, 22)}),
    "n3": published(SPEC, {"F": (25, 11), "M": (35, 14), "U": (0, 0), None: (60, 25)}),
}


def test_complete_results_merge_exactly() -> None:
    merged = merge(SPEC, FULL, MEMBERS)
    national = merged.group("national", "NL")
    assert national.published and national.providers == 3
    assert national.nodes == ("n1", "n2", "n3")
    assert national.members == ("n1", "n2", "n3", "n4", "n5")
    total = national.cells[(None,)]
    assert total["denominator"].exact and total["denominator"].value == 210
    assert total["numerator"].value == 92
    assert national.cells[("F",)]["denominator"].value == 95
    assert list(national.cells) == [("F",), ("M",), ("U",), (None,)]


def test_suppressed_cells_give_an_interval_never_a_low_number() -> None:
    results = {
        **FULL,
        "n3": published(
            SPEC, {"F": (None, None), "M": (30, 15), "U": (None, None), None: (45, 20)}
        ),
    }
    cell = merge(SPEC, results, MEMBERS).group("national", "NL").cells[("F",)]
    # n3's F and U share 15 people, 5 of them with an opioid: F lies in [0, 15] and [0, 5].
    assert (cell["denominator"].low, cell["denominator"].high) == (70, 85)
    assert (cell["numerator"].low, cell["numerator"].high) == (30, 35)
    assert not cell["denominator"].exact and cell["denominator"].value is None
    assert cell["denominator"].suppressed_at == 1


def test_groups_with_fewer_than_3_providers_are_withheld() -> None:
    members = copy.deepcopy(MEMBERS)
    members["n2"]["organisation"] = "Org 1"  # one organisation running two nodes is one provider
    merged = merge(SPEC, FULL, members)
    for group in (("network", "A"), ("network", "B"), ("national", "NL"), ("zorgkantoor", "ZK02")):
        assert merged.groups[group].withheld == FEWER_THAN_3
        assert merged.groups[group].cells == {}
    assert merged.group("network", "A").providers == 2
    assert ("province", "NH") in merged.groups and ("province", None) not in merged.groups


def test_years_outside_a_nodes_grid_count_as_zero() -> None:
    spec = spec_with("opioid_last_90d", ["year"])
    results = {
        "n1": published(spec, {2019: (20, 10), 2020: (30, 10), None: (50, 20)}),
        "n2": published(spec, {2020: (40, 10), 2021: (10, 5), None: (50, 15)}),
        "n3": published(spec, {None: (0, 0)}),  # an extract without a single decedent
    }
    national = merge(spec, results, MEMBERS).group("national", "NL")
    assert [k for k in national.cells] == [(2019,), (2020,), (2021,), (None,)]
    assert national.cells[(2019,)]["denominator"].value == 20
    assert national.cells[(2020,)]["denominator"].value == 70
    assert national.cells[(None,)]["numerator"].value == 35


def _broken(change) -> dict:
    result = copy.deepcopy(FULL["n1"])
    change(result)
    return result


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (_broken(lambda r: r.update(spec_hash="sha256:" + "0" * 64)), "spec hash"),
        (_broken(lambda r: r.update(query="other")), "names 'other'"),
        (_broken(lambda r: r.update(version=2)), "version 2"),
        (_broken(lambda r: r.update(min_cell=5)), "below the round's k=10"),
        (_broken(lambda r: r.update(min_cell="10")), "min_cell"),
        (_broken(lambda r: r.pop("cells")), "exactly the fields"),
        (_broken(lambda r: r.update(cells={})), "non-empty list"),
        (_broken(lambda r: r["cells"][0].pop("numerator")), "missing \\['numerator'\\]"),
        (_broken(lambda r: r["cells"][0].update(year=2020)), "unexpected \\['year'\\]"),
        (_broken(lambda r: r["cells"][0].update(sex="X")), "'X' is not a valid sex"),
        (_broken(lambda r: r["cells"].pop()), "whole cube"),
        (_broken(lambda r: r["cells"][0].update(numerator=41)), "exceeds"),
        (_broken(lambda r: r["cells"][0].update(denominator=41)), "sum of its parts"),
        (_broken(lambda r: r["cells"][0].update(denominator=-4)), "whole number"),
        ([1, 2], "not an object"),
    ],
)
def test_bad_results_are_refused_with_a_reason(result: object, message: str) -> None:
    with pytest.raises(MergeInputError, match=message) as caught:
        merge(SPEC, {**FULL, "n1": result}, MEMBERS, min_cell=10)
    assert isinstance(caught.value, BadRequest) and caught.value.code == "invalid_result"
    assert caught.value.subject == "n1"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({k: v for k, v in MEMBERS.items() if k != "n2"}, "no membership for node\\(s\\) n2"),
        ({**MEMBERS, "n1": {"network": "A"}}, "names no organisation"),
        ({**MEMBERS, "n1": {"organisation": "O", "region": "x"}}, "unknown fields"),
        ({**MEMBERS, "n1": {"organisation": "O", "network": 7}}, "network must be a code"),
    ],
)
def test_bad_memberships_are_refused(members: dict, message: str) -> None:
    with pytest.raises(MergeInputError, match=message):
        merge(SPEC, FULL, members)


def test_exact_totals_replace_intervals_and_are_checked() -> None:
    results = {
        **FULL,
        "n3": published(
            SPEC, {"F": (None, None), "M": (30, 15), "U": (None, None), None: (45, 20)}
        ),
    }
    totals: ExactTotals = {("national", "NL"): {("F",): {"denominator": 80, "numerator": None}}}
    cell = merge(SPEC, results, MEMBERS, exact_totals=totals).group("national", "NL").cells[("F",)]
    assert cell["denominator"].exact and cell["denominator"].value == 80
    assert cell["denominator"].source == "exact_total"
    assert not cell["numerator"].exact  # withheld from the exact total: the interval stands
    bad: ExactTotals = {("national", "NL"): {("F",): {"denominator": 90}}}
    with pytest.raises(MergeInputError, match="outside \\[70, 85\\]"):
        merge(SPEC, results, MEMBERS, exact_totals=bad)
    with pytest.raises(MergeInputError, match="fewer than 3"):
        merge(SPEC, results, MEMBERS, exact_totals={("network", "B"): {("F",): {}}})
    with pytest.raises(MergeInputError, match="unknown group"):
        merge(SPEC, results, MEMBERS, exact_totals={("network", "Z"): {}})
    with pytest.raises(MergeInputError, match="no cell"):
        merge(SPEC, results, MEMBERS, exact_totals={("national", "NL"): {("X",): {}}})


def test_a_total_of_some_members_is_completed_by_the_others_published_values() -> None:
    # The nation's total sums n1, n2 and n3 only (n4 and n5 dropped out of the aggregation):
    # n4 and n5 published F, so F is exact; n5 hid U, so U stays an interval, narrower.
    results = {
        **FULL,
        "n3": published(
            SPEC, {"F": (None, None), "M": (30, 15), "U": (None, None), None: (45, 20)}
        ),
        "n4": published(SPEC, {"F": (20, 5), "M": (15, 5), "U": (0, 0), None: (35, 10)}),
        "n5": published(SPEC, {"F": (12, 0), "M": (None, None), "U": (None, None), None: (38, 14)}),
    }
    summed = {("national", "NL"): ["n1", "n2", "n3"]}
    totals: ExactTotals = {
        ("national", "NL"): {("F",): {"denominator": 80}, ("U",): {"denominator": 15}}
    }
    nation = merge(SPEC, results, MEMBERS, exact_totals=totals, exact_members=summed).group(
        "national", "NL"
    )
    rest_f = sum(results[n]["cells"][0]["denominator"] for n in ("n4", "n5"))
    assert nation.cells[("F",)]["denominator"].value == 80 + rest_f
    assert nation.cells[("F",)]["denominator"].source == "exact_total"
    u = nation.cells[("U",)]["denominator"]
    plain = merge(SPEC, results, MEMBERS).group("national", "NL").cells[("U",)]["denominator"]
    assert not u.exact and u.suppressed_at == 1
    assert plain.low <= u.low and u.high < plain.high
    # The bounds check applies to the members summed, not to the whole group.
    with pytest.raises(MergeInputError, match="outside \\[70, 85\\]"):
        merge(
            SPEC,
            results,
            MEMBERS,
            exact_totals={("national", "NL"): {("F",): {"denominator": 80 + rest_f}}},
            exact_members=summed,
        )
    with pytest.raises(MergeInputError, match="without a result: \\['n9'\\]"):
        merge(
            SPEC,
            results,
            MEMBERS,
            exact_totals=totals,
            exact_members={("national", "NL"): ["n1", "n2", "n9"]},
        )


def test_json_form_marks_unbounded_intervals_as_null() -> None:
    hidden = {"F": (None, None), "M": (None, None), "U": (None, None), None: (None, None)}
    merged = merge(SPEC, {**FULL, "n3": published(SPEC, hidden)}, MEMBERS)
    data = json.loads(json.dumps(merged.to_dict()))
    national = next(g for g in data["groups"] if g["level"] == "national")
    total = next(c for c in national["cells"] if c["sex"] is None)
    assert total["denominator"] == {
        "exact": False,
        "value": None,
        "low": 150,
        "high": None,
        "suppressed_at": 1,
        "source": "nodes",
    }
    assert merged.group("national", "NL").cells[(None,)]["denominator"].high == math.inf


def test_validate_result_accepts_what_a_node_publishes() -> None:
    spec = load_spec(next(p for p in library_paths() if p.stem == "hip_fracture_los"))
    rows = [
        {"year": 2020, "sex": "F", "age_band": "85+", "admissions": 30, "los_days_sum": 200},
        {"year": 2020, "sex": "M", "age_band": "65-74", "admissions": 4, "los_days_sum": 31},
    ]
    cube = Cube.from_finest(
        spec.dimensions,
        measure_defs(spec),
        rows,
        {"year": [2020], "sex": ["F", "M", "U"], "age_band": ["65-74", "75-84", "85+"]},
    )
    result = QueryResult(spec, spec_hash(spec), protect(cube, 10)).to_dict()
    node = validate_result(spec, json.loads(json.dumps(result)), node_id="n1")
    assert node.bounds  # the small cell and its partners are bounded
    for (key, name), (low, high) in node.bounds.items():
        assert low <= cube.cells[key][name] <= high


# --- property: the truth always lies inside the reported interval ---------------------------

SEXES = ("F", "M", "U")


@st.composite
def rounds(draw: st.DrawFn) -> tuple[QuerySpec, dict[str, Cube], dict[str, dict]]:
    """Random node cubes (many small counts) for 3 to 5 nodes in random areas."""
    name = draw(st.sampled_from(["hip_fracture_mortality_30d", "hip_fracture_los"]))
    spec = _SPECS[name]
    defs = measure_defs(spec)
    cubes: dict[str, Cube] = {}
    members: dict[str, dict] = {}
    for i in range(draw(st.integers(3, 5))):
        first = draw(st.integers(2019, 2021))
        years = list(range(first, draw(st.integers(first, 2021)) + 1))
        rows = []
        for year in years:
            for sex in SEXES:
                count = draw(st.one_of(st.integers(0, 12), st.integers(0, 40)))
                other = draw(st.integers(0, count)) if defs[1].kind == "count" else count * 7
                rows.append({"year": year, "sex": sex, defs[0].name: count, defs[1].name: other})
        domains: dict[str, list[Any]] = {"year": years, "sex": list(SEXES)}
        cubes[f"n{i}"] = Cube.from_finest(spec.dimensions, defs, rows, domains)
        members[f"n{i}"] = {
            "organisation": f"Org {i}",
            "network": draw(st.sampled_from(["A", "B"])),
            "zorgkantoor": "ZK01",
        }
    return spec, cubes, members


_SPECS = {
    name: spec_with(name, ["year", "sex"])
    for name in ("hip_fracture_mortality_30d", "hip_fracture_los")
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_true_merged_total_always_lies_inside_the_interval(case) -> None:
    spec, cubes, members = case
    results = {
        node: QueryResult(spec, spec_hash(spec), protect(cube, 10)).to_dict()
        for node, cube in cubes.items()
    }
    merged = merge(spec, results, members, min_cell=10)
    for group in merged.groups.values():
        assert group.published == (group.providers >= 3)
        for key, values in group.cells.items():
            for name, value in values.items():
                truth = sum(cubes[n].cells.get(key, {}).get(name, 0) for n in group.nodes)
                assert value.low <= truth <= value.high
                if value.exact:
                    assert value.low == value.high == truth
