"""Cube builders shared by the disclosure tests."""

from __future__ import annotations

import itertools
import random

from hypothesis import strategies as st

from protocol import Cube, MeasureDef, PublishedCube
from tests.attacker import DEN, NUM

SUM = MeasureDef("days", "sum", parent="denominator")


def cube_of(
    cells: dict[tuple, tuple[int, ...]], dims: tuple[str, ...], measures=(DEN, NUM)
) -> Cube:
    """Build a cube from finest cells given as key -> measure values."""
    rows = [
        {
            **dict(zip(dims, key, strict=True)),
            **{m.name: v for m, v in zip(measures, values, strict=True)},
        }
        for key, values in cells.items()
    ]
    return Cube.from_finest(dims, measures, rows)


@st.composite
def cubes(draw: st.DrawFn, max_dims: int = 2) -> Cube:
    """Random cubes with many small counts, numerators <= denominators, sometimes a sum."""
    n_dims = draw(st.integers(0, max_dims))
    sizes = [draw(st.integers(2, 4)) for _ in range(n_dims)]
    dims = tuple(f"d{i}" for i in range(n_dims))
    with_sum = draw(st.booleans())
    measures = (DEN, NUM, SUM) if with_sum else (DEN, NUM)
    small = st.one_of(st.integers(0, 12), st.integers(0, 60))
    rows = []
    for key in itertools.product(*(range(s) for s in sizes)):
        den = draw(small)
        num = draw(st.integers(0, den))
        row = {**dict(zip(dims, key, strict=True)), "denominator": den, "numerator": num}
        if with_sum:
            row["days"] = den * draw(st.integers(0, 9))
        rows.append(row)
    return Cube.from_finest(dims, measures, rows)


def region_cube(rows: list[dict], dims=("region",), measures=(DEN, NUM)) -> PublishedCube:
    """Build a published cube from hand-written rows (one ``region`` dimension by default)."""
    return PublishedCube.from_rows(dims, measures, rows)


def region_row(region, den, num) -> dict:
    """Return one published row of a region cube: denominator and numerator, None = hidden."""
    return {"region": region, "denominator": den, "numerator": num}


def sparse_rows(seed: int, years: range = range(2016, 2024)) -> list[dict]:
    """Finest rows of a year x sex x age band cube with many small counts."""
    rng = random.Random(seed)
    rows = []
    for year in years:
        for sex in ("F", "M", "U"):
            for band in ("0-17", "18-64", "65-74", "75-84", "85+"):
                den = rng.choice([rng.randint(0, 9), rng.randint(0, 40)])
                rows.append(
                    {"year": year, "sex": sex, "band": band, "denominator": den,
                     "numerator": rng.randint(0, den)}
                )  # fmt: skip
    return rows
