"""The layout of a secure-aggregation vector: which cells, which measures, in what order.

The vector holds the exact values of the cells a ``layout`` lists, each cell's
measures in order::

    {"dimensions": ["year", "sex"], "measures": ["denominator", "numerator"],
     "cells": [[null, null], [2023, null], [2024, null], [null, "F"], [null, "M"]]}

A layout lists only cells factsheets show (``shown_cell``): the overall value
(every dimension ``null``) and one-way breakdowns.  A member refuses any other:
a two-way total of its group is more than any page needs.

Masks work on whole numbers from 0 to 2**63-1.  A measure the layout lists under
``"signed"`` (a sum of changes, which may be negative) goes into the vector as its value
plus ``SIGNED_OFFSET``; the group's sum comes back less that offset once per member.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from ..crypto import canonical_json
from ..disclosure import Key, shown_cell
from ..errors import AggregationError

__all__ = ["SIGNED_OFFSET", "flatten_cells", "layout_hash", "layout_keys", "unflatten_vector"]

SIGNED_OFFSET = 2**52
"""Added to each value of a signed measure so it masks as a whole number >= 0; more than any
node's sum of changes can be (values are at most 10**12), and 1,023 members' offsets still sum
below 2**63."""


def layout_hash(layout: Mapping[str, Any]) -> str:
    """Return ``sha256:`` and the hex SHA-256 of a layout's canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(dict(layout))).hexdigest()


def layout_keys(layout: Mapping[str, Any]) -> list[Key]:
    """Return the cell keys of a layout, in vector order."""
    width = len(layout["dimensions"])
    keys = []
    for cell in layout["cells"]:
        if not isinstance(cell, list | tuple) or len(cell) != width:
            raise AggregationError(f"layout cell {cell!r} does not name {width} dimension value(s)")
        if not shown_cell(tuple(cell)):
            raise AggregationError(
                f"layout cell {cell!r} fixes more than one dimension: only shown cells are summed"
            )
        keys.append(tuple(cell))
    if len(set(keys)) != len(keys):
        raise AggregationError("the layout lists a cell twice")
    return keys


def flatten_cells(layout: Mapping[str, Any], cells: Mapping[Key, Mapping[str, int]]) -> list[int]:
    """Return the layout's vector from exact finest cells, summing those under each margin."""
    measures = layout["measures"]
    sums = {key: [0] * len(measures) for key in layout_keys(layout)}
    # Every finest cell adds to each listed key it falls under (None matches any value).
    patterns: dict[tuple[int, ...], dict[Key, list[int]]] = {}
    for key, values in sums.items():
        fixed = tuple(i for i, v in enumerate(key) if v is not None)
        patterns.setdefault(fixed, {})[tuple(key[i] for i in fixed)] = values
    for key, measured in cells.items():
        if any(v is None for v in key):
            raise AggregationError(f"exact cells must be finest, not the margin {key!r}")
        row = [int(measured.get(m, 0)) for m in measures]
        for fixed, targets in patterns.items():
            values = targets.get(tuple(key[i] for i in fixed))
            if values is not None:
                for i, value in enumerate(row):
                    values[i] += value
    signed = _signed(layout)
    shift = [SIGNED_OFFSET if m in signed else 0 for m in measures]
    out = []
    for values in sums.values():
        for value, offset in zip(values, shift, strict=True):
            if offset and not -offset < value < offset:
                raise AggregationError(f"a signed value of {value} is too large to mask")
            out.append(value + offset)
    return out


def unflatten_vector(
    layout: Mapping[str, Any], vector: Sequence[int], members: int = 1
) -> dict[Key, dict[str, int]]:
    """Return the cells of a vector summed over ``members`` nodes, by key and measure."""
    keys, measures = layout_keys(layout), list(layout["measures"])
    if len(vector) != len(keys) * len(measures):
        raise AggregationError(f"a vector of {len(vector)} values does not fit the layout")
    width = len(measures)
    signed = _signed(layout)
    shift = [members * SIGNED_OFFSET if m in signed else 0 for m in measures]
    return {
        key: {
            m: value - offset
            for m, value, offset in zip(
                measures, vector[i * width : (i + 1) * width], shift, strict=True
            )
        }
        for i, key in enumerate(keys)
    }


def _signed(layout: Mapping[str, Any]) -> set[str]:
    """Return the layout's signed measures (none if it names none)."""
    signed = layout.get("signed", [])
    if not isinstance(signed, list) or not set(signed) <= set(layout["measures"]):
        raise AggregationError("the layout's signed measures must be some of its measures")
    return set(signed)
