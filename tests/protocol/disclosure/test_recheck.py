"""Re-running the node's audit on a published cube, as the coordinator does on upload."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings

from protocol import (
    AuditFailed,
    Cube,
    DisclosureError,
    MeasureDef,
    PublishedCube,
    check_published,
    protect,
)
from tests.protocol.cubes import cubes, region_cube, region_row


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes())
# A cube whose audit LP, warm-started, ended "Unknown" in HiGHS: solved again from scratch.
@example(
    cube=Cube(
        dimensions=("d0", "d1"),
        measures=(
            MeasureDef(name="denominator", kind="count", parent=None),
            MeasureDef(name="numerator", kind="count", parent="denominator"),
            MeasureDef(name="days", kind="sum", parent="denominator"),
        ),
        cells={
            (0, 0): {"denominator": 6, "numerator": 0, "days": 0},
            (0, None): {"denominator": 20, "numerator": 10, "days": 0},
            (None, 0): {"denominator": 54, "numerator": 34, "days": 0},
            (None, None): {"denominator": 92, "numerator": 54, "days": 0},
            (0, 1): {"denominator": 14, "numerator": 10, "days": 0},
            (None, 1): {"denominator": 38, "numerator": 20, "days": 0},
            (1, 0): {"denominator": 39, "numerator": 34, "days": 0},
            (1, None): {"denominator": 39, "numerator": 34, "days": 0},
            (1, 1): {"denominator": 0, "numerator": 0, "days": 0},
            (2, 0): {"denominator": 3, "numerator": 0, "days": 0},
            (2, None): {"denominator": 23, "numerator": 10, "days": 0},
            (2, 1): {"denominator": 20, "numerator": 10, "days": 0},
            (3, 0): {"denominator": 6, "numerator": 0, "days": 0},
            (3, None): {"denominator": 10, "numerator": 0, "days": 0},
            (3, 1): {"denominator": 4, "numerator": 0, "days": 0},
        },
        persons=None,
    ),
).via("discovered failure")
def test_every_cube_the_node_protects_passes(cube: Cube) -> None:
    published = PublishedCube.from_rows(cube.dimensions, cube.measures, protect(cube, 10).rows())
    check_published(published, 10)


def test_a_hidden_count_its_margin_gives_back_is_refused() -> None:
    # 53 - 50: the one suppressed denominator is 3 whatever else is hidden.
    cube = region_cube(
        [region_row("a", None, None), region_row("b", 50, 20), region_row(None, 53, None)]
    )
    with pytest.raises(AuditFailed, match=r"\('a',\): the suppressed denominator .* \[3, 3\]"):
        check_published(cube, 10)


def test_a_narrow_interval_is_refused_not_only_an_exact_value() -> None:
    # a + b = 16, both hidden: each lies in [0, 16], wide enough for k=10 but not for k=20.
    rows = [
        region_row("a", None, 0),
        region_row("b", None, 0),
        region_row("c", 40, 0),
        region_row(None, 56, 0),
    ]
    check_published(region_cube(rows), 10)
    with pytest.raises(AuditFailed, match="k=20"):
        check_published(region_cube(rows), 20)


def test_a_hidden_complement_is_audited_too() -> None:
    # a and b hide 30 persons of whom 25 count: each numerator and denominator is wide,
    # but the persons who do not count, denominator - numerator, are 5 in all.
    rows = [
        region_row("a", None, None),
        region_row("b", None, None),
        region_row("c", 20, 0),
        region_row(None, 50, 25),
    ]
    with pytest.raises(AuditFailed, match="denominator-numerator"):
        check_published(region_cube(rows), 10)


def test_values_that_contradict_each_other_are_an_error() -> None:
    # The margin says 12 but the one published part is already 20.
    cube = region_cube(
        [region_row("a", None, None), region_row("b", 20, 0), region_row(None, 12, None)]
    )
    with pytest.raises(DisclosureError, match="contradict"):
        check_published(cube, 10)


def test_a_published_small_count_or_complement_is_refused() -> None:
    # What a node's primary rules never publish: the re-audit refuses it before any LP.
    small = region_cube([region_row("a", 30, 12), region_row("b", 25, 4), region_row(None, 55, 16)])
    with pytest.raises(AuditFailed, match="numerator = 4 is published"):
        check_published(small, 10)
    complement = region_cube(
        [region_row("a", 30, 12), region_row("b", 25, 22), region_row(None, 55, 34)]
    )
    with pytest.raises(AuditFailed, match="denominator - numerator = 3"):
        check_published(complement, 10)
