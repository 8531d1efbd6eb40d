"""The fixed vocabulary of every cube: its dimensions, their values and the floor of k."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AGE_BANDS",
    "BAND_DIMENSIONS",
    "DIMENSIONS",
    "K_FLOOR",
    "MATERNAL_AGE_BANDS",
    "MAX_MIN_CELL",
    "MAX_VALUE",
    "SEXES",
    "YEARS",
    "dimension_domains",
    "dimension_value_ok",
]

K_FLOOR = 10
"""The contract's minimum cell size k: a node, a spec or a round may raise it, never lower it."""

MAX_MIN_CELL = 1000
"""The highest k a spec or a round may ask for."""

MAX_VALUE = 10**12
"""The largest count or sum a result may hold: far above any population's, far below 2**63."""

SEXES: tuple[str, ...] = ("F", "M", "U")
"""Values of the ``sex`` dimension: female, male, unknown."""

AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-17", 0, 17),
    ("18-64", 18, 64),
    ("65-74", 65, 74),
    ("75-84", 75, 84),
    ("85+", 85, None),
)
"""Age bands of the contract: label, first age, last age (None = no upper bound)."""

MATERNAL_AGE_BANDS: tuple[tuple[str, int | None, int | None], ...] = (
    ("<20", None, 19),
    ("20-24", 20, 24),
    ("25-29", 25, 29),
    ("30-34", 30, 34),
    ("35-39", 35, 39),
    ("40+", 40, None),
)
"""Birth care's age bands of the mother at delivery (None = no lower or upper bound)."""

BAND_DIMENSIONS: dict[str, tuple[tuple[str, int | None, int | None], ...]] = {
    "age_band": AGE_BANDS,
    "maternal_age_band": MATERNAL_AGE_BANDS,
}
"""The named sets of age bands a cube can be broken down by, each a dimension."""

YEARS = range(1900, 2201)
"""Calendar years a ``year`` dimension value may take."""

DIMENSIONS: dict[str, str] = {
    "year": "calendar year of the index date",
    "sex": "sex (F, M, or U for unknown)",
    "age_band": f"age band at the index date ({', '.join(label for label, _, _ in AGE_BANDS)})",
    "maternal_age_band": "the mother's age band at delivery"
    f" ({', '.join(label for label, _, _ in MATERNAL_AGE_BANDS)})",
}
"""The only dimensions a cube can have, with how a reviewer reads them."""

_LABELS = {dim: frozenset(label for label, _, _ in bands) for dim, bands in BAND_DIMENSIONS.items()}


def dimension_domains(
    dimensions: Sequence[str], years: tuple[int, int] | None
) -> dict[str, list[Any]]:
    """Return the values each dimension takes: every sex and age band, and the years from the
    first to the last of ``years`` (None: no year)."""
    domains: dict[str, list[Any]] = {
        "year": list(range(years[0], years[1] + 1)) if years else [],
        "sex": list(SEXES),
        **{dim: [label for label, _, _ in bands] for dim, bands in BAND_DIMENSIONS.items()},
    }
    return {dim: domains[dim] for dim in dimensions}


def dimension_value_ok(dimension: str, value: object) -> bool:
    """Return whether ``value`` is a value of ``dimension`` (not a margin: None is not)."""
    if dimension == "sex":
        return value in SEXES
    if dimension in _LABELS:
        return value in _LABELS[dimension]
    if dimension == "year":
        return isinstance(value, int) and not isinstance(value, bool) and value in YEARS
    return False
