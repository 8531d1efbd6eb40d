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
from protocol import (
    Cube,
    QuerySpec,
    load_spec,
    measure_defs,
    parse_spec,
    protect,
    shown_keys,
    spec_hash,
)
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
        "scope": "cube",
        "cells": [
            {dim: key, **dict(zip(names, values, strict=True))} for key, values in cells.items()
        ],
    }


def headline(spec: QuerySpec, values: tuple, years: list[int] | None = None) -> dict:
    """Return a node's headline result: its overall values only."""
    names = [m.name for m in spec.measures]
    top = dict.fromkeys(spec.dimensions)
    result = {**published(spec, {}), "scope": "headline", "years": years}
    result["cells"] = [{**top, **dict(zip(names, values, strict=True))}]
    return result


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


def test_years_outside_a_nodes_cube_count_as_zero() -> None:
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


def test_group_tables_give_exact_or_withheld_values_and_are_checked() -> None:
    results = {n: headline(SPEC, values) for n, values in (("n1", (90, 45)), ("n2", (60, 22)))}
    results["n3"] = headline(SPEC, (45, None))
    tables: ExactTotals = {
        ("national", "NL"): {
            (None,): {"denominator": 195, "numerator": 87},
            ("F",): {"denominator": 80, "numerator": None},
            ("M",): {"denominator": 100, "numerator": 50},
            ("U",): {"denominator": 15, "numerator": 7},
        }
    }
    merged = merge(SPEC, results, MEMBERS, group_tables=tables)
    cell = merged.group("national", "NL").cells[("F",)]
    assert cell["denominator"].exact and cell["denominator"].value == 80
    assert cell["denominator"].source == "group_table"
    # Withheld by the joint protection: withheld, not an interval around the truth.
    assert cell["numerator"].source == "withheld" and cell["numerator"].value is None
    assert cell["numerator"].to_dict() == {"exact": False, "withheld": True, "source": "withheld"}
    # Networks without a table sum their members' headlines: no breakdown, the overall only.
    network = merged.group("network", "A")
    assert list(network.cells) == [(None,)] and network.cells[(None,)]["denominator"].value == 195
    bad = {("national", "NL"): {(None,): {"denominator": 194, "numerator": 87}}}
    with pytest.raises(MergeInputError, match="outside \\[195, 195\\]"):
        merge(SPEC, results, MEMBERS, group_tables=bad)
    with pytest.raises(MergeInputError, match="fewer than 3"):
        merge(SPEC, results, MEMBERS, group_tables={("network", "B"): {("F",): {}}})
    with pytest.raises(MergeInputError, match="unknown group"):
        merge(SPEC, results, MEMBERS, group_tables={("network", "Z"): {}})


def test_members_outside_the_table_add_what_they_published() -> None:
    # The nation's table sums n1, n2 and n3; n4 declined (it published its cube) and n5
    # dropped out (it published its headline): their values make ranges only where they hid.
    results = {
        "n1": headline(SPEC, (90, 45)),
        "n2": headline(SPEC, (60, 22)),
        "n3": headline(SPEC, (60, 25)),
        "n4": published(SPEC, {"F": (20, 5), "M": (15, 5), "U": (0, 0), None: (35, 10)}),
        "n5": headline(SPEC, (38, 14)),
    }
    summed = {("national", "NL"): ["n1", "n2", "n3"]}
    tables: ExactTotals = {
        ("national", "NL"): {
            (None,): {"denominator": 210, "numerator": 92},
            ("F",): {"denominator": 95, "numerator": 41},
            ("M",): {"denominator": 105, "numerator": 51},
            ("U",): {"denominator": 10, "numerator": None},
        }
    }
    nation = merge(SPEC, results, MEMBERS, group_tables=tables, summed=summed).group(
        "national", "NL"
    )
    top = nation.cells[(None,)]["denominator"]
    assert top.exact and top.value == 210 + 35 + 38 and top.source == "group_table"
    f = nation.cells[("F",)]["denominator"]
    assert (f.low, f.high) == (95 + 20, 95 + 20 + 38) and not f.exact and f.suppressed_at == 1
    assert nation.cells[("U",)]["numerator"].source == "withheld"
    # The bounds check applies to the members summed, not to the whole group.
    with pytest.raises(MergeInputError, match="outside \\[210, 210\\]"):
        tables_bad = {("national", "NL"): {(None,): {"denominator": 245, "numerator": 92}}}
        merge(SPEC, results, MEMBERS, group_tables=tables_bad, summed=summed)
    with pytest.raises(MergeInputError, match="without a result: \\['n9'\\]"):
        merge(
            SPEC, results, MEMBERS, group_tables=tables, summed={("national", "NL"): ["n1", "n9"]}
        )


def test_a_headline_bounds_its_breakdowns_by_its_overall_value() -> None:
    spec = spec_with("opioid_last_90d", ["year"])
    node = validate_result(spec, headline(spec, (50, 20), [2019, 2020]), node_id="n1")
    assert node.scope == "headline"
    assert node.contribution((None,), "denominator") == (50, 50, False)
    # The years it counted are the coordinator's to lay out sums, not to narrow a range.
    assert node.contribution((2019,), "denominator") == (0, 50, True)
    assert node.contribution((2021,), "denominator") == (0, 50, True)
    hidden = validate_result(spec, headline(spec, (None, None), [2021, 2021]), node_id="n2")
    assert hidden.contribution((2021,), "numerator")[:2] == (0, math.inf)
    empty = validate_result(spec, headline(spec, (0, 0)), node_id="n3")
    assert empty.contribution((2020,), "numerator") == (0, 0, False)


def test_a_sum_of_changes_is_exact_or_withheld_never_a_range() -> None:
    knee = spec_with("knee_oks_change_1y", ["sex"])
    # pairs, change_sum (signed), change_sum_squares, improved
    results = {
        "n1": headline(knee, (30, -40, 900, 10)),
        "n2": headline(knee, (20, 60, 700, 12)),
        "n3": headline(knee, (25, 5, 400, 11)),
        "n4": published(
            knee,
            {
                "F": (12, -20, 300, 4),
                "M": (None, None, None, None),
                "U": (None, None, None, None),
                None: (15, -18, 310, 5),
            },
        ),
        "n5": headline(knee, (11, None, None, None)),
    }
    summed = {("national", "NL"): ["n1", "n2", "n3"]}
    tables: ExactTotals = {
        ("national", "NL"): {
            (None,): {"pairs": 75, "change_sum": 25, "change_sum_squares": 2000, "improved": 33},
            ("F",): {"pairs": 40, "change_sum": -30, "change_sum_squares": 1100, "improved": 15},
            ("M",): {"pairs": 35, "change_sum": 55, "change_sum_squares": 900, "improved": 18},
            ("U",): {"pairs": 0, "change_sum": 0, "change_sum_squares": 0, "improved": 0},
        }
    }
    nation = merge(knee, results, MEMBERS, group_tables=tables, summed=summed).group(
        "national", "NL"
    )
    # n5 hid its overall change: nothing bounds a sum of changes, so no range is made up.
    assert nation.cells[(None,)]["change_sum"].source == "withheld"
    assert nation.cells[(None,)]["pairs"].value == 75 + 15 + 11
    assert json.dumps(nation.cells[("M",)]["change_sum"].to_dict(), allow_nan=False)
    # A negative group total is believed; n5's breakdown of its change is bounded by nothing.
    assert nation.cells[("F",)]["change_sum"].source == "withheld"
    node = validate_result(knee, results["n1"], node_id="n1")
    assert node.contribution(("F",), "change_sum") == (-math.inf, math.inf, True)
    assert node.contribution((None,), "change_sum") == (-40, -40, False)


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
@given(rounds(), st.data())
def test_true_merged_total_always_lies_inside_the_interval(case, data) -> None:
    spec, cubes, members = case
    # Some nodes send their headline (and take part in the nation's table), the rest a cube.
    heads = data.draw(st.sets(st.sampled_from(sorted(cubes))), label="headline nodes")
    results = {}
    for node, cube in cubes.items():
        found = QueryResult(spec, spec_hash(spec), protect(cube, 10))
        results[node] = found.headline() if node in heads else found.to_dict()
    tables, summed = {}, {}
    if len(heads) >= 3:
        years = sorted({k[0] for c in cubes.values() for k in c.cells if k[0] is not None})
        keys = shown_keys(spec.dimensions, {"year": years, "sex": list(SEXES)})
        names = [m.name for m in measure_defs(spec)]
        table = {
            key: {
                n: None
                if data.draw(st.booleans(), label="withheld")
                else sum(cubes[h].cells.get(key, {}).get(n, 0) for h in heads)
                for n in names
            }
            for key in keys
        }
        tables, summed = {("national", "NL"): table}, {("national", "NL"): sorted(heads)}
    merged = merge(spec, results, members, group_tables=tables, summed=summed, min_cell=10)
    for group in merged.groups.values():
        assert group.published == (group.providers >= 3)
        for key, values in group.cells.items():
            for name, value in values.items():
                if value.source == "withheld":
                    continue
                truth = sum(cubes[n].cells.get(key, {}).get(name, 0) for n in group.nodes)
                assert value.low <= truth <= value.high
                if value.exact:
                    assert value.low == value.high == truth
